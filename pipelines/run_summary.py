"""Reads what a finished run produced back out of ML Metadata.

MLMD is the pipeline's record of truth (cached executions included), so the
summary is built from it rather than from the runner's memory: outputs,
blessing, pushed version, and per-component seconds from the executions'
MLMD timestamps (registered → published). Takes any ConnectionConfig
(pipelines/metadata.py), SQLite or MySQL.
"""

import dataclasses
from typing import Any, Dict, List, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from components import gate_result
from components.baseline_evaluator import executor as evaluator_executor
from pipelines import metadata, nodes

_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_NODE_CONTEXT = "node"  # TFX's context type per pipeline node, named "<pipeline>.<node id>"


@dataclasses.dataclass
class RunSummary:
  pipeline: str
  run_id: str
  metrics: Dict[str, float] = dataclasses.field(default_factory=dict)
  blessed: Optional[bool] = None  # the Evaluator's verdict (None: it did not run)
  infra_blessed: Optional[bool] = None  # the InfraValidator's verdict
  infra_message: str = ""
  pushed_path: Optional[str] = None
  stopped_by: Optional[str] = None  # the gate that stopped the run before training
  anomalies: List[str] = dataclasses.field(default_factory=list)  # the gate's problem lines
  model_uri: Optional[str] = None
  component_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)
  cached_components: List[str] = dataclasses.field(default_factory=list)
  total_seconds: float = 0.0
  failed_thresholds: List[str] = dataclasses.field(default_factory=list)
  details: Dict[str, Any] = dataclasses.field(default_factory=dict)  # pipeline-specific checks


def _custom(artifact: metadata_store_pb2.Artifact, key: str):
  value = artifact.custom_properties.get(key)
  if value is None:
    return None
  return value.WhichOneof("value") and getattr(value, value.WhichOneof("value"))


def _component_times(store: mlmd.MetadataStore, pipeline_name: str,
                     executions: List[metadata_store_pb2.Execution]):
  """(seconds by node id in start order, node ids whose execution was a cache hit,
  node id by execution id)."""
  seconds, cached, node_of = {}, [], {}
  for execution in sorted(executions, key=lambda e: (e.create_time_since_epoch, e.id)):
    nodes = [c.name for c in store.get_contexts_by_execution(execution.id)
             if c.type == _NODE_CONTEXT and c.name.startswith(pipeline_name + ".")]
    if not nodes:
      continue
    node = nodes[0][len(pipeline_name) + 1:]
    node_of[execution.id] = node
    seconds[node] = round(
        (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000, 2)
    if execution.last_known_state == metadata_store_pb2.Execution.CACHED:
      cached.append(node)
  return seconds, cached, node_of


def latest_run(connection_config: metadata_store_pb2.ConnectionConfig,
               pipeline_name: str) -> RunSummary:
  """Summarises the newest run of `pipeline_name` in the metadata store."""
  store = mlmd.MetadataStore(connection_config)
  where = metadata.describe(connection_config)
  pipeline_ctx = store.get_context_by_type_and_name("pipeline", pipeline_name)
  if pipeline_ctx is None:
    raise ValueError(f"{where}: no run of pipeline '{pipeline_name}' recorded")
  pipeline_execs = {e.id for e in store.get_executions_by_context(pipeline_ctx.id)}
  runs = sorted(store.get_contexts_by_type("pipeline_run"),
                key=lambda c: (c.create_time_since_epoch, c.id), reverse=True)
  for run in runs:
    executions = store.get_executions_by_context(run.id)
    if any(e.id in pipeline_execs for e in executions):
      break
  else:
    raise ValueError(f"{where}: no run of pipeline '{pipeline_name}' recorded")

  summary = RunSummary(pipeline=pipeline_name, run_id=run.name)
  summary.component_seconds, summary.cached_components, node_of = _component_times(
      store, pipeline_name, executions)
  for execution in executions:
    if execution.last_known_state == metadata_store_pb2.Execution.FAILED:
      stopped = gate_result.read_failure(execution)
      if stopped:
        summary.stopped_by, summary.anomalies = stopped
  events = store.get_events_by_execution_ids([e.id for e in executions])
  producer = {ev.artifact_id: node_of.get(ev.execution_id) for ev in events if ev.type in _OUTPUT_EVENTS}
  types = {t.id: t.name for t in store.get_artifact_types()}
  for artifact in store.get_artifacts_by_id(list(producer)):
    kind = types.get(artifact.type_id)
    if kind == "ModelEvaluation":
      summary.metrics = evaluator_executor.overall_metrics(artifact.uri)
      summary.failed_thresholds = evaluator_executor.failed_thresholds(artifact.uri)
    elif kind == "ModelBlessing":
      summary.blessed = bool(_custom(artifact, "blessed"))
    elif kind == "InfraBlessing":
      summary.infra_blessed = bool(_custom(artifact, "blessed"))
      summary.infra_message = _custom(artifact, "infra_validation_message") or ""
    elif kind == "PushedModel" and _custom(artifact, "pushed"):
      summary.pushed_path = _custom(artifact, "pushed_destination")
    elif kind == "Model" and producer[artifact.id] == nodes.TRAINER:  # not the served baseline
      summary.model_uri = artifact.uri
  return summary
