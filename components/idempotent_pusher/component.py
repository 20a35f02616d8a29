"""IdempotentPusher: TFX's Pusher, made safe for a directory TF Serving is polling.

Same inputs and artefacts as `tfx.components.Pusher` (model, model_blessing,
infra_blessing, push_destination), plus the training-data `statistics`, which
each pushed version carries for the next run's drift check.
"""

from typing import Optional

from tfx import types
from tfx.components import Pusher
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter

from components.idempotent_pusher import executor


class IdempotentPusherSpec(standard_component_specs.PusherSpec):
  INPUTS = {
      **standard_component_specs.PusherSpec.INPUTS,
      "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics, optional=True),
  }


class IdempotentPusher(Pusher):
  """Pushes whole locally, saved_model.pb last on an object store; never republishes the
  served model; carries the training statistics."""

  SPEC_CLASS = IdempotentPusherSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
               push_destination: pusher_pb2.PushDestination,
               infra_blessing: Optional[types.BaseChannel] = None,
               statistics: Optional[types.BaseChannel] = None):
    base_component.BaseComponent.__init__(self, spec=IdempotentPusherSpec(
        model=model, model_blessing=model_blessing, infra_blessing=infra_blessing,
        statistics=statistics, push_destination=push_destination,
        pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
