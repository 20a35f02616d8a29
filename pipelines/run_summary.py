"""What a finished run produced, as the local runner prints it and `--summary-json` writes it.

A projection of the run view (pipelines/run_view.py): MLMD is the pipeline's record
of truth (cached executions included), so the summary is built from the run the
runner started — found by its run id, never "the newest run of this pipeline", which
with a shared `--metadata mysql://…` may be another machine's. Per-component seconds
are the executions' MLMD timestamps (registered → published). No TensorFlow or TFMA.
"""

import dataclasses
from typing import Any, Dict, List, Optional

from pipelines import run_view


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
  total_seconds: float = 0.0  # the runner's wall clock, set by the runner
  failed_thresholds: List[str] = dataclasses.field(default_factory=list)
  details: Dict[str, Any] = dataclasses.field(default_factory=dict)  # pipeline-specific checks
  hyperparameters: Optional[Dict[str, Any]] = None  # what the Tuner chose (--tune), else None
  spans: List[int] = dataclasses.field(default_factory=list)  # the span-<N>/ folders read
  warm_start_from: Optional[str] = None  # the served version the Trainer started from


def summarise(run: run_view.Run) -> RunSummary:
  return RunSummary(
      pipeline=run.pipeline, run_id=run.run_id, metrics=run.metrics, blessed=run.blessed,
      infra_blessed=run.infra_blessed, infra_message=run.infra_message,
      pushed_path=run.pushed_path, stopped_by=run.stopped_by, anomalies=run.anomalies,
      model_uri=run.model_uri, component_seconds={s.node: s.seconds for s in run.steps},
      cached_components=[s.node for s in run.steps if s.cached],
      failed_thresholds=run.failed_thresholds, hyperparameters=run.hyperparameters,
      spans=run.spans, warm_start_from=run.warm_start_from)


def of_run(connection_config, run_id: str) -> RunSummary:
  """The summary of run `run_id` (run_view.RunNotFound if the store has no such run)."""
  return summarise(run_view.MetadataView(connection_config).run(run_id))
