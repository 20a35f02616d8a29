"""Trainer module for MNIST: the tutorial models and a TF Serving signature.

`run_fn` is the TFX Trainer entry point (models/trainer.py does the work). It
reads the raw examples, applies the Transform graph in tf.data, trains the
model named in the recipe, and exports a SavedModel whose `serving_default`
takes serialized raw tf.Examples (input `examples`) and returns
`probabilities` [N, 10] and `classes` [N] (names in schemas/mnist/contract.py),
and a `classification` signature shaped for TF Serving's Classify API
(`inputs` → `scores` [N, 10], `classes` [N, 10] digit labels).
"""

import dataclasses
from typing import List, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs

from models import input_pipeline, serving_export, trainer
from models import precision as precisions
from serving import warmup
from models.keras_model import FastTracingModel
from components.recipe_trainer import TUNE_TRIALS_KEY
from models.mnist import recipes
from models.mnist.recipes import TRAIN_EXAMPLES, TrainingRecipe
from schemas import signatures
from schemas.mnist import contract

IMAGE_XF = contract.transformed_name(contract.IMAGE_KEY)
LABEL_XF = contract.transformed_name(contract.LABEL_KEY)


def _softmax(dtype, recipe) -> keras.Model:
  """TF tutorial 'MNIST for ML beginners': y = softmax(Wx + b)."""
  del dtype, recipe  # one 784x10 matmul: nothing for bf16 to speed up
  inputs = keras.Input(shape=(contract.NUM_PIXELS,), name=IMAGE_XF)
  logits = keras.layers.Dense(contract.NUM_CLASSES, name="logits")(inputs)
  return FastTracingModel(inputs, logits, name="softmax")


def _mlp(dtype, recipe) -> keras.Model:
  """'TensorFlow Mechanics 101': hidden1 128 ReLU (the recipe's width), hidden2 32 ReLU, 10 logits."""
  inputs = keras.Input(shape=(contract.NUM_PIXELS,), name=IMAGE_XF)
  hidden1 = keras.layers.Dense(recipe.width, activation="relu", name="hidden1", dtype=dtype)(inputs)
  hidden2 = keras.layers.Dense(32, activation="relu", name="hidden2", dtype=dtype)(hidden1)
  logits = keras.layers.Dense(contract.NUM_CLASSES, name="logits", dtype="float32")(hidden2)
  return FastTracingModel(inputs, logits, name="mlp")


def _cnn(dtype, recipe) -> keras.Model:
  """'Deep MNIST for Experts': conv5x5x32-pool-conv5x5x64-pool-fc1024-dropout0.5-10 (the recipe's rate)."""
  inputs = keras.Input(shape=(contract.NUM_PIXELS,), name=IMAGE_XF)
  x = keras.layers.Reshape((28, 28, 1), dtype=dtype)(inputs)
  x = keras.layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1", dtype=dtype)(x)
  x = keras.layers.MaxPool2D(2, name="pool1", dtype=dtype)(x)
  x = keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2", dtype=dtype)(x)
  x = keras.layers.MaxPool2D(2, name="pool2", dtype=dtype)(x)
  x = keras.layers.Flatten(dtype=dtype)(x)
  x = keras.layers.Dense(1024, activation="relu", name="fc1", dtype=dtype)(x)
  x = keras.layers.Dropout(recipe.dropout, dtype=dtype)(x)
  logits = keras.layers.Dense(contract.NUM_CLASSES, name="logits", dtype="float32")(x)
  return FastTracingModel(inputs, logits, name="cnn")


MODEL_BUILDERS = {"softmax": _softmax, "mlp": _mlp, "cnn": _cnn}


