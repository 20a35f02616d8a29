"""One read-only view of the pipeline runs in ML Metadata.

A run is what TFX records under one `pipeline_run` context: its executions (one per
node, in start order, each COMPLETE, CACHED, FAILED or still RUNNING), the artefacts
they wrote, and what those artefacts say — the Evaluator's metrics and blessing, the
InfraValidator's verdict, the served baseline the run compared with, the push. Every
reader of a run is a projection of this one view: the local runner's summary
(pipelines/run_summary.py), `mnist-tfx runs`, `mnist-tfx lineage` and the HTML report
(pipelines/report.py). Each fact is derived here once.

ml-metadata only: no TensorFlow, TFX components or TFMA are imported, so `runs` and
`lineage` answer in well under two seconds. Metrics come from the `metric:*` custom
properties the BaselineEvaluator copies onto its ModelEvaluation artefact, not from
TFMA's files. Takes any ConnectionConfig (pipelines/metadata.py), SQLite or MySQL.
"""

import dataclasses
import functools
import json
import os
from typing import Any, Dict, List, Optional, Set, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from components import gate_result
from components.baseline_evaluator import FAILED_THRESHOLDS, METRIC_PREFIX
from components.infra_validator import MESSAGE_KEY as INFRA_MESSAGE
from components.served_baseline import SERVED_VERSION
from components.recipe_trainer import HYPERPARAMETERS_PROPERTY, WARM_START_PROPERTY
from models.recipe import RECIPE_KEY
from pipelines import nodes

_OUTPUTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
_STATE = metadata_store_pb2.Execution.State
# TFX's context types: one per pipeline, per run, and per pipeline node ("<pipeline>.<node id>").
PIPELINE_CONTEXT, RUN_CONTEXT, NODE_CONTEXT = "pipeline", "pipeline_run", "node"
# Execution properties that say where an ExampleGen read its input.
SOURCE_PROPERTIES = ("input_base", "generator_config")
# TFX's own names, mirrored so that reading them needs no TFX import: the Evaluator's input
# key for the baseline (tfx/types/standard_component_specs.py BASELINE_MODEL_KEY), the
# blessing flag (tfx/components/util/model_utils.py) and the Pusher's custom properties
# (tfx/components/pusher/executor.py _PUSHED_KEY, _PUSHED_DESTINATION_KEY, _PUSHED_VERSION_KEY).
BASELINE_MODEL_KEY = "baseline_model"
BLESSED = "blessed"
PUSHED, PUSHED_DESTINATION, PUSHED_VERSION = "pushed", "pushed_destination", "pushed_version"


class RunNotFound(ValueError):
  """Nothing recorded for what was asked; str() is one line."""


def value_of(value: metadata_store_pb2.Value) -> Any:
  kind = value.WhichOneof("value")
  return getattr(value, kind) if kind else None


def custom(item, key: str) -> Any:
  """A custom property of an artefact or execution (None if absent)."""
  return value_of(item.custom_properties[key]) if key in item.custom_properties else None


def property_of(item, key: str) -> Any:
  """A property or, failing that, a custom property (TFX writes exec properties as either)."""
  if key in item.properties:
    return value_of(item.properties[key])
  return custom(item, key)


def metrics_of(evaluation: metadata_store_pb2.Artifact) -> Dict[str, float]:
  """The candidate's overall metrics the BaselineEvaluator copied onto its ModelEvaluation."""
  return {k[len(METRIC_PREFIX):]: value_of(v) for k, v in evaluation.custom_properties.items()
          if k.startswith(METRIC_PREFIX)}


