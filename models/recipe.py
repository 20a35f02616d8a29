"""Training recipes travel to the Trainer as JSON in custom_config."""

import dataclasses
import json
from typing import Type, TypeVar

from components.recipe_trainer import RECIPE_KEY  # noqa: F401  (the Trainer's custom_config key)

T = TypeVar("T", bound="JsonRecipe")


class JsonRecipe:
  """Mixin for frozen dataclass recipes with `epochs` and `train_steps` (> 0 overrides epochs)."""

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls: Type[T], text: str) -> T:
    return cls(**json.loads(text))

  def length(self) -> str:
    """'N steps' or 'N epochs', whichever the recipe trains for."""
    steps = getattr(self, "train_steps", 0)
    return f"{steps} steps" if steps > 0 else f"{getattr(self, 'epochs')} epochs"
