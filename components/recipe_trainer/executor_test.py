"""RecipeTrainer's run-time epochs / train_steps reach the recipe the run_fn reads.

The exec_properties are the component's own (RecipeTrainer built as pipelines/pipeline.py
builds it), with the values a run passes: None locally, ints from a Kubeflow run
(runners/kubeflow_v2._runtime_parameters: compiled defaults, train_steps 0 for a recipe
that trains by epochs). The recipe is read back as the Trainer reads it.
"""

import dataclasses
import re

import pytest
from tfx import types
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from components.recipe_trainer import RECIPE_KEY
from components.recipe_trainer.component import RecipeTrainer
from components.recipe_trainer.executor import apply_overrides
from models.mnist import recipes

COMPILED = dataclasses.replace(recipes.default_recipe("softmax"), epochs=10, train_steps=500)


def _exec_properties(recipe=COMPILED, **run_values):
  trainer = RecipeTrainer(
      run_fn="models.mnist.model.run_fn",
      examples=types.Channel(type=standard_artifacts.Examples),
      transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
      schema=types.Channel(type=standard_artifacts.Schema),
      custom_config={RECIPE_KEY: recipe.to_json()})
  return {**trainer.exec_properties, **run_values}


def _recipe(exec_properties):
  """What models/trainer.read_recipe gets: fn_args.custom_config is the parsed JSON."""
  custom_config = json_utils.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])
  return recipes.TrainingRecipe.from_json(custom_config[RECIPE_KEY])


def test_the_compiled_recipe_stands_when_the_run_sets_nothing():
  properties = _exec_properties(epochs=None, train_steps=None)
  assert apply_overrides(properties) is properties
  assert _recipe(properties) == COMPILED


def test_epochs_alone_trains_by_epochs_not_the_compiled_steps():
  recipe = _recipe(apply_overrides(_exec_properties(epochs=3)))
  assert (recipe.epochs, recipe.train_steps) == (3, 0)
  assert recipe.length() == "3 epochs"
  assert recipe == dataclasses.replace(COMPILED, epochs=3, train_steps=0)  # nothing else moved


def test_a_kubeflow_run_of_an_epoch_recipe_passes_train_steps_0():
  by_epochs = dataclasses.replace(COMPILED, train_steps=0)
  same = apply_overrides(_exec_properties(by_epochs, epochs=10, train_steps=0))
  assert _recipe(same) == by_epochs
  changed = apply_overrides(_exec_properties(by_epochs, epochs=4, train_steps=0))
  assert _recipe(changed).length() == "4 epochs"


def test_train_steps_given_wins_and_keeps_the_epochs():
  recipe = _recipe(apply_overrides(_exec_properties(train_steps=120)))
  assert (recipe.epochs, recipe.train_steps) == (10, 120)
  both = _recipe(apply_overrides(_exec_properties(epochs=2, train_steps=80)))
  assert (both.epochs, both.train_steps, both.length()) == (2, 80, "80 steps")


def test_a_whole_double_from_a_kfp_value_is_the_integer():
  assert _recipe(apply_overrides(_exec_properties(epochs=6.0))).epochs == 6


@pytest.mark.parametrize("name, value", [
    ("epochs", 0), ("epochs", -2), ("train_steps", -1), ("epochs", 2.5), ("epochs", "3"),
    ("epochs", True), ("train_steps", 1e3 + 0.5)])
def test_bad_values_are_refused_naming_the_field(name, value):
  with pytest.raises(ValueError, match=re.escape(
      f"recipe override {name} must be a positive integer, got {value!r}")):
    apply_overrides(_exec_properties(**{name: value}))


def test_an_override_without_a_recipe_to_change_is_refused():
  properties = _exec_properties(epochs=3)
  properties[standard_component_specs.CUSTOM_CONFIG_KEY] = json_utils.dumps({"other": 1})
  with pytest.raises(ValueError, match="custom_config has no 'recipe'"):
    apply_overrides(properties)
