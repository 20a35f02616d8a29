"""Trainer module for the regression tutorial: one Dense unit learns y = 2x + 1.

No ReLU on the output (the tutorial's pitfall: it clips negative predictions
and can kill the gradient). Exports `serving_default` (serialized
tf.Example with `x`) and `predict_x` (a plain float tensor `x`, for JSON
clients); both return `predictions` [N].
"""

import dataclasses

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from models import input_pipeline, serving_export
from models.keras_model import FastTracingModel
from models.recipe import JsonRecipe
from models.regression import features, metrics

X_XF = features.transformed_name(features.X_KEY)
Y_XF = features.transformed_name(features.Y_KEY)


@dataclasses.dataclass(frozen=True)
class TrainingRecipe(JsonRecipe):
  """Plain SGD converges to the exact least-squares line in a few hundred steps."""
  model: str = "linear"
  epochs: int = 30
  batch_size: int = 32
  learning_rate: float = 0.5
  train_steps: int = 0  # > 0 overrides epochs

  def describe(self) -> str:
    length = f"{self.train_steps} steps" if self.train_steps > 0 else f"{self.epochs} epochs"
    return f"SGD lr {self.learning_rate}, batch {self.batch_size}, {length}"


MODEL_NAMES = ("linear",)


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
    spec.pop(features.Y_KEY)
    self._feature_spec = spec

  def _predict(self, raw):
    transformed = self.transform(raw)
    return {"predictions": tf.reshape(self.model({X_XF: transformed[X_XF]}), [-1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
               autograph=False)  # no Python control flow; AutoGraph cost ~2.5 s
  def serve_examples(self, examples):
    return self._predict(tf.io.parse_example(examples, self._feature_spec))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")], autograph=False)
  def serve_x(self, x):
    return self._predict({features.X_KEY: tf.reshape(x, [-1, 1])})


def export_serving_model(model, tf_transform_output, export_dir: str) -> None:
  module = _ServingModule(model, tf_transform_output)
  tf.saved_model.save(module, export_dir, signatures={
      "serving_default": module.serve_examples, "predict_x": module.serve_x})


def _dataset(files, data_accessor, tf_transform_output, batch_size, shuffle):
  return input_pipeline.transformed_dataset(files, data_accessor, tf_transform_output, Y_XF,
                                            batch_size, shuffle_buffer=100_000 if shuffle else 0)


def run_fn(fn_args: FnArgs) -> None:
  """TFX Trainer entry point."""
  recipe = TrainingRecipe.from_json((fn_args.custom_config or {}).get("recipe", "{}"))
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
  train = _dataset(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                   recipe.batch_size, shuffle=True)
  evaluation = _dataset(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                        1000, shuffle=False)
  keras.utils.set_random_seed(0)
  model = build_model(recipe)
  fit_kwargs = {"epochs": recipe.epochs}
  if recipe.train_steps > 0:
    fit_kwargs = {"epochs": 1, "steps_per_epoch": recipe.train_steps}
    train = train.repeat()
  model.fit(train, validation_data=evaluation, verbose=2,
            callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)], **fit_kwargs)
  w, b = weights(model)
  logging.info("Learned w = %.6f, b = %.6f", w, b)
  export_serving_model(model, tf_transform_output, fn_args.serving_model_dir)
