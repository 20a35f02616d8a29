"""The regression pipeline: y = 2x + 1 generated in Beam, identity Transform, one Dense unit.

Imports only light modules at the top (the generator config is numpy-only), so
bad flags fail before TensorFlow loads; `build` and `details` import TF/TFX.
"""

import os
from typing import Any, Dict, Optional

from models.recipe import RECIPE_KEY
from models.regression import recipes
from pipelines import examples_dir
from pipelines.definition import (EXAMPLES_DIR_OPTION, INPUT_EXAMPLES, DefinitionError, Option,
                                  PipelineDefinition, RunConfig, with_overrides)
from schemas.regression import contract

MSE_UPPER_BOUND = 1e-4
WITHIN_TOLERANCE_LOWER_BOUND = 0.99
# The tutorial's check: the learned line, and its extrapolation beyond the training range.
CHECK_XS = (0.0, 0.5, 1.0, 1.5, 2.0)


def eval_config():
  """Bless only if 99 % of test predictions are within 0.01 of the truth and MSE is tiny."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  from models.regression import metrics as regression_metrics  # pylint: disable=import-outside-toplevel
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name=contract.PREDICT_SIGNATURE,
                                  label_key=contract.Y_KEY,
                                  prediction_key=contract.OUTPUT_PREDICTIONS)],
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


class RegressionDefinition(PipelineDefinition):
  name = "regression"
  dataset = "regression"
  serving_model_name = contract.SERVING_MODEL_NAME
  models = recipes.MODEL_NAMES
  default_model = "linear"
  options = (
      Option("--examples", int, 1000, "examples to generate (default 1000)"),
      Option("--noise", float, 0.0, "Gaussian noise σ on y (default 0)"),
      Option("--seed", int, 0, "generator seed (default 0)"),
      EXAMPLES_DIR_OPTION,
  )

  def configure(self, model: Optional[str], values: Dict[str, Any],
                recipe_overrides: Dict[str, int], data_uri: Optional[str] = None) -> RunConfig:
    from components.regression_example_gen.generator import GeneratorConfig  # pylint: disable=import-outside-toplevel
    model = self.check_model(model)
    recipe = with_overrides(recipes.TrainingRecipe(model=model), recipe_overrides)
    if data_uri is not None:  # DIR/{train,eval,test}/*.tfrecord[.gz], where the cluster reads them
      return RunConfig(model=model, recipe=recipe, data_uri=data_uri,
                       settings={"source": "examples_dir"},
                       description=f"tf.Examples from {data_uri}, model {model}, {recipe.describe()}")
    if values.get("examples_dir") is not None:
      generator_flags = [f"--{k}" for k in ("examples", "noise", "seed") if k in values]
      if generator_flags:
        raise DefinitionError(f"{', '.join(generator_flags)} configure the generator, which "
                              "--examples-dir replaces: give one or the other")
      examples = examples_dir.validate(values["examples_dir"])
      return RunConfig(model=model, recipe=recipe, data_uri=examples,
                       settings={"source": "examples_dir"},
                       description=f"tf.Examples from {examples}, model {model}, {recipe.describe()}")
    try:  # numpy only: a bad value fails before TF loads
      generator = GeneratorConfig(
          num_examples=values.get("examples", 1000), noise_stddev=values.get("noise", 0.0),
          seed=values.get("seed", 0))
    except ValueError as e:
      raise DefinitionError(f"regression data: {e}") from None
    # N picks the local Beam mode: in-memory for small runs, multi-processing for large ones.
    return RunConfig(
        model=model, recipe=recipe, data_uri=None,
        settings={"generator": generator, INPUT_EXAMPLES: generator.num_examples},
        description=(f"{generator.num_examples} examples of y = 2x + 1, noise σ "
                     f"{generator.noise_stddev}, seed {generator.seed}, model {model}, "
                     f"{recipe.describe()}"))

  def build(self, config: RunConfig, runtime, epochs=None, train_steps=None):
    from components.regression_example_gen.component import RegressionExampleGen  # pylint: disable=import-outside-toplevel
    from pipelines import pipeline  # pylint: disable=import-outside-toplevel
    if config.settings.get("source") == "examples_dir":
      example_gen = examples_dir.import_example_gen(config.data_uri)
    else:
      example_gen = RegressionExampleGen(config.settings["generator"])
    return pipeline.create_pipeline(
        self.pipeline_name(config.model), runtime, example_gen,
        pipeline.ModelSpec(
            preprocessing_fn="models.regression.preprocessing.preprocessing_fn",
            run_fn="models.regression.model.run_fn",
            custom_config={RECIPE_KEY: config.recipe.to_json()},
            eval_config=eval_config(),
            serving_model_name=self.serving_model_name, epochs=epochs, train_steps=train_steps))

  def details(self, config: RunConfig, model_uri: str) -> Dict[str, Any]:
    """The tutorial's check on the trained model: w, b and extrapolation to x in [1, 2].

    Read from the trained model, pushed or not, so an unblessed run still reports what it learned.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    predict = tf.saved_model.load(os.path.join(model_uri, "Format-Serving")).signatures[
        contract.PREDICT_X_SIGNATURE]
    ys = predict(**{contract.PREDICT_X_INPUT: tf.constant(CHECK_XS, tf.float32)})[
        contract.OUTPUT_PREDICTIONS].numpy().tolist()
    at = dict(zip(CHECK_XS, ys))
    return {
        "w": round(at[1.0] - at[0.0], 6), "b": round(at[0.0], 6),
        "predictions": {str(x): round(y, 6) for x, y in at.items()},
        "max_abs_error_vs_2x_plus_1": round(
            max(abs(y - (contract.TRUE_W * x + contract.TRUE_B)) for x, y in at.items()), 6),
    }
