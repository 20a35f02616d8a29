"""Trainer module for MNIST: the tutorial models and a TF Serving signature.

`run_fn` is the TFX Trainer entry point. It reads Transform's materialized
examples, trains the model named in `custom_config["recipe"]` and exports a
SavedModel whose `serving_default` takes serialized raw tf.Examples
(input `examples`) and returns `probabilities` [N, 10] and `classes` [N].
"""

import dataclasses
import os
from typing import Any, Dict, List

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs

from models import input_pipeline, serving_export
from models.keras_model import FastTracingModel
from models.recipe import JsonRecipe
from models.mnist import features

IMAGE_XF = features.transformed_name(features.IMAGE_KEY)
LABEL_XF = features.transformed_name(features.LABEL_KEY)
TRAIN_EXAMPLES = 55000


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
    length = f"{self.train_steps} steps" if self.train_steps > 0 else f"{self.epochs} epochs"
    decay = ", cosine decay" if self.schedule == "cosine" else ""
    return f"Adam lr {self.learning_rate}{decay}, batch {self.batch_size}, {length}"


def _softmax() -> keras.Model:
  """TF tutorial 'MNIST for ML beginners': y = softmax(Wx + b)."""
  inputs = keras.Input(shape=(features.NUM_PIXELS,), name=IMAGE_XF)
  logits = keras.layers.Dense(features.NUM_CLASSES, name="logits")(inputs)
  return FastTracingModel(inputs, logits, name="softmax")


def _mlp() -> keras.Model:
  """'TensorFlow Mechanics 101': hidden1 128 ReLU, hidden2 32 ReLU, 10 logits."""
  inputs = keras.Input(shape=(features.NUM_PIXELS,), name=IMAGE_XF)
  hidden1 = keras.layers.Dense(128, activation="relu", name="hidden1")(inputs)
  hidden2 = keras.layers.Dense(32, activation="relu", name="hidden2")(hidden1)
  logits = keras.layers.Dense(features.NUM_CLASSES, name="logits")(hidden2)
  return FastTracingModel(inputs, logits, name="mlp")


def _cnn() -> keras.Model:
  """'Deep MNIST for Experts': conv5x5x32-pool-conv5x5x64-pool-fc1024-dropout0.5-10."""
  inputs = keras.Input(shape=(features.NUM_PIXELS,), name=IMAGE_XF)
  x = keras.layers.Reshape((28, 28, 1))(inputs)
  x = keras.layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1")(x)
  x = keras.layers.MaxPool2D(2, name="pool1")(x)
  x = keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2")(x)
  x = keras.layers.MaxPool2D(2, name="pool2")(x)
  x = keras.layers.Flatten()(x)
  x = keras.layers.Dense(1024, activation="relu", name="fc1")(x)
  x = keras.layers.Dropout(0.5)(x)
  logits = keras.layers.Dense(features.NUM_CLASSES, name="logits")(x)
  return FastTracingModel(inputs, logits, name="cnn")


MODEL_BUILDERS = {"softmax": _softmax, "mlp": _mlp, "cnn": _cnn}

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


def build_model(recipe: TrainingRecipe) -> keras.Model:
  """Builds and compiles the named model (logits out)."""
  if recipe.model not in MODEL_BUILDERS:
    raise ValueError(f"unknown model '{recipe.model}', expected one of {sorted(MODEL_BUILDERS)}")
  model = MODEL_BUILDERS[recipe.model]()
  learning_rate = recipe.learning_rate
  if recipe.schedule == "cosine":
    learning_rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, recipe.total_steps())
  elif recipe.schedule != "constant":
    raise ValueError(f"unknown schedule '{recipe.schedule}', expected constant or cosine")
  model.compile(
      optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
  return model


def input_fn(file_pattern: List[str], data_accessor: DataAccessor,
             tf_transform_output: tft.TFTransformOutput, batch_size: int,
             shuffle: bool) -> tf.data.Dataset:
  """One epoch of ({image_xf}, label_xf) batches from raw examples, cached after the first."""
  return input_pipeline.transformed_dataset(
      file_pattern, data_accessor, tf_transform_output, LABEL_XF, batch_size,
      shuffle_buffer=TRAIN_EXAMPLES if shuffle else 0)


class _ServingModule(serving_export.ServingModule):
  """serving_default: serialized raw tf.Examples in, probabilities and classes out."""

  def __init__(self, model: keras.Model, tf_transform_output: tft.TFTransformOutput):
    super().__init__(model, tf_transform_output)
    feature_spec = tf_transform_output.raw_feature_spec()
    feature_spec.pop(features.LABEL_KEY)
    self._feature_spec = feature_spec

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
               autograph=False)  # no Python control flow; AutoGraph cost ~2.5 s
  def serve_examples(self, examples):
    transformed = self.transform(tf.io.parse_example(examples, self._feature_spec))
    probabilities = tf.nn.softmax(self.model({IMAGE_XF: transformed[IMAGE_XF]}))
    return {"probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=1, output_type=tf.int64)}


def export_serving_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
                         export_dir: str) -> None:
  module = _ServingModule(model, tf_transform_output)
  tf.saved_model.save(module, export_dir,
                      signatures={"serving_default": module.serve_examples})


def run_fn(fn_args: FnArgs) -> None:
  """TFX Trainer entry point."""
  recipe = TrainingRecipe.from_json((fn_args.custom_config or {}).get("recipe", "{}"))
  logging.info("Training recipe: %s", recipe)
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
  train = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                   recipe.batch_size, shuffle=True)
  evaluation = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                        1000, shuffle=False)
  keras.utils.set_random_seed(0)
  model = build_model(recipe)
  fit_kwargs: Dict[str, Any] = {"epochs": recipe.epochs}
  if recipe.train_steps > 0:  # exactly N steps, validated once at the end
    train = train.repeat()
    fit_kwargs = {"epochs": 1, "steps_per_epoch": recipe.train_steps}
  model.fit(train, validation_data=evaluation, verbose=2,
            callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
            **fit_kwargs)
  export_serving_model(model, tf_transform_output, fn_args.serving_model_dir)
