"""The MNIST pipeline: IDX files (or TFDS) → pixels/255 → a tutorial model → accuracy gate.

Imports only light modules at the top: the CLI validates flags and data files
with this definition before TensorFlow loads; `build` imports TFX, the report
hooks TensorFlow and matplotlib.
"""

import dataclasses
import os
from typing import Any, Dict, Mapping, Optional

from models import precision as precisions
from models.mnist import recipes
from components.recipe_trainer import DATA_KEY, SPANS_KEY
from models.recipe import RECIPE_KEY
from pipelines import examples_dir
from pipelines.definition import (EXAMPLES_DIR_OPTION, DataSource, DefinitionError, ExamplesDir,
                                  Option, PipelineDefinition, RunConfig, Target, with_overrides)
from schemas.mnist import contract

WARM_START_CHOICES = ("auto", "off")

# A candidate may not be worse than the latest blessed model of its name by more than this
# (0.1 % = 10 of the 10,000 test images: retraining noise, not a regression).
MAX_ACCURACY_DROP = 0.001

# The real MNIST copy that sits beside the project's checkout in this workplace: the four
# IDX files in ../shared/data/mnist.
_PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_MNIST_DIR = os.path.normpath(os.path.join(_PROJECT_DIR, "..", "shared", "data", "mnist"))


def cluster_source(data_uri: str, span_window: Optional[int]) -> DataSource:
  """compile --data-uri URI: the IDX files' folder, or with --span-window K a folder of
  span-<N>/ folders of tf.Examples whose latest K each run reads (checked when it runs)."""
  if span_window is None:
    return IdxFiles(data_uri)
  return examples_dir.cluster_window(data_uri, span_window)


def default_data_dir() -> Optional[str]:
  """../shared/data/mnist (beside the working dir or the project) if it exists, else None (TFDS)."""
  for candidate in (os.path.join(os.getcwd(), "..", "shared", "data", "mnist"), SHARED_MNIST_DIR):
    if os.path.isdir(candidate):
      return os.path.normpath(candidate)
  return None


@dataclasses.dataclass(frozen=True)
class IdxFiles(DataSource):
  """The four MNIST IDX files (`{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`) in a directory."""

  def describe(self) -> str:
    return f"data {self.uri}"


@dataclasses.dataclass(frozen=True)
class Tfds(DataSource):
  """MNIST from tensorflow-datasets (downloaded once into the TFDS data dir)."""

  def describe(self) -> str:
    return "data tensorflow-datasets (mnist)"


def eval_config(model_name: str):
  """Test accuracy must reach the model's tutorial bound and not regress on the baseline, and
  every digit's accuracy must reach the model's per-digit floor.

  The thresholds are per slice: a MetricConfig's plain `threshold` applies to every slice
  TFMA computes (metrics_validator.py), the per-digit ones included.
  """
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  overall, per_digit = tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[contract.LABEL_KEY])
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name=contract.PREDICT_SIGNATURE,
                                  label_key=contract.LABEL_KEY,
                                  prediction_key=contract.OUTPUT_PROBABILITIES)],
      slicing_specs=[overall, per_digit],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(
              class_name="SparseCategoricalAccuracy",
              per_slice_thresholds=[
                  tfma.PerSliceMetricThreshold(slicing_specs=[overall], threshold=tfma.MetricThreshold(
                      value_threshold=tfma.GenericValueThreshold(
                          lower_bound={"value": recipes.ACCURACY_BOUNDS[model_name]}),
                      change_threshold=tfma.GenericChangeThreshold(
                          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                          absolute={"value": -MAX_ACCURACY_DROP}))),
                  tfma.PerSliceMetricThreshold(slicing_specs=[per_digit], threshold=tfma.MetricThreshold(
                      value_threshold=tfma.GenericValueThreshold(
                          lower_bound={"value": recipes.DIGIT_ACCURACY_FLOORS[model_name]}))),
              ]),
      ])])


