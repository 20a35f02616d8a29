"""BaselineEvaluator: TFX's Evaluator, comparing with the served model when there is one.

Its `baseline_model` comes from ServedBaseline, which always outputs an artefact
(Kubeflow's open-source backend cannot pass an empty one) and marks it absent
when nothing is served yet. The executor then evaluates without a baseline —
what TFX's Evaluator does when a Resolver finds no blessed model: change
thresholds are skipped, value thresholds still apply.
"""

from tfx.components import Evaluator
from tfx.dsl.components.base import executor_spec

from components.baseline_evaluator import executor


class BaselineEvaluator(Evaluator):
  """Same arguments and artefacts as `tfx.components.Evaluator`."""

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
