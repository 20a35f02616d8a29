"""Past runs and where a pushed model came from, read from ML Metadata alone.

`mnist-tfx runs` and `mnist-tfx lineage` answer from the metadata store without
loading TensorFlow, TFX or TFMA (ml-metadata only), so they answer in well
under two seconds: accuracy comes from the `metric:*` custom properties the
BaselineEvaluator writes on its ModelEvaluation artefact, the blessing and the
pushed version from the artefacts' own properties. Takes any ConnectionConfig
(pipelines/metadata.py), SQLite or MySQL.
"""

import dataclasses
import os
from typing import Dict, Iterable, List, Optional, Set

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from components.baseline_evaluator import METRIC_PREFIX
from pipelines import nodes

_OUTPUTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
_STATE = metadata_store_pb2.Execution.State
# Execution properties that say where an ExampleGen read its input.
_SOURCE_PROPERTIES = ("input_base", "generator_config")


class HistoryError(ValueError):
  """Nothing to show for what the user asked; str() is one line."""


@dataclasses.dataclass
class RunRecord:
  run_id: str
  started: float  # seconds since the epoch (MLMD's context creation time)
  pipeline: str  # e.g. mnist_softmax
  seconds: float
  metrics: Dict[str, float]
  blessed: Optional[bool]  # None: the Evaluator did not run (a gate stopped the run, or it failed)
  pushed_version: Optional[str]
  status: str  # "pushed", "not pushed", "stopped by <node>", "failed in <node>", "running"


def _value(value: metadata_store_pb2.Value):
  kind = value.WhichOneof("value")
  return getattr(value, kind) if kind else None


def _custom(item, key: str):
  return _value(item.custom_properties[key]) if key in item.custom_properties else None