class MnistDefinition(PipelineDefinition):
  name = "mnist"
  dataset = "mnist"
  serving_model_name = contract.SERVING_MODEL_NAME
  models = recipes.MODEL_NAMES
  default_model = "softmax"
  headline_metric = "sparse_categorical_accuracy"  # the gate's metric (eval_config)
  label_key = contract.LABEL_KEY
  class_output = contract.OUTPUT_CLASSES
  warm_starts = True
  options = (
      Option("--data-dir", str, None, "directory with the four MNIST IDX files (default: "
             "../shared/data/mnist beside the checkout if present, else tensorflow-datasets)",
             metavar="DIR", local_path=True),
      EXAMPLES_DIR_OPTION,
      examples_dir.SPAN_WINDOW_OPTION,
      Option("--tfds", bool, False, "read MNIST from tensorflow-datasets (downloaded once); "
             "with compile, the cluster downloads it"),
      Option("--precision", str, None, "training arithmetic: auto = mixed_bfloat16 "
             "where the training CPU has native BF16, else float32; the pushed model serves in "
             "float32 either way. Without the flag, each model's recipe decides (cnn: auto, "
             "softmax and mlp: float32)", choices=precisions.CHOICES),
      Option("--warm-start", str, "auto", "auto: the Trainer starts from the served model's "
             "weights when it is the same model (name and layer shapes) trained on other data, "
             "else from scratch; off: always from scratch", choices=WARM_START_CHOICES),
      Option("--tune", int, None, "search the model's hyperparameters first (TFX's Tuner, "
             "KerasTuner's RandomSearch over models/mnist/recipes.py SEARCH_SPACES) with N trials "
             "of 200 steps each; the Trainer trains with the best", metavar="N"),
  )

  def configure(self, model: Optional[str], given: Mapping[str, Any],
                recipe_overrides: Mapping[str, Optional[int]], target: Target = Target.LOCAL,
                data_uri: Optional[str] = None) -> RunConfig:
    # Cheap checks first: a bad flag or file fails in a second, before TF loads.
    from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
    model = self.check_model(model)
    values = self.option_values(given)
    recipe = with_overrides(recipes.default_recipe(model), recipe_overrides)
    requested = given.get("precision") or recipe.precision
    try:
      here = precisions.resolve(requested, precisions.cpu_flags())
    except ValueError as e:
      raise DefinitionError(str(e)) from None
    # A local run trains here: decide now, so the recipe MLMD records (and caches on) is
    # concrete. A compiled spec keeps `auto` for the training node's own CPU.
    recipe = dataclasses.replace(recipe, precision=here if target is Target.LOCAL else requested)
    # oneDNN is process-wide and read when TensorFlow loads: the CLI sets it from this before
    # it imports TensorFlow (runners/handler/run_handler.py); a compiled spec keeps the image's.
    onednn_value, onednn = precisions.onednn_for_training(model, precisions.cpu_flags(), os.environ)
    sources = [f for f in ("data_dir", "examples_dir", "tfds") if given.get(f)]
    if len(sources) > 1:
      raise DefinitionError(f"{' and '.join('--' + f.replace('_', '-') for f in sources)} are "
                            "alternatives: give one")
    if target is Target.CLUSTER:
      if data_uri is not None and values["tfds"]:
        raise DefinitionError("--data-uri and --tfds are alternatives: give one")
      if values["span_window"] is not None and data_uri is None:
        raise DefinitionError("compile --span-window K needs --data-uri URI: a folder of "
                              "span-<N>/ folders of tf.Examples as the cluster reads it")
      if data_uri is None and not values["tfds"]:
        raise DefinitionError("compile --pipeline mnist needs the data as the cluster reads it: "
                              "--data-uri URI (a directory of the four IDX files) or --tfds "
                              "(the cluster downloads MNIST from tensorflow-datasets)")
      source: DataSource = (cluster_source(data_uri, values["span_window"]) if data_uri is not None
                            else Tfds())
    elif values["examples_dir"] is not None:
      source = examples_dir.source(values["examples_dir"], values["span_window"])
    elif values["tfds"]:
      source = Tfds()
    else:
      data_dir = values["data_dir"] or default_data_dir()
      if data_dir is None:
        source = Tfds()
      else:
        data_dir = os.path.abspath(data_dir)
        try:
          idx_reader.validate_data_dir(data_dir)
        except idx_reader.IdxFormatError as e:
          raise DefinitionError(str(e)) from None
        source = IdxFiles(data_dir)
    if values["span_window"] is not None and not isinstance(source, ExamplesDir):
      raise DefinitionError("--span-window needs --examples-dir DIR of span-<N>/ folders")
    known = None if isinstance(source, ExamplesDir) else sum(contract.SPLIT_SIZES.values())
    tune = values["tune"]
    if tune is not None and tune < 1:
      raise DefinitionError(f"--tune {tune}: the number of trials must be at least 1")
    tuning = f", tuned over {tune} trials first" if tune else ""
    return RunConfig(model=model, recipe=recipe, source=source, input_examples=known,
                     tune_trials=tune or 0, warm_start=values["warm_start"],
                     data_identity=source.describe() if target is Target.LOCAL else None,
                     environment=({precisions.ONEDNN_ENV: onednn_value}
                                  if onednn_value and target is Target.LOCAL else {}),
                     description=f"{source.describe()}, model {model}, {recipe.describe()}"
                                 f"{', ' + onednn if target is Target.LOCAL else ''}{tuning}")

  def build(self, config: RunConfig, runtime, epochs=None, train_steps=None):
    from components.mnist_idx_example_gen.component import MnistIdxExampleGen  # pylint: disable=import-outside-toplevel
    from components.mnist_tfds_example_gen.component import MnistTfdsExampleGen  # pylint: disable=import-outside-toplevel
    from pipelines import pipeline  # pylint: disable=import-outside-toplevel
    source = config.source
    if isinstance(source, ExamplesDir):
      example_gens = examples_dir.example_gens(source)
    elif isinstance(source, IdxFiles):
      example_gens = [("", MnistIdxExampleGen(data_dir=source.uri))]
    else:
      example_gens = [("", MnistTfdsExampleGen())]
    return pipeline.create_pipeline(self.pipeline_name(config.model), runtime, example_gens,
                                    pipeline.ModelSpec(
        preprocessing_fn="models.mnist.preprocessing.preprocessing_fn",
        run_fn="models.mnist.model.run_fn",
        custom_config={RECIPE_KEY: config.recipe.to_json(),
                       **({DATA_KEY: config.data_identity} if config.data_identity else {}),
                       **({SPANS_KEY: list(source.spans)} if isinstance(source, ExamplesDir)
                          and source.spans else {})},
        eval_config=eval_config(config.model),
        serving_model_name=self.serving_model_name,
        compare_to_baseline=True, epochs=epochs, train_steps=train_steps,
        tuner_fn="models.mnist.model.tuner_fn", tune_trials=config.tune_trials))

  def report_data(self, run) -> str:
    from pipelines import mnist_report  # pylint: disable=import-outside-toplevel
    return mnist_report.data(run)

  def report_evaluation(self, run) -> str:
    from pipelines import mnist_report  # pylint: disable=import-outside-toplevel
    return mnist_report.evaluation(run)
