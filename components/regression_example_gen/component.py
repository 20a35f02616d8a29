"""RegressionExampleGen: synthetic y = 2x + 1 examples, generated in Beam."""

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.regression_example_gen import executor, generator


class RegressionExampleGenSpec(ComponentSpec):
  PARAMETERS = {"generator_config": ExecutionParameter(type=str)}  # GeneratorConfig JSON
  INPUTS = {}
  OUTPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}


class RegressionExampleGen(base_beam_component.BaseBeamComponent):
  """Outputs `train`/`eval`/`test` splits of tf.Example with float `x` and `y`.

  The config is an execution property, so changing N, σ, seed or the split
  sizes invalidates the cache and an identical config reuses it.
  """

  SPEC_CLASS = RegressionExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, config: generator.GeneratorConfig):
    super().__init__(spec=RegressionExampleGenSpec(
        generator_config=config.to_json(),
        examples=types.Channel(type=standard_artifacts.Examples)))
