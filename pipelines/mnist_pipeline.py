"""The MNIST pipeline: IDX (or TFDS) ingest, pixels/255, a tutorial model, accuracy gate."""

import os

import tensorflow_model_analysis as tfma
from tfx.orchestration import pipeline as tfx_pipeline

from components.mnist_idx_example_gen.component import MnistIdxExampleGen
from components.mnist_tfds_example_gen.component import MnistTfdsExampleGen
from models.mnist import features
from models.mnist import model as mnist_model
from pipelines import configs, pipeline


# A candidate may not be worse than the latest blessed model of its name by more than this
# (0.1 % = 10 of the 10,000 test images: retraining noise, not a regression).
MAX_ACCURACY_DROP = 0.001


def eval_config(model_name: str) -> tfma.EvalConfig:
  """Test accuracy must reach the model's tutorial bound and not regress on the baseline."""
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                  label_key=features.LABEL_KEY,
                                  prediction_key="probabilities")],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(
              class_name="SparseCategoricalAccuracy",
              threshold=tfma.MetricThreshold(
                  value_threshold=tfma.GenericValueThreshold(
                      lower_bound={"value": mnist_model.ACCURACY_BOUNDS[model_name]}),
                  change_threshold=tfma.GenericChangeThreshold(
                      direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                      absolute={"value": -MAX_ACCURACY_DROP}))),
      ])])


def create_pipeline(config: configs.PipelineConfig, mnist: configs.MnistConfig,
                    recipe: mnist_model.TrainingRecipe) -> tfx_pipeline.Pipeline:
  example_gen = (MnistIdxExampleGen(data_dir=mnist.data_dir) if mnist.data_dir
                 else MnistTfdsExampleGen())
  return pipeline.create_pipeline(config, example_gen, pipeline.ModelSpec(
      schema_file=os.path.join(mnist.schema_dir, "schema.pbtxt"),
      preprocessing_fn="models.mnist.preprocessing.preprocessing_fn",
      run_fn="models.mnist.model.run_fn",
      custom_config={"recipe": recipe.to_json()},
      eval_config=eval_config(recipe.model),
      compare_to_baseline=True))
