"""The regression training recipe: a plain dataclass, no TensorFlow (see models/mnist/recipes.py)."""

import dataclasses

from models.recipe import JsonRecipe


@dataclasses.dataclass(frozen=True)
class TrainingRecipe(JsonRecipe):
  """Plain SGD converges to the exact least-squares line in a few hundred steps."""
  model: str = "linear"
  epochs: int = 30
  batch_size: int = 32
  learning_rate: float = 0.5
  train_steps: int = 0  # > 0 overrides epochs

  def describe(self) -> str:
    return f"SGD lr {self.learning_rate}, batch {self.batch_size}, {self.length()}"


MODEL_NAMES = ("linear",)
