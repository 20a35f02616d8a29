"""RecipeTrainer: TFX's Trainer whose recipe length can be set when the run starts.

The training recipe travels as JSON in `custom_config`, which a compiled
Kubeflow pipeline cannot parameterise (TFX serialises the dict at compile time)
and whose TrainArgs proto does not take a RuntimeParameter in TFX 1.16. So the
recipe's length — `epochs`, `train_steps` — are also plain integer execution
properties, which can be RuntimeParameters; the executor folds them into the
recipe before the run_fn sees it. Unset (the local runner's default) means the
recipe's own values.
"""

from typing import Any, Dict, Optional, Union

from tfx import types
from tfx.components import Trainer
from tfx.dsl.components.base import base_component, executor_spec
from tfx.orchestration import data_types
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import json_utils

from components.recipe_trainer import OVERRIDES, executor

IntOrParameter = Optional[Union[int, data_types.RuntimeParameter]]


class RecipeTrainerSpec(standard_component_specs.TrainerSpec):
  PARAMETERS = {
      **standard_component_specs.TrainerSpec.PARAMETERS,
      **{name: ExecutionParameter(type=int, optional=True) for name in OVERRIDES},
  }


class RecipeTrainer(Trainer):
  """Trainer(run_fn=..., examples, transform_graph, schema, custom_config[, hyperparameters,
  base_model]) + epochs/train_steps."""

  SPEC_CLASS = RecipeTrainerSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, run_fn: str, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               schema: types.BaseChannel, custom_config: Dict[str, Any],
               hyperparameters: Optional[types.BaseChannel] = None,
               base_model: Optional[types.BaseChannel] = None,
               epochs: IntOrParameter = None, train_steps: IntOrParameter = None):
    base_component.BaseComponent.__init__(self, spec=RecipeTrainerSpec(
        run_fn=run_fn, examples=examples, transform_graph=transform_graph, schema=schema,
        hyperparameters=hyperparameters, base_model=base_model,
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config=json_utils.dumps(custom_config), epochs=epochs, train_steps=train_steps,
        model=types.Channel(type=standard_artifacts.Model),
        model_run=types.Channel(type=standard_artifacts.ModelRun)))
