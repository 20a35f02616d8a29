"""The Kubeflow Pipelines v2 runner: compiles a pipeline into a spec the open-source backend runs.

TFX 1.16's KubeflowV2DagRunner targets Vertex AI Pipelines. For open-source KFP v2:
- the API server takes a bare PipelineSpec, not a PipelineJob, and only schema 2.1.0;
- task names become Argo DAG task names (`[a-zA-Z0-9][-a-zA-Z0-9]*`) and the pipeline
  name must match `[a-z0-9][a-z0-9-]*`;
- resolver nodes are not implemented (the graph has none: the baseline is the served
  model, components/served_baseline) and `lifecycle` hooks are never run (removed);
- TFX drops the defaults of runtime parameters: they are put back;
- ServedBaseline is never cached (what is served changes outside the pipeline), nor is
  SpanWindow (the examples folder gains spans);
- a span window (`--span-window K`) is K ingestion tasks fed by SpanWindow's output
  parameters, whose producer TFX misnames `<task>_task`: renamed;
- the container entrypoint is the project's (runners/kubeflow_v2_entrypoint.py), which
  restores empty input artifact types and turns a gate's failed result into a failed task.
For Vertex AI (`--target vertex`) the same task fixes apply and the spec is wrapped in
TFX's PipelineJob form, whose runtime config carries every parameter's compiled value.
Nothing of the compiling machine goes into the spec: data, schema, serving and pipeline
root are URIs of the cluster or paths inside the image, and dotted module paths (baked
into the image with the wheel) replace module files, so compiling writes nothing.
"""

import copy
import dataclasses
import json
import re
from typing import Any, Dict, Optional, Sequence

from pipelines import nodes
from pipelines.definition import PipelineDefinition, PipelineRuntime, RunConfig

# The image's layout (Dockerfile): the wheel installed, the curated schemas copied here.
IMAGE_SCHEMAS_DIR = "/pipeline/schemas"
ENTRYPOINT = ["python", "-m", "runners.kubeflow_v2_entrypoint"]
SCHEMA_VERSION = "2.1.0"
_TASK_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
# Tasks whose outputs depend on more than their inputs: the served model changes between
# runs while the task's parameters do not, so KFP must not reuse a cached result.
# SpanWindow lists the examples folder, which gains spans between runs.
UNCACHED_TASKS = (nodes.SERVED_BASELINE, nodes.SPAN_WINDOW)

# The run-time parameters a user may set when starting a run; their defaults are the
# compiled values (_runtime_parameters).
DATA_PARAMETER = "data_uri"
EPOCHS_PARAMETER = "epochs"
TRAIN_STEPS_PARAMETER = "train_steps"


class CompileError(ValueError):
  """The pipeline cannot be compiled for the target; str() is one line."""


@dataclasses.dataclass(frozen=True)
class KubeflowPlacement:
  """Where the compiled pipeline runs, all as the cluster sees it."""
  image: str
  pipeline_root: str  # e.g. gs://bucket/tfx (object store URI)
  serving_root: Optional[str] = None  # default <pipeline_root>/serving
  beam_args: Sequence[str] = ()

  def runtime(self, definition: PipelineDefinition, pipeline_name: str,
              warm_start: bool = False) -> PipelineRuntime:
    serving_root = self.serving_root or f"{self.pipeline_root.rstrip('/')}/serving"
    return PipelineRuntime(
        pipeline_root=f"{self.pipeline_root.rstrip('/')}/{pipeline_name}",
        serving_dir=f"{serving_root.rstrip('/')}/{definition.serving_model_name}",
        schema_uri=f"{IMAGE_SCHEMAS_DIR}/{definition.dataset}/schema.pbtxt",
        metadata_connection_config=None,  # KFP's launcher records metadata, not TFX
        beam_pipeline_args=tuple(self.beam_args),
        enable_cache=True,
        served_version=None,
        # The Trainer starts from whatever is served when it runs, if that model fits.
        warm_start_from="" if warm_start else None,
        union_channels=False)  # "Only single Channel is supported" (TFX's step_builder.py)


def kfp_pipeline_name(pipeline_name: str) -> str:
  """mnist_softmax -> mnist-softmax (KFP and Argo accept [a-z0-9-])."""
  return re.sub(r"[^a-z0-9-]", "-", pipeline_name.lower()).strip("-")


def _runtime_parameters(config: RunConfig):
  """The parameters a user may change per run, with the compiled values as defaults."""
  from tfx.orchestration import data_types  # pylint: disable=import-outside-toplevel
  params = {
      EPOCHS_PARAMETER: data_types.RuntimeParameter(
          name=EPOCHS_PARAMETER, ptype=int, default=int(config.recipe.epochs)),
      TRAIN_STEPS_PARAMETER: data_types.RuntimeParameter(
          name=TRAIN_STEPS_PARAMETER, ptype=int, default=int(config.recipe.train_steps)),
  }
  if config.source.uri:
    params[DATA_PARAMETER] = data_types.RuntimeParameter(
        name=DATA_PARAMETER, ptype=str, default=config.source.uri)
  return params


_PARAMETER_TYPES = {int: "NUMBER_INTEGER", float: "NUMBER_DOUBLE", str: "STRING"}


