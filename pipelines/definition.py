"""What a pipeline is, independent of where it runs.

A `PipelineDefinition` owns everything specific to one pipeline: its models and
default model, its own flags (typed `Option`s, each default stated once), their
validation (cheap, before TensorFlow loads), the graph builder, the checks it adds
to a run's summary and its own sections of the run report. Definitions are
registered by name in `pipelines/registry.py`; the CLI only dispatches, so a new
pipeline touches neither the CLI, the runners nor the report.

Where a pipeline runs (pipeline root, metadata store, data/schema/serving
locations, Beam flags) is a `PipelineRuntime` that a runner builds
(runners/local.py, runners/kubeflow_v2.py) and the graph builder takes as is.
"""

import abc
import dataclasses
import enum
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple


class DefinitionError(ValueError):
  """A flag value the definition rejects; str() is one line naming the flag."""


@dataclasses.dataclass(frozen=True)
class Option:
  """A flag of `mnist-tfx run`/`compile` that only some pipelines accept.

  `default` is the one place the default is stated: the CLI shows it in the help and
  the definition fills it in for flags the user did not give.
  """
  flag: str  # e.g. "--examples"
  type: Callable[[str], Any]  # argparse type; `bool` makes a switch (no value)
  default: Any
  help: str
  choices: Optional[Sequence[str]] = None
  metavar: Optional[str] = None
  local_path: bool = False  # names a directory of this machine: not offered by `compile`

  @property
  def dest(self) -> str:
    return self.flag.lstrip("-").replace("-", "_")

  @property
  def help_text(self) -> str:
    shown = "" if self.default is None or self.default is False else f" (default {self.default})"
    return self.help + shown


class Target(enum.Enum):
  """Where the configured run will train: here, or on a cluster from a compiled spec."""
  LOCAL = "local"
  CLUSTER = "cluster"


@dataclasses.dataclass(frozen=True)
class DataSource:
  """Where a run's examples come from; each pipeline has its own kinds (subclasses).

  `uri` is the directory or URI the ExampleGen reads, as the executing machine sees it
  (a RuntimeParameter in a compiled spec), or None for a source that reads no files.
  """
  uri: Any = None

  def describe(self) -> str:
    return str(self.uri)


@dataclasses.dataclass(frozen=True)
class ExamplesDir(DataSource):
  """`--examples-dir DIR`: the user's own tf.Examples (pipelines/examples_dir.py)."""
  # The span-<N>/ folders a run reads (its window, ascending); () for a DIR without spans.
  spans: Tuple[int, ...] = ()
  # A compiled spec's window: the latest `window` spans, picked where and when it runs
  # (components/span_example_gen); 0 for a DIR without spans or spans chosen here.
  window: int = 0

  def describe(self) -> str:
    if self.window:
      return (f"tf.Examples from {self.uri}, the latest "
              f"{'span' if self.window == 1 else f'{self.window} spans'} at each run")
    if not self.spans:
      return f"tf.Examples from {self.uri}"
    return f"tf.Examples from {self.uri}, {describe_spans(self.spans)}"


def describe_spans(spans: Sequence[int]) -> str:
  """'span 3' or 'spans 2, 3'."""
  return f"span{'s' if len(spans) > 1 else ''} {', '.join(map(str, spans))}"


