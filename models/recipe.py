"""JSON round-trip for training recipes: they travel to the Trainer in custom_config."""

import dataclasses
import json
from typing import Type, TypeVar

T = TypeVar("T", bound="JsonRecipe")


class JsonRecipe:
  """Mixin for frozen dataclass recipes."""

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls: Type[T], text: str) -> T:
    return cls(**json.loads(text))
