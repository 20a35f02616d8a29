"""Executor of RecipeTrainer: epochs / train_steps set for this run go into the recipe."""

import json
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.types import standard_component_specs
from tfx.utils import io_utils, json_utils, path_utils

from components import gate_result, pushed_model
from components.recipe_trainer import (BASE_VERSION_KEY, HYPERPARAMETERS_PROPERTY, OVERRIDES,
                                       RECIPE_KEY, WARM_START_PROPERTY)
from components.served_baseline import SERVED_VERSION


def _run_value(name: str, value: Any) -> Optional[int]:
  """The run's value of a recipe field, None where the run leaves the recipe's own.

  None is unset (the local runner). train_steps 0 is unset too: it is the compiled
  default of a recipe that trains by epochs (runners/kubeflow_v2._runtime_parameters).
  A KFP parameter is a protobuf Value, a double: a whole float is taken as the integer.
  """
  if value is None or (name == "train_steps" and value == 0 and not isinstance(value, bool)):
    return None
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise ValueError(f"recipe override {name} must be a positive integer, got {value!r}")
  return value


def apply_overrides(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """exec_properties with the run's epochs / train_steps merged into custom_config's recipe."""
  overrides = {k: v for k, v in ((k, _run_value(k, exec_properties.get(k))) for k in OVERRIDES)
               if v is not None}
  if not overrides:
    return exec_properties
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
  if RECIPE_KEY not in custom_config:
    raise ValueError(f"recipe overrides {overrides} given, but custom_config has no {RECIPE_KEY!r}")
  recipe = json.loads(custom_config[RECIPE_KEY])
  recipe.update(overrides)
  if "train_steps" not in overrides and "epochs" in overrides:
    recipe["train_steps"] = 0  # a run-time epoch count means epochs, not the compiled steps
  logging.info("Recipe overridden for this run: %s", overrides)
  custom_config[RECIPE_KEY] = json.dumps(recipe, sort_keys=True)
  return {**exec_properties,
          standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom_config)}


def chosen_hyperparameters(input_dict: Dict[str, List[types.Artifact]]) -> Optional[Dict[str, Any]]:
  """The values in the Tuner's best_hyperparameters artefact, or None without a Tuner."""
  artifacts = input_dict.get(standard_component_specs.HYPERPARAMETERS_KEY) or []
  if not artifacts:
    return None
  text = io_utils.read_string_file(io_utils.get_only_uri_in_dir(artifacts[0].uri))
  config = json.loads(text)
  return dict(config.get("values", config))


def with_base_version(input_dict: Dict[str, List[types.Artifact]],
                      exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """exec_properties with the served version behind `base_model` in custom_config, for the
  run_fn's warm start (fn_args carries only the base model's path)."""
  artifacts = input_dict.get(standard_component_specs.BASE_MODEL_KEY) or []
  if not artifacts:
    return exec_properties
  present = gate_result.baseline_present(artifacts[0])
  version = artifacts[0].get_string_custom_property(SERVED_VERSION) if present else ""
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
  custom_config[BASE_VERSION_KEY] = version or None
  return {**exec_properties,
          standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom_config)}


def training_record(model: types.Artifact) -> Dict[str, Any]:
  """What the run_fn recorded of its training (models/warm_start.py), {} if nothing."""
  return pushed_model.training_record(path_utils.serving_model_path(model.uri)) or {}


class Executor(trainer_executor.GenericExecutor):
  """TFX's Trainer executor, plus: the run's epochs/train_steps in the recipe, the served
  version behind `base_model` for the warm start, and on the Model artefact the Tuner's chosen
  values (`hyperparameters`, JSON) and the version it warm-started from (`warm_start_from`).

  Args (Do): input_dict, output_dict and exec_properties as TFX's Trainer executor takes them.
  """

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    super().Do(input_dict, output_dict,
               with_base_version(input_dict, apply_overrides(exec_properties)))
    chosen = chosen_hyperparameters(input_dict)
    for model in output_dict[standard_component_specs.MODEL_KEY]:
      if chosen is not None:
        model.set_string_custom_property(HYPERPARAMETERS_PROPERTY, json.dumps(chosen, sort_keys=True))
      record = training_record(model)
      if record.get("warm_start_from") is not None:
        model.set_string_custom_property(WARM_START_PROPERTY, str(record["warm_start_from"]))
      if "onednn" in record:  # the math library it trained with, per CPU kind
        model.set_string_custom_property("onednn", "on" if record["onednn"] else "off")