# Shared by every pipeline: your own tf.Examples instead of the pipeline's source.
EXAMPLES_DIR_OPTION = Option(
    "--examples-dir", str, None, "read DIR/{train,eval,test}/*.tfrecord[.gz] (tf.Example in the "
    "pipeline's encoding) with ImportExampleGen instead of the pipeline's own source",
    metavar="DIR", local_path=True)


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A validated request to run one pipeline: what to train on, and how."""
  model: str
  recipe: Any  # the model module's TrainingRecipe (a JsonRecipe)
  source: DataSource
  description: str  # one line for the terminal
  # How many examples the source yields, when known before anything runs (the local
  # runner picks its Beam mode from it); None when only running it would tell.
  input_examples: Optional[int] = None
  tune_trials: int = 0  # --tune N (pipelines whose model module has a tuner_fn); 0: no Tuner
  warm_start: str = "off"  # --warm-start auto|off: may the Trainer start from the served model
  # What the run trains on, as the Trainer records it with the model (the source and its
  # spans); a local run whose served model was trained on the same data does not warm-start
  # (its cached Trainer is the answer). None in a compiled spec, whose data is a parameter.
  data_identity: Optional[str] = None
  # Environment the run's process needs before TensorFlow loads (e.g. TF_ENABLE_ONEDNN_OPTS
  # chosen per CPU kind and model: models/precision.py); the runner sets what is not set yet.
  environment: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PipelineRuntime:
  """Where and how a pipeline runs; decided by a runner, never by the graph."""
  pipeline_root: str
  serving_dir: str  # push destination: TF Serving's model base path (<...>/<model name>)
  schema_uri: str  # the curated schema file, as the executing machine sees it
  metadata_connection_config: Any = None  # ConnectionConfig; None where the orchestrator owns it
  beam_pipeline_args: Tuple[str, ...] = ()
  enable_cache: bool = True
  # The version served under serving_dir when the run was built: ServedBaseline's cache
  # key, so a cached baseline is reused only while the same model is served. None where
  # the runner cannot know it (a compiled Kubeflow spec runs later, many times).
  served_version: Optional[str] = None
  # What the Trainer gets as TFX's base_model (--warm-start auto): None, nothing (cold);
  # "" the model served when it runs (a compiled spec); a version number, that pushed
  # version, pinned (the local runner's choice: runners/local.warm_start_plan).
  warm_start_from: Optional[str] = None
  # Whether a node may read a union of channels (several spans' Examples). TFX's Kubeflow
  # v2 compiler takes one channel per input, so a compiled window merges them in a
  # SpanUnion node first (components/span_example_gen).
  union_channels: bool = True


class PipelineDefinition(abc.ABC):
  """Subclass per pipeline; see the module docstring."""

  name: str  # --pipeline value
  dataset: str  # schemas/<dataset>/ holds its schema and contract
  serving_model_name: str  # TF Serving model name its models are pushed as
  models: Sequence[str]
  default_model: str
  headline_metric: str  # the Evaluator's metric `mnist-tfx runs` shows per run
  label_key: str  # the feature the model learns to predict (absent from served requests)
  # The serving_default output holding the predicted class, for classifiers: `mnist-tfx
  # monitor` compares its distribution with the training labels'. None: not a classifier.
  class_output: Optional[str] = None
  options: Sequence[Option] = ()
  warm_starts = False  # has --warm-start: its Trainer may start from the served model

  def pipeline_name(self, model: str) -> str:
    """One TFX pipeline per model, so a baseline is always of the same model."""
    return f"{self.name}_{model}"

  def owns(self, pipeline_name: str) -> bool:
    """Whether a TFX pipeline name (as ML Metadata records it) is one of this definition's."""
    return pipeline_name in {self.pipeline_name(m) for m in self.models}

  def check_model(self, model: Optional[str]) -> str:
    model = model or self.default_model
    if model not in self.models:
      raise DefinitionError(f"--model {model}: unknown {self.name} model, expected one of "
                            f"{', '.join(self.models)}")
    return model

  def option_values(self, given: Mapping[str, Any]) -> Dict[str, Any]:
    """This definition's options by dest: the given values, the others at their defaults."""
    return {o.dest: given.get(o.dest, o.default) for o in self.options}

  @abc.abstractmethod
  def configure(self, model: Optional[str], given: Mapping[str, Any],
                recipe_overrides: Mapping[str, Optional[int]], target: Target = Target.LOCAL,
                data_uri: Optional[str] = None) -> RunConfig:
    """Validates flags (no TensorFlow yet); raises DefinitionError with one clear line.

    given: this definition's own options the user gave, by dest (defaults: option_values);
    recipe_overrides: epochs / train_steps. target: where it will train — a CLUSTER config
    must carry nothing of this machine (no local path, no decision made from this CPU);
    data_uri: the data as the cluster sees it, taken as is.
    """

  @abc.abstractmethod
  def build(self, config: RunConfig, runtime: PipelineRuntime, epochs: Any = None,
            train_steps: Any = None):
    """The TFX pipeline for config, placed by runtime (imports TFX).

    epochs / train_steps: run-time overrides of the recipe's length (RuntimeParameters
    when compiled for Kubeflow); None leaves the recipe as configured.
    """

  def details(self, model_uri: str) -> Dict[str, Any]:
    """Pipeline-specific checks of a trained model, for the run summary and report (default: none)."""
    del model_uri
    return {}

  def report_data(self, run) -> str:
    """HTML of the report's Data section for a run (pipelines/run_view.Run) of this pipeline.

    Default: split sizes, every feature's TFDV statistics and the data gate's anomalies.
    """
    from pipelines import report  # pylint: disable=import-outside-toplevel
    return report.data_section(run)

  def report_evaluation(self, run) -> str:
    """HTML shown after the generic metrics and blessing in the Evaluation section (default: none)."""
    del run
    return ""


def with_overrides(recipe, overrides: Mapping[str, Optional[int]]):
  """The recipe with --epochs / --train-steps applied (each must be a positive integer)."""
  for key, value in overrides.items():
    if value is not None and value <= 0:
      raise DefinitionError(f"--{key.replace('_', '-')} must be a positive integer, got {value}")
  return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
