"""What a pipeline is, independent of where it runs.

A `PipelineDefinition` owns everything specific to one pipeline: its models and
default model, its own flags, their validation (cheap, before TensorFlow
loads), the graph builder, and what to report after a run. Definitions are
registered by name in `pipelines/registry.py`; the CLI only dispatches, so a
new pipeline touches neither the CLI nor the runners.

Where a pipeline runs (pipeline root, metadata store, data/schema/serving
locations, Beam flags) is a `PipelineRuntime` that a runner builds
(runners/local.py, runners/kubeflow_v2.py) and the graph builder takes as is.
"""

import abc
import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple


class DefinitionError(ValueError):
  """A flag value the definition rejects; str() is one line naming the flag."""


@dataclasses.dataclass(frozen=True)
class Option:
  """A flag of `mnist-tfx run` that only one pipeline accepts."""
  flag: str  # e.g. "--examples"
  type: Callable[[str], Any]
  default: Any
  help: str

  @property
  def dest(self) -> str:
    return self.flag.lstrip("-").replace("-", "_")




# Shared by every pipeline: your own tf.Examples instead of the pipeline's source.
EXAMPLES_DIR_OPTION = Option(
    "--examples-dir", str, None, "read DIR/{train,eval,test}/*.tfrecord[.gz] (tf.Example in the "
    "pipeline's encoding) with ImportExampleGen instead of the pipeline's own source")


# RunConfig.settings key under which a definition states how many examples its source
# produces, when it knows before anything runs; the local runner picks its Beam mode from it.
INPUT_EXAMPLES = "input_examples"


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A validated request to run one pipeline: what to train on, and how."""
  model: str
  recipe: Any  # the model module's TrainingRecipe (a JsonRecipe)
  data_uri: Optional[str]  # None: the definition's default source
  description: str  # one line for the terminal
  settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # pipeline-specific, typed


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


class PipelineDefinition(abc.ABC):
  """Subclass per pipeline; see the module docstring."""

  name: str  # --pipeline value
  dataset: str  # schemas/<dataset>/ holds its schema and contract
  serving_model_name: str  # TF Serving model name its models are pushed as
  models: Sequence[str]
  default_model: str
  options: Sequence[Option] = ()

  def pipeline_name(self, model: str) -> str:
    """One TFX pipeline per model, so a baseline is always of the same model."""
    return f"{self.name}_{model}"

  def check_model(self, model: Optional[str]) -> str:
    model = model or self.default_model
    if model not in self.models:
      raise DefinitionError(f"--model {model}: unknown {self.name} model, expected one of "
                            f"{', '.join(self.models)}")
    return model

  @abc.abstractmethod
  def configure(self, model: Optional[str], values: Dict[str, Any],
                recipe_overrides: Dict[str, int], data_uri: Optional[str] = None) -> RunConfig:
    """Validates flags (no TensorFlow yet); raises DefinitionError with one clear line.

    values: this definition's own options by dest; recipe_overrides: epochs / train_steps.
    data_uri: where the data is as another machine sees it (a compiled pipeline's cluster
    URI): taken as is, nothing of this machine is looked at.
    """

  @abc.abstractmethod
  def build(self, config: RunConfig, runtime: PipelineRuntime, epochs: Any = None,
            train_steps: Any = None):
    """The TFX pipeline for config, placed by runtime (imports TFX).

    epochs / train_steps: run-time overrides of the recipe's length (RuntimeParameters
    when compiled for Kubeflow); None leaves the recipe as configured.
    """

  def details(self, config: RunConfig, model_uri: str) -> Dict[str, Any]:
    """Pipeline-specific checks of the trained model for the run summary (default: none)."""
    del config, model_uri
    return {}


def with_overrides(recipe, overrides: Dict[str, int]):
  """The recipe with --epochs / --train-steps applied (each must be a positive integer)."""
  for key, value in overrides.items():
    if value is not None and value <= 0:
      raise DefinitionError(f"--{key.replace('_', '-')} must be a positive integer, got {value}")
  return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
