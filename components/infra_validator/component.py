"""ServingInfraValidator: TFX's InfraValidator contract, with the project's model server.

TFX's InfraValidator starts TF Serving's Docker image, loads the candidate, sends
canary requests and writes an `InfraBlessing` that the Pusher requires. There is
no Docker engine here (nor in many CI runners), so this component loads the
candidate into the project's TF Serving-compatible server (serving/model_server/) on
loopback, in the executor's own process, and talks to it over TF Serving's gRPC
API exactly as InfraValidator talks to TF Serving: ModelService.GetModelStatus
until AVAILABLE (which includes replaying the model's warmup requests), then the
warmup records as canary requests. Same artefact, same Pusher behaviour.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.infra_validator import executor


class ServingInfraValidatorSpec(ComponentSpec):
  PARAMETERS = {
      "serving_model_name": ExecutionParameter(type=str),  # the name clients will call
      "timeout_seconds": ExecutionParameter(type=int),  # load + warmup must finish within it
  }
  INPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}
  OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.InfraBlessing)}


class ServingInfraValidator(base_component.BaseComponent):
  """Blesses a model only if the model server loads it and answers its canary requests."""

  SPEC_CLASS = ServingInfraValidatorSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, model: types.BaseChannel, serving_model_name: str, timeout_seconds: int = 120):
    super().__init__(spec=ServingInfraValidatorSpec(
        model=model, serving_model_name=serving_model_name, timeout_seconds=timeout_seconds,
        blessing=types.Channel(type=standard_artifacts.InfraBlessing)))
