"""Executor of RecipeTrainer: epochs / train_steps set for this run go into the recipe."""

import json
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.types import standard_component_specs
from tfx.utils import json_utils

from components.recipe_trainer import OVERRIDES, RECIPE_KEY


def apply_overrides(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """exec_properties with positive epochs / train_steps merged into custom_config's recipe."""
  overrides = {k: int(exec_properties[k]) for k in OVERRIDES if exec_properties.get(k)}
  bad = {k: v for k, v in overrides.items() if v <= 0}
  if bad:
    raise ValueError(f"recipe overrides must be positive integers, got {bad}")
  if not overrides:
    return exec_properties
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
  recipe = json.loads(custom_config[RECIPE_KEY])
  recipe.update(overrides)
  if "train_steps" not in overrides and "epochs" in overrides:
    recipe["train_steps"] = 0  # a run-time epoch count means epochs, not the compiled steps
  logging.info("Recipe overridden for this run: %s", overrides)
  custom_config[RECIPE_KEY] = json.dumps(recipe, sort_keys=True)
  return {**exec_properties,
          standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom_config)}


class Executor(trainer_executor.GenericExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    super().Do(input_dict, output_dict, apply_overrides(exec_properties))
