"""MNIST training recipes and blessing bounds: plain dataclasses, no TensorFlow.

The CLI validates and describes a run with these before TensorFlow loads; the
Trainer receives the recipe as JSON (models/recipe.py) and builds the model.
"""

import dataclasses

from models.recipe import JsonRecipe
from schemas.mnist import contract

TRAIN_EXAMPLES = contract.TRAIN_EXAMPLES
MODEL_NAMES = ("softmax", "mlp", "cnn")


@dataclasses.dataclass(frozen=True)
class TrainingRecipe(JsonRecipe):
  """How to train one model; travels to the Trainer as JSON in custom_config."""
  model: str = "softmax"
  epochs: int = 10
  batch_size: int = 100
  learning_rate: float = 0.003
  train_steps: int = 0  # > 0 overrides epochs
  schedule: str = "constant"  # or "cosine": decay to 0 over the whole run

  def total_steps(self) -> int:
    if self.train_steps > 0:
      return self.train_steps
    return self.epochs * -(-TRAIN_EXAMPLES // self.batch_size)

  def describe(self) -> str:
    decay = ", cosine decay" if self.schedule == "cosine" else ""
    return f"Adam lr {self.learning_rate}{decay}, batch {self.batch_size}, {self.length()}"


# Lower bound on test accuracy for the Evaluator to bless each model.
ACCURACY_BOUNDS = {"softmax": 0.92, "mlp": 0.975, "cnn": 0.992}

# Recipes measured on full MNIST (see README): the fastest that clear the bound.
DEFAULT_RECIPES = {
    "softmax": TrainingRecipe(model="softmax", epochs=10, batch_size=100, learning_rate=0.003),
    "mlp": TrainingRecipe(model="mlp", epochs=6, batch_size=100, learning_rate=0.003,
                          schedule="cosine"),
    "cnn": TrainingRecipe(model="cnn", epochs=3, batch_size=128, learning_rate=0.002,
                          schedule="cosine"),
}


def default_recipe(model_name: str) -> TrainingRecipe:
  return DEFAULT_RECIPES[model_name]