def build_model(recipe: TrainingRecipe) -> keras.Model:
  """Builds and compiles the named model (float32 logits out, whatever the precision).

  Under mixed_bfloat16 the layers compute in bfloat16 and keep float32 weights; the logits
  layer stays float32 so the loss and softmax see float32, as Keras's mixed-precision guide
  advises. `auto` (a compiled spec) is resolved here, on the machine that trains.
  """
  if recipe.model not in MODEL_BUILDERS:
    raise ValueError(f"unknown model '{recipe.model}', expected one of {sorted(MODEL_BUILDERS)}")
  model = MODEL_BUILDERS[recipe.model](
      keras.mixed_precision.Policy(precisions.resolve(recipe.precision, precisions.cpu_flags())), recipe)
  learning_rate = recipe.learning_rate
  if recipe.schedule == "cosine":
    learning_rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, recipe.total_steps())
  elif recipe.schedule != "constant":
    raise ValueError(f"unknown schedule '{recipe.schedule}', expected constant or cosine")
  # The legacy Adam applies each variable's update as one fused kernel (ResourceApplyAdam);
  # the current one as ~10 elementwise ops per variable. TF profiler, CNN bf16 step: those
  # ops were 15 % of op time; measured 2,506 -> 2,864 examples/s with the fused update.
  model.compile(
      optimizer=keras.optimizers.legacy.Adam(learning_rate=learning_rate),
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
    feature_spec.pop(contract.LABEL_KEY)
    self._feature_spec = feature_spec

  def _probabilities(self, examples):
    transformed = self.transform(tf.io.parse_example(examples, self._feature_spec))
    return tf.nn.softmax(self.model({IMAGE_XF: transformed[IMAGE_XF]}))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.PREDICT_INPUT)],
               autograph=False)  # no Python control flow; AutoGraph cost ~2.5 s
  def serve_examples(self, examples):
    probabilities = self._probabilities(examples)
    return {contract.OUTPUT_PROBABILITIES: probabilities,
            contract.OUTPUT_CLASSES: tf.argmax(probabilities, axis=1, output_type=tf.int64)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=signatures.CLASSIFY_INPUTS)],
               autograph=False)
  def classify_examples(self, inputs):
    """TF Serving's Classify convention: scores and string labels, both [N, num_classes]."""
    scores = self._probabilities(inputs)
    labels = tf.constant([str(digit) for digit in range(contract.NUM_CLASSES)])
    return {signatures.CLASSIFY_OUTPUT_SCORES: scores,
            signatures.CLASSIFY_OUTPUT_CLASSES: tf.tile(labels[None, :], [tf.shape(scores)[0], 1])}


def export_serving_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
                         export_dir: str) -> None:
  module = _ServingModule(model, tf_transform_output)
  tf.saved_model.save(module, export_dir, signatures={
      contract.PREDICT_SIGNATURE: module.serve_examples,
      contract.CLASSIFY_SIGNATURE: module.classify_examples})


def warmup_requests(serialized: Sequence[bytes]):
  """serving_default and classification on real eval images, sent without their labels."""
  examples = []
  for record in serialized:
    example = tf.train.Example.FromString(record)
    if contract.LABEL_KEY in example.features.feature:
      del example.features.feature[contract.LABEL_KEY]
    examples.append(example.SerializeToString())
  return [warmup.predict_log(contract.PREDICT_SIGNATURE,
                             {contract.PREDICT_INPUT: np.array(examples, dtype=object)}),
          warmup.classify_log(contract.CLASSIFY_SIGNATURE, examples)]


TRAINER = trainer.TrainerModule(
    recipe_type=TrainingRecipe, build_model=build_model, label_key=LABEL_XF,
    shuffle_buffer=TRAIN_EXAMPLES, export=export_serving_model, warmup_requests=warmup_requests,
    tuned=recipes.tuned)


def run_fn(fn_args: FnArgs) -> None:
  """TFX Trainer entry point."""
  trainer.run(fn_args, TRAINER)


def tuner_fn(fn_args: FnArgs):
  """TFX Tuner entry point: KerasTuner's RandomSearch over the recipe's search space
  (recipes.SEARCH_SPACES), custom_config's tune_trials trials, each TRIAL_STEPS steps of the
  recipe's batch on the train split, scored by accuracy on the eval split. Its best values
  reach run_fn as the Trainer's hyperparameters."""
  import keras_tuner  # pylint: disable=import-outside-toplevel
  from tfx.components.tuner.component import TunerFnResult  # pylint: disable=import-outside-toplevel
  recipe = trainer.read_recipe(fn_args.custom_config, TrainingRecipe)
  recipe = dataclasses.replace(recipe, precision=precisions.resolve(recipe.precision, precisions.cpu_flags()),
                               train_steps=recipes.TRIAL_STEPS)
  space = recipes.SEARCH_SPACES[recipe.model]

  def build(hp):
    values = {name: hp.Choice(name, list(choices)) for name, choices in space.items()}
    return build_model(recipes.tuned(recipe, values))

  transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  train = input_pipeline.transformed_dataset(
      fn_args.train_files, fn_args.data_accessor, transform_output, LABEL_XF, recipe.batch_size,
      shuffle_buffer=10_000).repeat()
  evaluation = input_pipeline.transformed_dataset(
      fn_args.eval_files, fn_args.data_accessor, transform_output, LABEL_XF, 1000)
  keras.utils.set_random_seed(0)
  tuner = keras_tuner.RandomSearch(
      build, objective=keras_tuner.Objective("val_accuracy", "max"),
      max_trials=int(fn_args.custom_config[TUNE_TRIALS_KEY]), seed=0,
      directory=fn_args.working_dir, project_name="mnist_tuning", overwrite=True)
  return TunerFnResult(tuner=tuner, fit_kwargs={
      "x": train, "validation_data": evaluation, "epochs": 1,
      "steps_per_epoch": recipes.TRIAL_STEPS, "verbose": 0})