class History:
  """Read-only views of one metadata store."""

  def __init__(self, connection_config: metadata_store_pb2.ConnectionConfig):
    self.store = mlmd.MetadataStore(connection_config)
    self._types = {t.id: t.name for t in self.store.get_artifact_types()}
    self._execution_types = {t.id: t.name for t in self.store.get_execution_types()}

  def node(self, execution_id: int) -> str:
    """The pipeline node (component id) an execution belongs to."""
    for context in self.store.get_contexts_by_execution(execution_id):
      if context.type == "node":
        return context.name.split(".", 1)[-1]
    return "?"

  # --- runs ---------------------------------------------------------------------------------

  def runs(self, pipeline: Optional[str] = None) -> List[RunRecord]:
    """Every run in the store, newest first (optionally of one pipeline)."""
    pipelines = {c.id: c.name for c in self.store.get_contexts_by_type("pipeline")}
    records = []
    for run in self.store.get_contexts_by_type("pipeline_run"):
      executions = self.store.get_executions_by_context(run.id)
      if not executions:
        continue
      names = {pipelines[c.id] for c in self.store.get_contexts_by_execution(executions[0].id)
               if c.id in pipelines}
      name = next(iter(names), "?")
      if pipeline and name != pipeline:
        continue
      records.append(self._record(run, name, executions))
    return sorted(records, key=lambda r: (r.started, r.run_id), reverse=True)

  def _record(self, run, pipeline: str, executions) -> RunRecord:
    start = min(e.create_time_since_epoch for e in executions)
    end = max(e.last_update_time_since_epoch for e in executions)
    record = RunRecord(run_id=run.name, started=run.create_time_since_epoch / 1000, pipeline=pipeline,
                       seconds=round((end - start) / 1000, 1), metrics={}, blessed=None,
                       pushed_version=None, status="running")
    failed = [e for e in executions if e.last_known_state == _STATE.FAILED]
    events = self.store.get_events_by_execution_ids([e.id for e in executions])
    outputs = [ev.artifact_id for ev in events if ev.type in _OUTPUTS]
    for artifact in self.store.get_artifacts_by_id(outputs):
      kind = self._types.get(artifact.type_id)
      if kind == "ModelEvaluation":
        record.metrics = metrics(artifact)
      elif kind == "ModelBlessing":
        record.blessed = bool(_custom(artifact, "blessed"))
      elif kind == "PushedModel" and _custom(artifact, "pushed"):
        record.pushed_version = str(_custom(artifact, "pushed_version"))
    if failed:
      node = self.node(failed[0].id)
      gate = node in nodes.GATES
      record.status = f"{'stopped by' if gate else 'failed in'} {node}"
    elif record.pushed_version:
      record.status = "pushed"
    elif all(e.last_known_state in (_STATE.COMPLETE, _STATE.CACHED) for e in executions):
      record.status = "not pushed"
    return record

  # --- lineage ------------------------------------------------------------------------------

  def pushed_model(self, path_or_version: str) -> metadata_store_pb2.Artifact:
    """The newest PushedModel artefact whose destination is the path, or whose version is it."""
    wanted_path = os.path.abspath(path_or_version).rstrip("/")
    matches = []
    for artifact in self.store.get_artifacts_by_type("PushedModel"):
      if not _custom(artifact, "pushed"):
        continue
      destination = str(_custom(artifact, "pushed_destination") or "").rstrip("/")
      version = str(_custom(artifact, "pushed_version") or "")
      if path_or_version == version or destination in (wanted_path, path_or_version.rstrip("/")):
        matches.append(artifact)
    if not matches:
      raise HistoryError(f"{path_or_version}: no pushed model with this path or version is recorded")
    return max(matches, key=lambda a: (a.create_time_since_epoch, a.id))

  def _producer(self, artifact_id: int) -> Optional[metadata_store_pb2.Execution]:
    """The execution that first wrote the artefact (a cache hit re-outputs it later)."""
    events = [ev for ev in self.store.get_events_by_artifact_ids([artifact_id]) if ev.type in _OUTPUTS]
    if not events:
      return None
    executions = self.store.get_executions_by_id([ev.execution_id for ev in events])
    return min(executions, key=lambda e: (e.last_known_state == _STATE.CACHED,
                                          e.create_time_since_epoch, e.id))

  def lineage(self, artifact: metadata_store_pb2.Artifact) -> List[str]:
    """An indented tree: each artefact, the execution that made it, and that execution's inputs."""
    lines: List[str] = []
    self._walk(artifact, 0, set(), lines)
    return lines

  def _walk(self, artifact, depth: int, seen: Set[int], lines: List[str]) -> None:
    pad = "  " * depth
    kind = self._types.get(artifact.type_id, "?")
    extra = _describe(kind, artifact)
    if artifact.id in seen:
      lines.append(f"{pad}{kind} #{artifact.id} (shown above)")
      return
    seen.add(artifact.id)
    lines.append(f"{pad}{kind} #{artifact.id}{extra}  {artifact.uri}")
    execution = self._producer(artifact.id)
    if execution is None:
      return
    node = self.node(execution.id)
    sources = [f"{k}={_value(execution.properties[k]) if k in execution.properties else _custom(execution, k)}"
               for k in _SOURCE_PROPERTIES
               if k in execution.properties or k in execution.custom_properties]
    events = self.store.get_events_by_execution_ids([execution.id])
    # What else the execution wrote beside this artefact: the Evaluator's ModelEvaluation
    # (with its metrics) next to the blessing, the statistics beside a model, ...
    siblings = [a for a in self.store.get_artifacts_by_id(
        sorted({ev.artifact_id for ev in events if ev.type in _OUTPUTS} - {artifact.id}))]
    also = [f"{self._types.get(a.type_id, '?')} #{a.id}{_describe(self._types.get(a.type_id), a)}"
            for a in siblings]
    lines.append(f"{pad}  <- {node} (execution #{execution.id}"
                 f"{', ' + ', '.join(sources) if sources else ''})"
                 f"{'; also wrote ' + ', '.join(also) if also else ''}")
    inputs = self.store.get_artifacts_by_id(sorted({ev.artifact_id for ev in events if ev.type in _INPUTS}))
    for parent in sorted(inputs, key=lambda a: (self._types.get(a.type_id, ""), a.id)):
      self._walk(parent, depth + 2, seen, lines)


def metrics(evaluation: metadata_store_pb2.Artifact) -> Dict[str, float]:
  """The metrics the BaselineEvaluator copied onto its ModelEvaluation artefact."""
  return {k[len(METRIC_PREFIX):]: _value(v) for k, v in evaluation.custom_properties.items()
          if k.startswith(METRIC_PREFIX)}


def _describe(kind: str, artifact) -> str:
  if kind == "PushedModel":
    return f" version {_custom(artifact, 'pushed_version')}"
  if kind in ("ModelBlessing", "InfraBlessing"):
    return f" blessed={bool(_custom(artifact, 'blessed'))}"
  if kind == "ModelEvaluation":
    return "".join(f" {k}={v:.4g}" for k, v in sorted(metrics(artifact).items()) if isinstance(v, float))
  return ""


def format_runs(records: Iterable[RunRecord]) -> str:
  import datetime  # pylint: disable=import-outside-toplevel
  rows = [("run", "started (UTC)", "pipeline", "accuracy", "blessed", "version", "seconds", "status")]
  for r in records:
    accuracy = next((v for k, v in sorted(r.metrics.items()) if "accuracy" in k or "within" in k), None)
    rows.append((r.run_id, datetime.datetime.utcfromtimestamp(r.started).strftime("%Y-%m-%d %H:%M:%S"),
                 r.pipeline, "-" if accuracy is None else f"{accuracy:.4f}",
                 {None: "-", True: "yes", False: "no"}[r.blessed], r.pushed_version or "-",
                 f"{r.seconds:.1f}", r.status))
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
