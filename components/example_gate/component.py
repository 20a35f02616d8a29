"""ExampleGate: ExampleValidator that stops the run, with drift against the served model's data.

TFX 1.16's ExampleValidator records anomalies but the pipeline goes on to train
on the bad data and may push the result. This gate validates every split's
statistics against the curated schema as ExampleValidator does (TFDV, same
`Split-*/SchemaDiff.pb` output), also compares the training split with the
statistics of the data behind the model being served (TFDV's drift comparators,
configured in the schema), and fails its execution when anything is wrong.
Transform and Trainer depend on it, so on any orchestrator (LocalDagRunner,
Kubeflow) nothing downstream runs: nothing is trained, nothing is pushed. The
failed execution's result in ML Metadata carries one line per anomaly.
"""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from components.example_gate import executor


class ExampleGateSpec(ComponentSpec):
  PARAMETERS = {}
  INPUTS = {
      "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
      "schema": ChannelParameter(type=standard_artifacts.Schema),
      # Statistics of the data the served model was trained on (components/served_baseline).
      "baseline_statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics,
                                              optional=True),
  }
  OUTPUTS = {"anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class ExampleGate(base_component.BaseComponent):
  """Validates statistics against the schema (and drift); fails the run on any anomaly."""

  SPEC_CLASS = ExampleGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel,
               baseline_statistics: Optional[types.BaseChannel] = None):
    super().__init__(spec=ExampleGateSpec(
        statistics=statistics, schema=schema, baseline_statistics=baseline_statistics,
        anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies)))
