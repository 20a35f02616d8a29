"""Builds the MNIST TFX graph: ingest → validate → transform → train → evaluate → push."""

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components.mnist_idx_example_gen.component import MnistIdxExampleGen
from components.mnist_tfds_example_gen.component import MnistTfdsExampleGen
from models.mnist import features
from models.mnist import model as mnist_model
from pipelines import configs


def eval_config(model_name: str) -> tfma.EvalConfig:
  """Accuracy on the test split must reach the model's tutorial bound."""
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                  label_key=features.LABEL_KEY,
                                  prediction_key="probabilities")],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(
              class_name="SparseCategoricalAccuracy",
              threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                  lower_bound={"value": mnist_model.ACCURACY_BOUNDS[model_name]}))),
      ])])


def create_pipeline(config: configs.PipelineConfig, mnist: configs.MnistConfig,
                    recipe: mnist_model.TrainingRecipe) -> tfx.dsl.Pipeline:
  if mnist.data_dir:
    example_gen = MnistIdxExampleGen(data_dir=mnist.data_dir)
  else:
    example_gen = MnistTfdsExampleGen()
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.ImportSchemaGen(schema_file=f"{mnist.schema_dir}/schema.pbtxt")
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"],
      schema=schema_gen.outputs["schema"],
      preprocessing_fn="models.mnist.preprocessing.preprocessing_fn",
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=["train", "eval"]))
  trainer = tfx.components.Trainer(
      run_fn="models.mnist.model.run_fn",
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      schema=schema_gen.outputs["schema"],
      train_args=tfx.proto.TrainArgs(splits=["train"]),
      eval_args=tfx.proto.EvalArgs(splits=["eval"]),
      custom_config={"recipe": recipe.to_json()})
  evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs["examples"],
      model=trainer.outputs["model"],
      example_splits=["test"],
      eval_config=eval_config(recipe.model))
  pusher = tfx.components.Pusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_dir)))
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=[example_gen, statistics_gen, schema_gen, example_validator, transform,
                  trainer, evaluator, pusher],
      enable_cache=config.enable_cache,
      metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
          config.metadata_path),
      beam_pipeline_args=config.beam_pipeline_args)
