"""The regression pipeline: y = 2x + 1 generated in Beam, identity Transform, one Dense unit."""

import os

import tensorflow_model_analysis as tfma
from tfx.orchestration import pipeline as tfx_pipeline

from components.regression_example_gen.component import RegressionExampleGen
from components.regression_example_gen.generator import GeneratorConfig
from models.regression import features
from models.regression import metrics as regression_metrics
from models.regression import model as regression_model
from pipelines import configs, pipeline

MSE_UPPER_BOUND = 1e-4
WITHIN_TOLERANCE_LOWER_BOUND = 0.99


def eval_config() -> tfma.EvalConfig:
  """Bless only if 99 % of test predictions are within 0.01 of the truth and MSE is tiny."""
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                  label_key=features.Y_KEY,
                                  prediction_key="predictions")],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="MeanAbsoluteError"),
          tfma.MetricConfig(
              class_name="MeanSquaredError",
              threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                  upper_bound={"value": MSE_UPPER_BOUND}))),
          tfma.MetricConfig(
              class_name="WithinTolerance", module=regression_metrics.__name__,
              threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                  lower_bound={"value": WITHIN_TOLERANCE_LOWER_BOUND}))),
      ])])


def create_pipeline(config: configs.PipelineConfig, generator: GeneratorConfig,
                    recipe: regression_model.TrainingRecipe) -> tfx_pipeline.Pipeline:
  return pipeline.create_pipeline(config, RegressionExampleGen(generator), pipeline.ModelSpec(
      schema_file=os.path.join(configs.SCHEMAS_DIR, "regression", "schema.pbtxt"),
      preprocessing_fn="models.regression.preprocessing.preprocessing_fn",
      run_fn="models.regression.model.run_fn",
      custom_config={"recipe": recipe.to_json()},
      eval_config=eval_config()))