def _fix_tasks(spec: Dict[str, Any], defaults: Dict[str, Any]) -> Dict[str, Any]:
  """What both backends need of TFX's compiled PipelineSpec (a dict): no resolver node, no
  cached ServedBaseline or SpanWindow, parameters passed between tasks named by their
  producer task, and the runtime parameters' defaults TFX drops (a run started
  without arguments, e.g. `PipelineJob(...).submit()` on Vertex, then runs as compiled)."""
  spec = copy.deepcopy(spec)
  for name, task in spec["root"]["dag"]["tasks"].items():
    if not _TASK_NAME.match(name):
      raise CompileError(f"task name {name!r} is not a valid Argo DAG task name")
    if "resolver" in json.dumps(task.get("componentRef", {})).lower():
      raise CompileError(f"task {name} is a resolver node; the open-source backend cannot run it")
    if name in UNCACHED_TASKS:
      task["cachingOptions"] = {"enableCache": False}
    # TFX names a dynamic exec property's producer `<node id>_task` (step_builder.py,
    # TaskOutputParameterSpec), but names the task itself by the node id.
    for source in task.get("inputs", {}).get("parameters", {}).values():
      producer = source.get("taskOutputParameter")
      if producer and producer["producerTask"] not in spec["root"]["dag"]["tasks"]:
        fixed = producer["producerTask"].removesuffix("_task")
        if fixed not in spec["root"]["dag"]["tasks"]:
          raise CompileError(f"task {name} reads a parameter of {producer['producerTask']}, "
                             "which is no task of the pipeline")
        producer["producerTask"] = fixed
  parameters = spec["root"].setdefault("inputDefinitions", {}).setdefault("parameters", {})
  for name, value in defaults.items():
    if name in parameters:
      parameters[name]["defaultValue"] = value
      parameters[name]["parameterType"] = _PARAMETER_TYPES[type(value)]
  return spec


def _fix_for_open_source_backend(spec: Dict[str, Any], pipeline_root: str) -> Dict[str, Any]:
  """What only the open-source backend needs: schema 2.1.0 as its API server takes it, a
  default pipeline root, container executors only, no lifecycle hooks (never run there)."""
  spec["schemaVersion"] = SCHEMA_VERSION
  spec["defaultPipelineRoot"] = pipeline_root  # KFP's artefact root unless a run overrides it
  for executor in spec["deploymentSpec"]["executors"].values():
    container = executor.get("container")
    if container is None:
      raise CompileError("only container executors run on the open-source backend "
                         f"(found {sorted(executor)})")
    container.pop("lifecycle", None)  # ignored by the open-source backend; it would mislead
  return spec


def _vertex_job(name: str, spec: Dict[str, Any], defaults: Dict[str, Any],
                pipeline_root: str) -> Dict[str, Any]:
  """TFX's PipelineJob form (kubeflow_v2_dag_runner.py), built through the kfp-pipeline-spec
  proto so every field name is Vertex's: the spec, and a runtime config carrying the output
  directory and every parameter's compiled value."""
  from google.protobuf import json_format  # pylint: disable=import-outside-toplevel
  from kfp.pipeline_spec import pipeline_spec_pb2  # pylint: disable=import-outside-toplevel
  from tfx.orchestration import data_types  # pylint: disable=import-outside-toplevel
  from tfx.orchestration.kubeflow.v2 import pipeline_builder  # pylint: disable=import-outside-toplevel
  runtime_config = pipeline_builder.RuntimeConfigBuilder(
      pipeline_info=data_types.PipelineInfo(pipeline_name=name, pipeline_root=pipeline_root),
      parameter_values=defaults, use_pipeline_spec_2_1=True).build()
  job = pipeline_spec_pb2.PipelineJob(display_name=name, runtime_config=runtime_config)
  job.pipeline_spec.update(spec)
  return json_format.MessageToDict(job)


def compile_pipeline(definition: PipelineDefinition, config: RunConfig,
                     placement: KubeflowPlacement, target: str = "kubeflow") -> Dict[str, Any]:
  """The compiled pipeline as a dict: a bare PipelineSpec (kubeflow) or a PipelineJob (vertex)."""
  from google.protobuf import json_format  # pylint: disable=import-outside-toplevel
  from tfx.orchestration.kubeflow.v2 import pipeline_builder  # pylint: disable=import-outside-toplevel
  from tfx import version as tfx_version  # pylint: disable=import-outside-toplevel

  name = kfp_pipeline_name(definition.pipeline_name(config.model))
  params = _runtime_parameters(config)
  if DATA_PARAMETER in params:
    config = dataclasses.replace(config, source=dataclasses.replace(
        config.source, uri=params[DATA_PARAMETER]))
  pipeline = definition.build(config, placement.runtime(definition, name, config.warm_start == "auto"),
                              epochs=params[EPOCHS_PARAMETER],
                              train_steps=params[TRAIN_STEPS_PARAMETER])
  pipeline.pipeline_info.pipeline_name = name
  spec = pipeline_builder.PipelineBuilder(
      tfx_pipeline=pipeline, default_image=placement.image, default_commands=ENTRYPOINT,
      use_pipeline_spec_2_1=True).build()
  spec.sdk_version = f"tfx-{tfx_version.__version__}"
  spec.schema_version = SCHEMA_VERSION
  defaults = {k: p.default for k, p in params.items()}
  spec_dict = _fix_tasks(json_format.MessageToDict(spec), defaults)
  if target == "vertex":
    return _vertex_job(name, spec_dict, defaults, placement.pipeline_root)
  return _fix_for_open_source_backend(spec_dict, placement.pipeline_root)


def write_spec(spec: Dict[str, Any], path: str) -> None:
  """YAML (what `kfp.Client().upload_pipeline` and the KFP UI take) or JSON, by extension."""
  with open(path, "w") as f:
    if path.endswith(".json"):
      json.dump(spec, f, indent=2, sort_keys=True)
    else:
      import yaml  # pylint: disable=import-outside-toplevel
      yaml.safe_dump(spec, f, sort_keys=True)
