"""Warm start reads the served SavedModel's checkpoint back into a new model, or refuses."""

import numpy as np
import tensorflow as tf

from models import warm_start
from models.mnist import model as mnist_model
from models.mnist import recipes


class _Tracked(tf.Module):
  """Tracks a model's variables as the serving module does (serving_export.ServingModule)."""

  def __init__(self, model):
    super().__init__()
    self._variables = list(model.variables)


def _served(tmp_path, recipe, data="span 1"):
  model = mnist_model.build_model(recipe)
  for variable in model.variables:  # not the initial values, so a copy is visible
    variable.assign(tf.random.uniform(variable.shape, seed=1))
  path = str(tmp_path / "served")
  tf.saved_model.save(_Tracked(model), path)
  warm_start.write_record(path, recipe.model, model, data, None)
  return model, path


def test_the_same_model_starts_from_the_served_weights(tmp_path):
  recipe = recipes.default_recipe("mlp")
  served, path = _served(tmp_path, recipe)
  fresh = mnist_model.build_model(recipe)
  version, why = warm_start.from_base_model(fresh, "mlp", path, "7")
  assert version == "7" and why.startswith("warm start from served version 7")
  for a, b in zip(fresh.get_weights(), served.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert warm_start.read_record(path)["data"] == "span 1"


def test_another_model_or_other_shapes_start_cold_and_say_why(tmp_path):
  _, path = _served(tmp_path, recipes.default_recipe("mlp"))
  softmax = mnist_model.build_model(recipes.default_recipe("softmax"))
  before = [w.copy() for w in softmax.get_weights()]
  version, why = warm_start.from_base_model(softmax, "softmax", path, "7")
  assert version is None and why == "cold start: served version 7 is a mlp model, not softmax"
  wider = mnist_model.build_model(recipes.tuned(recipes.default_recipe("mlp"), {"width": 256}))
  version, why = warm_start.from_base_model(wider, "mlp", path, "7")
  assert version is None and "other layer shapes" in why
  assert all(np.array_equal(a, b) for a, b in zip(before, softmax.get_weights()))
  assert warm_start.from_base_model(softmax, "softmax", str(tmp_path / "none"), None)[0] is None
