"""IdempotentPusher: TFX's Pusher that keeps one version per distinct SavedModel."""

from tfx.components import Pusher
from tfx.dsl.components.base import executor_spec

from components.idempotent_pusher import executor


class IdempotentPusher(Pusher):
  """Same spec and arguments as `tfx.components.Pusher`."""

  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
