"""The MNIST pipeline: IDX files (or TFDS) → pixels/255 → a tutorial model → accuracy gate.

Imports only light modules at the top: the CLI validates flags and data files
with this definition before TensorFlow loads; `build` imports TFX.
"""

import dataclasses
import os
from typing import Any, Dict, Optional

from models import precision as precisions
from models.mnist import recipes
from models.recipe import RECIPE_KEY
from pipelines import examples_dir
from pipelines.definition import (EXAMPLES_DIR_OPTION, INPUT_EXAMPLES, DefinitionError, Option,
                                  PipelineDefinition, RunConfig, with_overrides)
from schemas.mnist import contract

# A candidate may not be worse than the latest blessed model of its name by more than this
# (0.1 % = 10 of the 10,000 test images: retraining noise, not a regression).
MAX_ACCURACY_DROP = 0.001

# The shared real MNIST copy that sits beside the project in this workplace.
_PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST_DIR = os.path.normpath(os.path.join(_PROJECT_DIR, "..", "shared", "data", "mnist"))


def default_data_dir() -> Optional[str]:
  """../shared/data/mnist (beside the working dir or the project) if it exists, else None (TFDS)."""
  for candidate in (os.path.join(os.getcwd(), "..", "shared", "data", "mnist"), SHARED_MNIST_DIR):
    if os.path.isdir(candidate):
      return os.path.normpath(candidate)
  return None


def eval_config(model_name: str):
  """Test accuracy must reach the model's tutorial bound and not regress on the baseline."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name=contract.PREDICT_SIGNATURE,
                                  label_key=contract.LABEL_KEY,
                                  prediction_key=contract.OUTPUT_PROBABILITIES)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(
              class_name="SparseCategoricalAccuracy",
              threshold=tfma.MetricThreshold(
                  value_threshold=tfma.GenericValueThreshold(
                      lower_bound={"value": recipes.ACCURACY_BOUNDS[model_name]}),
                  change_threshold=tfma.GenericChangeThreshold(
                      direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                      absolute={"value": -MAX_ACCURACY_DROP}))),
      ])])


class MnistDefinition(PipelineDefinition):
  name = "mnist"
  dataset = "mnist"
  serving_model_name = contract.SERVING_MODEL_NAME
  models = recipes.MODEL_NAMES
  default_model = "softmax"
  options = (
      Option("--data-dir", str, None, "directory with the four MNIST IDX files (default: "
             "../shared/data/mnist if present, else tensorflow-datasets)"),
      EXAMPLES_DIR_OPTION,
      Option("--precision", str, None, "training arithmetic: auto (default: mixed_bfloat16 where "
             "the training CPU has native BF16, else float32), float32 or mixed_bfloat16; the "
             "pushed model serves in float32 either way"),
  )

  def configure(self, model: Optional[str], values: Dict[str, Any],
                recipe_overrides: Dict[str, int], data_uri: Optional[str] = None) -> RunConfig:
    # Cheap checks first: a bad flag or file fails in a second, before TF loads.
    from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
    model = self.check_model(model)
    recipe = with_overrides(recipes.default_recipe(model), recipe_overrides)
    requested = values.get("precision") or recipe.precision
    try:
      here = precisions.resolve(requested, precisions.cpu_flags())
    except ValueError as e:
      raise DefinitionError(str(e)) from None
    # Local runs train here: decide now, so the recipe MLMD records (and caches on) is concrete.
    # A compiled spec keeps `auto` for the training node's own CPU.
    recipe = dataclasses.replace(recipe, precision=requested if data_uri is not None else here)
    if data_uri is not None:  # the four IDX files, where the cluster reads them
      return RunConfig(model=model, recipe=recipe, data_uri=data_uri,
                       description=f"data {data_uri}, model {model}, {recipe.describe()}")
    if values.get("examples_dir") is not None:
      if values.get("data_dir") is not None:
        raise DefinitionError("--data-dir and --examples-dir are alternatives: give one")
      examples = examples_dir.validate(values["examples_dir"])
      return RunConfig(model=model, recipe=recipe, data_uri=examples,
                       settings={"source": "examples_dir"},
                       description=f"tf.Examples from {examples}, model {model}, {recipe.describe()}")
    data_dir = values.get("data_dir") or default_data_dir()
    if data_dir is not None:
      data_dir = os.path.abspath(data_dir)
      try:
        idx_reader.validate_data_dir(data_dir)
      except idx_reader.IdxFormatError as e:
        raise DefinitionError(str(e)) from None
    source = data_dir or "tensorflow-datasets (mnist)"
    return RunConfig(model=model, recipe=recipe, data_uri=data_dir,
                     settings={INPUT_EXAMPLES: sum(contract.SPLIT_SIZES.values())},
                     description=f"data {source}, model {model}, {recipe.describe()}")

  def build(self, config: RunConfig, runtime, epochs=None, train_steps=None):
    from components.mnist_idx_example_gen.component import MnistIdxExampleGen  # pylint: disable=import-outside-toplevel
    from components.mnist_tfds_example_gen.component import MnistTfdsExampleGen  # pylint: disable=import-outside-toplevel
    from pipelines import pipeline  # pylint: disable=import-outside-toplevel
    if config.settings.get("source") == "examples_dir":
      example_gen = examples_dir.import_example_gen(config.data_uri)
    elif config.data_uri:
      example_gen = MnistIdxExampleGen(data_dir=config.data_uri)
    else:
      example_gen = MnistTfdsExampleGen()
    return pipeline.create_pipeline(self.pipeline_name(config.model), runtime, example_gen,
                                    pipeline.ModelSpec(
        preprocessing_fn="models.mnist.preprocessing.preprocessing_fn",
        run_fn="models.mnist.model.run_fn",
        custom_config={RECIPE_KEY: config.recipe.to_json()},
        eval_config=eval_config(config.model),
        serving_model_name=self.serving_model_name,
        compare_to_baseline=True, epochs=epochs, train_steps=train_steps))
