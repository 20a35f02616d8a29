"""ServedBaseline: the model being served, and its training statistics, as pipeline artefacts.

The no-regression gate compares a candidate with a baseline, and the drift gate
compares new training data with the data behind that baseline. The baseline is
the model TF Serving is serving now — the highest version under the push
destination — which is arguably the right baseline anyway, and which needs no
Resolver node: Kubeflow's open-source backend does not run resolver nodes, this
component runs anywhere. When nothing is served yet, both outputs are marked
`baseline_present = 0` and the consumers skip the comparison.

`served_version` is the version to output and the cache key: the local runner
passes the version it sees before the run, so a cached execution is reused only
while the same version is served; a second instance, `WarmStartBase`, is pinned
to the version a warm start begins from (runners/local.warm_start_plan). Empty
(a compiled Kubeflow spec): whatever is served when the task runs, which is not
cached.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.served_baseline import executor


class ServedBaselineSpec(ComponentSpec):
  PARAMETERS = {
      "serving_dir": ExecutionParameter(type=str),  # the push destination: <base>/<version>/
      "served_version": ExecutionParameter(type=str),  # cache key; "" when nothing is served
  }
  INPUTS = {}
  OUTPUTS = {
      "model": ChannelParameter(type=standard_artifacts.Model),
      "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
  }


class ServedBaseline(base_component.BaseComponent):
  SPEC_CLASS = ServedBaselineSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, serving_dir: str, served_version: str = ""):
    super().__init__(spec=ServedBaselineSpec(
        serving_dir=serving_dir, served_version=served_version,
        model=types.Channel(type=standard_artifacts.Model),
        statistics=types.Channel(type=standard_artifacts.ExampleStatistics)))
