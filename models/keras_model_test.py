"""FastTracingModel trains exactly like keras.Model, without AutoGraph conversion."""

import numpy as np
import tf_keras as keras
from tensorflow.python.autograph.impl import api as autograph_api

from models.keras_model import FastTracingModel


def _train(model_class, x, y):
  keras.utils.set_random_seed(0)
  inputs = keras.Input(shape=(784,))
  hidden = keras.layers.Dense(32, activation="relu")(inputs)
  hidden = keras.layers.Dropout(0.5)(hidden)
  model = model_class(inputs, keras.layers.Dense(10)(hidden))
  model.compile(optimizer=keras.optimizers.Adam(0.01),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  history = model.fit(x, y, batch_size=100, epochs=2, shuffle=False, verbose=0,
                      validation_data=(x[:500], y[:500]))
  return model, history.history


def test_same_weights_and_metrics_as_keras_model(mnist_small, monkeypatch):
  train_x, train_y, _, _ = mnist_small
  x, y = train_x / 255.0, train_y
  reference, reference_history = _train(keras.Model, x, y)

  converted = []
  original = autograph_api._convert_actual  # pylint: disable=protected-access
  monkeypatch.setattr(autograph_api, "_convert_actual",
                      lambda entity, *a, **k: converted.append(entity) or original(entity, *a, **k))
  fast, fast_history = _train(FastTracingModel, x, y)

  assert isinstance(fast, FastTracingModel)
  for got, want in zip(fast.get_weights(), reference.get_weights()):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  for key in reference_history:
    np.testing.assert_allclose(fast_history[key], reference_history[key], rtol=1e-5)
  # Keras's thin fit wrappers are still converted; the step, layers, loss and optimizer are not.
  names = {getattr(f, "__qualname__", repr(f)) for f in converted}
  assert "Model.make_train_function.<locals>.train_function" in names
  heavy = {"Model.train_step", "Model.test_step", "Layer.__call__", "Dense.call", "Dropout.call",
           "_BaseOptimizer.apply_gradients", "MetricsContainer.update_state"}
  assert not names & heavy, names & heavy