@dataclasses.dataclass(frozen=True)
class Step:
  """One node's execution in a run."""
  node: str
  execution: metadata_store_pb2.Execution

  @property
  def state(self) -> str:
    return _STATE.Name(self.execution.last_known_state).lower()

  @property
  def seconds(self) -> float:
    """MLMD's own clock: registered → last update (published), not the runner's."""
    e = self.execution
    return round((e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000, 2)

  @property
  def cached(self) -> bool:
    return self.execution.last_known_state == _STATE.CACHED

  def property(self, key: str) -> Any:
    return property_of(self.execution, key)


@dataclasses.dataclass
class Run:
  """A run as ML Metadata recorded it, and the facts every reader needs, derived once."""
  run_id: str
  pipeline: str  # TFX pipeline name, e.g. mnist_softmax
  started: float  # seconds since the epoch (the run context's creation)
  steps: List[Step]  # in start order
  # (node id, artefact type) -> the artefact that node output in this run.
  outputs: Dict[Tuple[str, str], metadata_store_pb2.Artifact]
  # (node id, input key) -> the artefacts that node read in this run.
  inputs: Dict[Tuple[str, str], List[metadata_store_pb2.Artifact]]

  @property
  def seconds(self) -> float:
    if not self.steps:
      return 0.0
    first = min(s.execution.create_time_since_epoch for s in self.steps)
    last = max(s.execution.last_update_time_since_epoch for s in self.steps)
    return round((last - first) / 1000, 1)

  def step(self, node: str) -> Optional[Step]:
    return next((s for s in self.steps if s.node == node), None)

  def output(self, node: str, kind: str) -> Optional[metadata_store_pb2.Artifact]:
    return self.outputs.get((node, kind))

  def output_of_type(self, kind: str) -> Optional[metadata_store_pb2.Artifact]:
    """The artefact of `kind` written by any node (e.g. the Examples): the first in start
    order, or, over span windows, the latest span's."""
    found = [(nodes.split_span(step.node)[1] or -1, i, self.outputs[(step.node, kind)])
             for i, step in enumerate(self.steps) if (step.node, kind) in self.outputs]
    return max(found, key=lambda f: (f[0], -f[1]))[2] if found else None

  def latest_output(self, node: str, kind: str) -> Optional[metadata_store_pb2.Artifact]:
    """`node`'s output, or over a span window the output of its latest span's node
    (`StatisticsGen.span-3` for StatisticsGen)."""
    if (node, kind) in self.outputs:
      return self.outputs[(node, kind)]
    spans = [span for (name, k) in self.outputs if k == kind
             for base, span in [nodes.split_span(name)] if base == node and span is not None]
    return self.outputs[(nodes.for_span(node, max(spans)), kind)] if spans else None

  @property
  def spans(self) -> List[int]:
    """The spans the run read (span-<N>/ folders of --examples-dir), ascending; [] without.

    TFX's ExampleGen records `span` on each Examples artefact; a run's span nodes are
    named after theirs."""
    found = set()
    for (node, kind), artifact in self.outputs.items():
      if kind == "Examples" and nodes.split_span(node)[1] is not None:
        span = property_of(artifact, "span")
        found.add(int(span) if span is not None else nodes.split_span(node)[1])
    return sorted(found)

  # --- what the run produced -------------------------------------------------------------

  @property
  def evaluation(self) -> Optional[metadata_store_pb2.Artifact]:
    return self.output(nodes.EVALUATOR, "ModelEvaluation")

  @property
  def metrics(self) -> Dict[str, float]:
    return metrics_of(self.evaluation) if self.evaluation is not None else {}

  @property
  def failed_thresholds(self) -> List[str]:
    text = custom(self.evaluation, FAILED_THRESHOLDS) if self.evaluation is not None else None
    return json.loads(text) if text else []

  def _verdict(self, node: str, kind: str) -> Optional[bool]:
    artifact = self.output(node, kind)
    return None if artifact is None else bool(custom(artifact, BLESSED))

  @property
  def blessed(self) -> Optional[bool]:
    """The Evaluator's verdict (None: it did not run — a gate stopped the run, or it failed)."""
    return self._verdict(nodes.EVALUATOR, "ModelBlessing")

  @property
  def infra_blessed(self) -> Optional[bool]:
    return self._verdict(nodes.INFRA_VALIDATOR, "InfraBlessing")

  @property
  def infra_message(self) -> str:
    artifact = self.output(nodes.INFRA_VALIDATOR, "InfraBlessing")
    return (custom(artifact, INFRA_MESSAGE) or "") if artifact is not None else ""

  @property
  def pushed(self) -> Optional[metadata_store_pb2.Artifact]:
    artifact = self.output(nodes.PUSHER, "PushedModel")
    return artifact if artifact is not None and custom(artifact, PUSHED) else None

  @property
  def pushed_version(self) -> Optional[str]:
    return str(custom(self.pushed, PUSHED_VERSION)) if self.pushed is not None else None

  @property
  def pushed_path(self) -> Optional[str]:
    return custom(self.pushed, PUSHED_DESTINATION) if self.pushed is not None else None

  @property
  def model_uri(self) -> Optional[str]:
    """The model this run trained (not the served baseline ServedBaseline also outputs)."""
    model = self.output(nodes.TRAINER, "Model")
    return model.uri if model is not None else None

  @property
  def hyperparameters(self) -> Optional[Dict[str, Any]]:
    """What the Tuner chose and the Trainer trained with (--tune), or None without a Tuner."""
    model = self.output(nodes.TRAINER, "Model")
    text = custom(model, HYPERPARAMETERS_PROPERTY) if model is not None else None
    try:
      return json.loads(text) if text else None
    except ValueError:
      return None

  @property
  def warm_start_from(self) -> Optional[str]:
    """The served version the Trainer started from (--warm-start), or None (from scratch)."""
    model = self.output(nodes.TRAINER, "Model")
    return (custom(model, WARM_START_PROPERTY) or None) if model is not None else None

  @property
  def served_version(self) -> Optional[str]:
    """The version that was served when the run started (what ServedBaseline found), or None."""
    model = self.output(nodes.SERVED_BASELINE, "Model")
    if model is None or not custom(model, gate_result.BASELINE_PRESENT):
      return None
    return custom(model, SERVED_VERSION) or None

  @property
  def compared_with_served(self) -> bool:
    """Whether the Evaluator compared the candidate with the served model (a present baseline)."""
    baseline = self.inputs.get((nodes.EVALUATOR, BASELINE_MODEL_KEY), [])
    return any(custom(a, gate_result.BASELINE_PRESENT) for a in baseline)

  @property
  def recipe(self) -> Optional[Dict[str, Any]]:
    """The training recipe the Trainer ran with (its custom_config's recipe JSON), or None."""
    trainer = self.step(nodes.TRAINER)
    text = trainer.property("custom_config") if trainer else None
    try:  # {"recipe": "<recipe JSON>"}
      return json.loads(json.loads(text)[RECIPE_KEY]) if text else None
    except (ValueError, KeyError, TypeError):
      return None

  @property
  def source(self) -> str:
    """Where the ExampleGen read its data: `input_base: DIR` or `generator_config: {...}`."""
    for step in self.steps:
      for key in SOURCE_PROPERTIES:
        value = step.property(key)
        if value:
          return f"{key}: {value}"
    return ""

  # --- how it ended -------------------------------------------------------------------------

  @functools.cached_property
  def _gate_failure(self) -> Optional[Tuple[str, List[str]]]:
    for step in self.steps:
      if step.execution.last_known_state == _STATE.FAILED:
        failure = gate_result.read_failure(step.execution)
        if failure:
          return failure
    return None

  @property
  def stopped_by(self) -> Optional[str]:
    """The gate that stopped the run before training, if one did."""
    return self._gate_failure[0] if self._gate_failure else None

  @property
  def anomalies(self) -> List[str]:
    return self._gate_failure[1] if self._gate_failure else []

  @property
  def status(self) -> str:
    """pushed | not pushed | stopped by <node> | failed in <node> | running."""
    failed = [s for s in self.steps if s.execution.last_known_state == _STATE.FAILED]
    if failed:
      node = failed[0].node
      gate = nodes.split_span(node)[0] in nodes.GATES
      return f"{'stopped by' if gate else 'failed in'} {node}"
    if self.pushed_version:
      return "pushed"
    if self.steps and all(s.execution.last_known_state in (_STATE.COMPLETE, _STATE.CACHED)
                          for s in self.steps):
      return "not pushed"
    return "running"

  def record(self) -> Dict[str, Any]:
    """The run as one JSON object (`mnist-tfx runs --json`)."""
    return {"run_id": self.run_id, "started": self.started, "pipeline": self.pipeline,
            "seconds": self.seconds, "metrics": self.metrics, "blessed": self.blessed,
            "pushed_version": self.pushed_version, "status": self.status,
            "hyperparameters": self.hyperparameters, "spans": self.spans,
            "warm_start_from": self.warm_start_from}


class MetadataView:
  """Read-only access to one metadata store: its runs, pushed models and lineage."""

  def __init__(self, connection_config: metadata_store_pb2.ConnectionConfig):
    self.store = mlmd.MetadataStore(connection_config)
    self._types = {t.id: t.name for t in self.store.get_artifact_types()}

  def artifact_type(self, artifact: metadata_store_pb2.Artifact) -> str:
    return self._types.get(artifact.type_id, "?")

  @functools.cached_property
  def _membership(self) -> Tuple[Dict[int, str], Dict[int, str]]:
    """(node id by execution id, pipeline name by execution id), from TFX's contexts.

    One query per pipeline and per node, not one per execution.
    """
    node_of, pipeline_of = {}, {}
    for context in self.store.get_contexts_by_type(PIPELINE_CONTEXT):
      for execution in self.store.get_executions_by_context(context.id):
        pipeline_of[execution.id] = context.name
    for context in self.store.get_contexts_by_type(NODE_CONTEXT):
      for execution in self.store.get_executions_by_context(context.id):
        node_of[execution.id] = context.name.split(".", 1)[-1]
    return node_of, pipeline_of

  def node(self, execution_id: int) -> str:
    return self._membership[0].get(execution_id, "?")

  # --- runs -----------------------------------------------------------------------------------

  def runs(self, pipeline: Optional[str] = None) -> List[Run]:
    """Every run in the store, newest first (optionally of one pipeline)."""
    found = []
    for context in self.store.get_contexts_by_type(RUN_CONTEXT):
      run = self._run(context)
      if run is not None and (pipeline is None or run.pipeline == pipeline):
        found.append(run)
    return sorted(found, key=lambda r: (r.started, r.run_id), reverse=True)

  def run(self, run_id: str) -> Run:
    """The run with this id (what a runner records for the run it started)."""
    context = self.store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    run = self._run(context) if context is not None else None
    if run is None:
      raise RunNotFound(f"run {run_id}: no such run in this metadata store (see `mnist-tfx runs`)")
    return run

  def latest(self) -> Run:
    runs = self.runs()
    if not runs:
      raise RunNotFound("no runs recorded in this metadata store")
    return runs[0]

  def _run(self, context: metadata_store_pb2.Context) -> Optional[Run]:
    executions = sorted(self.store.get_executions_by_context(context.id),
                        key=lambda e: (e.create_time_since_epoch, e.id))
    if not executions:
      return None
    node_of, pipeline_of = self._membership
    steps = [Step(node_of.get(e.id, "?"), e) for e in executions]
    events = self.store.get_events_by_execution_ids([e.id for e in executions])
    artifacts = {a.id: a for a in self.store.get_artifacts_by_id(sorted({ev.artifact_id for ev in events}))}
    outputs: Dict[Tuple[str, str], metadata_store_pb2.Artifact] = {}
    inputs: Dict[Tuple[str, str], List[metadata_store_pb2.Artifact]] = {}
    for ev in sorted(events, key=lambda ev: (ev.execution_id, ev.artifact_id)):
      artifact = artifacts.get(ev.artifact_id)
      if artifact is None:
        continue
      node = node_of.get(ev.execution_id, "?")
      if ev.type in _OUTPUTS:
        outputs.setdefault((node, self.artifact_type(artifact)), artifact)
      elif ev.type in _INPUTS:
        key = ev.path.steps[0].key if ev.path.steps else ""
        inputs.setdefault((node, key), []).append(artifact)
    return Run(run_id=context.name, pipeline=pipeline_of.get(executions[0].id, "?"),
               started=context.create_time_since_epoch / 1000, steps=steps, outputs=outputs,
               inputs=inputs)

  # --- pushed models and lineage ----------------------------------------------------------------

  def pushed_model(self, path_or_version: str) -> metadata_store_pb2.Artifact:
    """The newest PushedModel artefact whose destination is the path, or whose version is it."""
    wanted_path = os.path.abspath(path_or_version).rstrip("/")
    matches = []
    for artifact in self.store.get_artifacts_by_type("PushedModel"):
      if not custom(artifact, PUSHED):
        continue
      destination = str(custom(artifact, PUSHED_DESTINATION) or "").rstrip("/")
      version = str(custom(artifact, PUSHED_VERSION) or "")
      if path_or_version == version or destination in (wanted_path, path_or_version.rstrip("/")):
        matches.append(artifact)
    if not matches:
      raise RunNotFound(f"{path_or_version}: no pushed model with this path or version is recorded")
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

  def describe(self, artifact: metadata_store_pb2.Artifact) -> str:
    """`Kind #id` and what the artefact says of itself (version, blessing, metrics)."""
    kind = self.artifact_type(artifact)
    extra = ""
    if kind == "PushedModel":
      extra = f" version {custom(artifact, PUSHED_VERSION)}"
    elif kind in ("ModelBlessing", "InfraBlessing"):
      extra = f" blessed={bool(custom(artifact, BLESSED))}"
    elif kind == "Examples" and property_of(artifact, "span") is not None:
      extra = f" span {property_of(artifact, 'span')}"  # TFX's ExampleGen records it
    elif kind == "ModelEvaluation":
      extra = "".join(f" {k}={v:.4g}" for k, v in sorted(metrics_of(artifact).items())
                      if isinstance(v, float))
    return f"{kind} #{artifact.id}{extra}"

  def _walk(self, artifact, depth: int, seen: Set[int], lines: List[str]) -> None:
    pad = "  " * depth
    if artifact.id in seen:
      lines.append(f"{pad}{self.artifact_type(artifact)} #{artifact.id} (shown above)")
      return
    seen.add(artifact.id)
    lines.append(f"{pad}{self.describe(artifact)}  {artifact.uri}")
    execution = self._producer(artifact.id)
    if execution is None:
      return
    sources = [f"{k}={property_of(execution, k)}" for k in SOURCE_PROPERTIES
               if k in execution.properties or k in execution.custom_properties]
    events = self.store.get_events_by_execution_ids([execution.id])
    # What else the execution wrote beside this artefact: the Evaluator's ModelEvaluation
    # (with its metrics) next to the blessing, the statistics beside a model, ...
    siblings = self.store.get_artifacts_by_id(
        sorted({ev.artifact_id for ev in events if ev.type in _OUTPUTS} - {artifact.id}))
    also = [self.describe(a) for a in siblings]
    lines.append(f"{pad}  <- {self.node(execution.id)} (execution #{execution.id}"
                 f"{', ' + ', '.join(sources) if sources else ''})"
                 f"{'; also wrote ' + ', '.join(also) if also else ''}")
    parents = self.store.get_artifacts_by_id(sorted({ev.artifact_id for ev in events if ev.type in _INPUTS}))
    for parent in sorted(parents, key=lambda a: (self.artifact_type(a), a.id)):
      self._walk(parent, depth + 2, seen, lines)
