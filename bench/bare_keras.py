"""Baseline: the same model and recipe as the pipeline's Trainer, trained by a bare Keras
script from in-memory numpy arrays (no TFX, no Beam, no TFRecords).

Prints one JSON line: wall seconds (process start to accuracy), training seconds,
training examples/s and test accuracy on the canonical 10,000 images.

The arrays go in through tf.data, not `fit(x=numpy)`: with numpy inputs tf_keras 2.16's
`fit` returned 25 s after its last epoch ended (measured: train_end 57 s, fit 83 s), a
stall a competent baseline would not keep.
"""

import time

STARTED = time.monotonic()

import models  # noqa: F401,E402  (first: the Keras 2 switch, before TensorFlow loads)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from components.mnist_idx_example_gen import idx_reader  # noqa: E402
from models import precision as precisions  # noqa: E402
from models.mnist import model as mnist_model  # noqa: E402
from models.mnist import recipes  # noqa: E402
from pipelines import mnist_pipeline  # noqa: E402


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--model", default="cnn")
  parser.add_argument("--epochs", type=int)
  parser.add_argument("--batch-size", type=int)
  parser.add_argument("--learning-rate", type=float)
  parser.add_argument("--precision", choices=precisions.CHOICES,
                      help="default: the recipe's (auto: as the pipeline decides on this CPU)")
  parser.add_argument("--data-dir", default=mnist_pipeline.default_data_dir())
  args = parser.parse_args()
  recipe = recipes.default_recipe(args.model)
  overrides = {"epochs": args.epochs, "batch_size": args.batch_size,
               "learning_rate": args.learning_rate, "precision": args.precision}
  recipe = dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
  recipe = dataclasses.replace(  # the same decision the pipeline's CLI makes
      recipe, precision=precisions.resolve(recipe.precision, precisions.cpu_flags()))
  train_x, train_y = idx_reader.read_pair(idx_reader.find_pair(args.data_dir, "train"))
  test_x, test_y = idx_reader.read_pair(idx_reader.find_pair(args.data_dir, "t10k"))
  n = recipes.TRAIN_EXAMPLES  # the pipeline's train split: the first 55,000
  x = (train_x[:n].reshape(-1, 784) / 255.0).astype(np.float32)
  y = train_y[:n].astype(np.int64)
  keras.utils.set_random_seed(0)
  model = mnist_model.build_model(recipe)
  train_started = time.monotonic()
  train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
           .batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE))
  model.fit(train, epochs=recipe.epochs, verbose=0)
  train_seconds = time.monotonic() - train_started
  accuracy = model.evaluate((test_x.reshape(-1, 784) / 255.0).astype(np.float32), test_y,
                            batch_size=1000, verbose=0)[1]
  print(json.dumps({
      "model": recipe.model, "recipe": recipe.describe(), "precision": recipe.precision, "accuracy": float(accuracy),
      "train_seconds": round(train_seconds, 2),
      "train_examples_per_second": round(n * recipe.epochs / train_seconds, 1),
      "wall_seconds": round(time.monotonic() - STARTED, 2)}))


if __name__ == "__main__":
  main()
