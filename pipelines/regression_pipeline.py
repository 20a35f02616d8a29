"""The regression pipeline: y = 2x + 1 generated in Beam, identity Transform, one Dense unit.

Imports only light modules at the top (the generator config is numpy-only), so
bad flags fail before TensorFlow loads; `build`, `details` and the report hooks
import TF/TFX.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional

from components.regression_example_gen.generator import GeneratorConfig
from models.recipe import RECIPE_KEY
from models.regression import recipes
from pipelines import examples_dir
from pipelines.definition import (EXAMPLES_DIR_OPTION, DataSource, DefinitionError, ExamplesDir,
                                  Option, PipelineDefinition, RunConfig, Target, with_overrides)
from schemas.regression import contract

MSE_UPPER_BOUND = 1e-4
WITHIN_TOLERANCE_LOWER_BOUND = 0.99
# The tutorial's check: the learned line, and its extrapolation beyond the training range.
CHECK_XS = (0.0, 0.5, 1.0, 1.5, 2.0)
_GENERATOR_OPTIONS = ("examples", "noise", "seed")  # the flags that configure the generator


@dataclasses.dataclass(frozen=True)
class Generated(DataSource):
  """Examples generated in Beam by RegressionExampleGen (no files read)."""
  generator: GeneratorConfig = GeneratorConfig()

  def describe(self) -> str:
    g = self.generator
    return f"{g.num_examples} examples of y = 2x + 1, noise σ {g.noise_stddev}, seed {g.seed}"


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
  headline_metric = "within_tolerance"  # the tutorial's own accuracy (models/regression/metrics.py)
  label_key = contract.Y_KEY
  # The generator's own defaults (GeneratorConfig) are the flags' defaults.
  options = (
      Option("--examples", int, GeneratorConfig.num_examples, "examples to generate", metavar="N"),
      Option("--noise", float, GeneratorConfig.noise_stddev, "Gaussian noise σ on y", metavar="σ"),
      Option("--seed", int, GeneratorConfig.seed, "generator seed", metavar="S"),
      EXAMPLES_DIR_OPTION,
      examples_dir.SPAN_WINDOW_OPTION,
  )

  def configure(self, model: Optional[str], given: Mapping[str, Any],
                recipe_overrides: Mapping[str, Optional[int]], target: Target = Target.LOCAL,
                data_uri: Optional[str] = None) -> RunConfig:
    model = self.check_model(model)
    values = self.option_values(given)
    recipe = with_overrides(recipes.TrainingRecipe(model=model), recipe_overrides)
    # DIR/{train,eval,test}/*.tfrecord[.gz]: where the cluster reads it, or here (checked now).
    examples = data_uri if target is Target.CLUSTER else values["examples_dir"]
    source: DataSource
    if examples is not None:
      generator_flags = [f"--{k}" for k in _GENERATOR_OPTIONS if k in given]
      if generator_flags:
        raise DefinitionError(f"{', '.join(generator_flags)} configure the generator, which "
                              f"{'--data-uri' if target is Target.CLUSTER else '--examples-dir'} "
                              "replaces: give one or the other")
      source = ((examples_dir.cluster_window(examples, values["span_window"])
                 if values["span_window"] is not None else ExamplesDir(examples))
                if target is Target.CLUSTER else
                examples_dir.source(examples, values["span_window"]))
    else:
      if values["span_window"] is not None:
        raise DefinitionError("--span-window needs --examples-dir DIR of span-<N>/ folders")
      try:  # numpy only: a bad value fails before TF loads
        source = Generated(generator=GeneratorConfig(
            num_examples=values["examples"], noise_stddev=values["noise"], seed=values["seed"]))
      except ValueError as e:
        raise DefinitionError(f"regression data: {e}") from None
    # N picks the local Beam mode: in-memory for small runs, multi-processing for large ones.
    known = source.generator.num_examples if isinstance(source, Generated) else None
    return RunConfig(model=model, recipe=recipe, source=source, input_examples=known,
                     description=f"{source.describe()}, model {model}, {recipe.describe()}")

  def build(self, config: RunConfig, runtime, epochs=None, train_steps=None):
    from components.regression_example_gen.component import RegressionExampleGen  # pylint: disable=import-outside-toplevel
    from pipelines import pipeline  # pylint: disable=import-outside-toplevel
    if isinstance(config.source, ExamplesDir):
      example_gens = examples_dir.example_gens(config.source)
    else:
      example_gens = [("", RegressionExampleGen(config.source.generator))]
    return pipeline.create_pipeline(
        self.pipeline_name(config.model), runtime, example_gens,
        pipeline.ModelSpec(
            preprocessing_fn="models.regression.preprocessing.preprocessing_fn",
            run_fn="models.regression.model.run_fn",
            custom_config={RECIPE_KEY: config.recipe.to_json()},
            eval_config=eval_config(),
            serving_model_name=self.serving_model_name, epochs=epochs, train_steps=train_steps))

  def details(self, model_uri: str) -> Dict[str, Any]:
    """The tutorial's check on the trained model: w, b and extrapolation to x in [1, 2].

    Read from the trained model, pushed or not, so an unblessed run still reports what it learned.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfx.utils import path_utils  # pylint: disable=import-outside-toplevel
    predict = tf.saved_model.load(path_utils.serving_model_path(model_uri)).signatures[
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

  def report_data(self, run) -> str:
    from pipelines import regression_report  # pylint: disable=import-outside-toplevel
    return regression_report.data(run)

  def report_evaluation(self, run) -> str:
    from pipelines import regression_report  # pylint: disable=import-outside-toplevel
    return regression_report.evaluation(run, self)
