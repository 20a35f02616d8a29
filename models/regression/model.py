"""Trainer module for the regression tutorial: one Dense unit learns y = 2x + 1.

No ReLU on the output (the tutorial's pitfall: it clips negative predictions
and can kill the gradient). Exports `serving_default` (serialized
tf.Example with `x`) and `predict_x` (a plain float tensor `x`, for JSON
clients); both return `predictions` [N] (names in schemas/regression/contract.py).
A `regression` signature is shaped for TF Serving's Regress API (`inputs` →
`outputs` [N]).
"""

from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from models import serving_export, trainer
from serving import warmup
from models.keras_model import FastTracingModel
from models.regression import metrics
from models.regression.recipes import MODEL_NAMES, TrainingRecipe
from schemas import signatures
from schemas.regression import contract

X_XF = contract.transformed_name(contract.X_KEY)
Y_XF = contract.transformed_name(contract.Y_KEY)
SHUFFLE_BUFFER = 100_000  # the whole train split up to 125,000 examples


def build_model(recipe: TrainingRecipe) -> keras.Model:
  if recipe.model not in MODEL_NAMES:
    raise ValueError(f"unknown model '{recipe.model}', expected one of {list(MODEL_NAMES)}")
  inputs = keras.Input(shape=(1,), name=X_XF)
  outputs = keras.layers.Dense(1, name="linear")(inputs)  # y = w x + b, no activation
  model = FastTracingModel(inputs, outputs, name="linear")
  model.compile(optimizer=keras.optimizers.SGD(learning_rate=recipe.learning_rate),
                loss="mse", metrics=["mae", metrics.WithinTolerance()])
  return model


def weights(model: keras.Model):
  """(w, b) of the linear unit."""
  kernel, bias = model.get_layer("linear").get_weights()
  return float(kernel.ravel()[0]), float(bias.ravel()[0])


class _ServingModule(serving_export.ServingModule):
  """serving_default: serialized tf.Examples; predict_x: a float vector x. Both give predictions."""

  def __init__(self, model: keras.Model, tf_transform_output: tft.TFTransformOutput):
    super().__init__(model, tf_transform_output)
    spec = tf_transform_output.raw_feature_spec()
    spec.pop(contract.Y_KEY)
    self._feature_spec = spec

  def _predict(self, raw):
    transformed = self.transform(raw)
    return {contract.OUTPUT_PREDICTIONS: tf.reshape(self.model({X_XF: transformed[X_XF]}), [-1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.PREDICT_INPUT)],
               autograph=False)  # no Python control flow; AutoGraph cost ~2.5 s
  def serve_examples(self, examples):
    return self._predict(tf.io.parse_example(examples, self._feature_spec))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name=contract.PREDICT_X_INPUT)],
               autograph=False)
  def serve_x(self, x):
    return self._predict({contract.X_KEY: tf.reshape(x, [-1, 1])})

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=signatures.REGRESS_INPUTS)],
               autograph=False)
  def regress_examples(self, inputs):
    """TF Serving's Regress convention: one float output `outputs` [N]."""
    predictions = self._predict(tf.io.parse_example(inputs, self._feature_spec))
    return {signatures.REGRESS_OUTPUTS: predictions[contract.OUTPUT_PREDICTIONS]}


def export_serving_model(model, tf_transform_output, export_dir: str) -> None:
  module = _ServingModule(model, tf_transform_output)
  tf.saved_model.save(module, export_dir, signatures={
      contract.PREDICT_SIGNATURE: module.serve_examples,
      contract.PREDICT_X_SIGNATURE: module.serve_x,
      contract.REGRESS_SIGNATURE: module.regress_examples})


def warmup_requests(serialized: Sequence[bytes]):
  """Every signature on real eval examples, sent without `y`."""
  examples, xs = [], []
  for record in serialized:
    example = tf.train.Example.FromString(record)
    xs.append(example.features.feature[contract.X_KEY].float_list.value[0])
    if contract.Y_KEY in example.features.feature:
      del example.features.feature[contract.Y_KEY]
    examples.append(example.SerializeToString())
  return [warmup.predict_log(contract.PREDICT_SIGNATURE,
                             {contract.PREDICT_INPUT: np.array(examples, dtype=object)}),
          warmup.predict_log(contract.PREDICT_X_SIGNATURE,
                             {contract.PREDICT_X_INPUT: np.array(xs, np.float32)}),
          warmup.regress_log(contract.REGRESS_SIGNATURE, examples)]


def _log_weights(model: keras.Model) -> None:
  w, b = weights(model)
  logging.info("Learned w = %.6f, b = %.6f", w, b)


TRAINER = trainer.TrainerModule(
    recipe_type=TrainingRecipe, build_model=build_model, label_key=Y_XF,
    shuffle_buffer=SHUFFLE_BUFFER, export=export_serving_model, warmup_requests=warmup_requests,
    after_fit=_log_weights)


def run_fn(fn_args: FnArgs) -> None:
  """TFX Trainer entry point."""
  trainer.run(fn_args, TRAINER)
