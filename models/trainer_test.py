"""The shared Trainer skeleton refuses to guess a recipe."""

import pytest

from models import trainer
from models.mnist import recipes


def test_missing_recipe_is_an_error_not_the_default_model():
  for custom_config in (None, {}, {"recipe": ""}):
    with pytest.raises(ValueError, match="custom_config has no 'recipe'"):
      trainer.read_recipe(custom_config, recipes.TrainingRecipe)


def test_recipe_is_read_from_custom_config():
  recipe = recipes.default_recipe("cnn")
  assert trainer.read_recipe({"recipe": recipe.to_json()}, recipes.TrainingRecipe) == recipe
