"""The Deep-MNIST CNN's training throughput per precision, and the CPU's arithmetic limit.

Prints one JSON line:
- flops_per_example: training FLOPs of one example, counted from the model's layers (forward
  2·MACs of every Conv2D/Dense; backward computes the weight gradients (= forward) and the
  input gradients (= forward) of every layer but the first, whose input needs none): ≈ 82 MFLOP;
- peak_gflops[precision]: the best this CPU sustains on a large square matmul in that precision
  (oneDNN, all cores): the practical arithmetic limit, since conv and dense layers lower to the
  same kernels;
- limit_examples_per_s = peak ÷ flops_per_example;
- keras_examples_per_s[precision]: steady-state `fit` on in-memory tensors (same model, recipe
  batch size, no input pipeline), the float32 figure the Trainer's bf16 figure is compared with.
"""

import models  # noqa: F401  (first: the Keras 2 switch, before TensorFlow loads)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from models import precision as precisions  # noqa: E402
from models.mnist import model as mnist_model  # noqa: E402
from models.mnist import recipes  # noqa: E402


def training_flops_per_example(net: keras.Model) -> int:
  forward = []
  for layer in net.layers:
    if isinstance(layer, keras.layers.Conv2D):
      _, height, width, channels_out = layer.output_shape
      kh, kw = layer.kernel_size
      forward.append(2 * height * width * channels_out * kh * kw * layer.input_shape[-1])
    elif isinstance(layer, keras.layers.Dense):
      forward.append(2 * layer.input_shape[-1] * layer.units)
  return 3 * sum(forward) - forward[0]


def peak_gflops(dtype: tf.DType, size: int = 2048, seconds: float = 3.0) -> float:
  """Best of several timed bursts of size×size matmuls."""
  a = tf.random.uniform([size, size], dtype=tf.float32)
  a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)

  @tf.function
  def burst(a, b):  # arguments, not captured constants: grappler would fold the matmuls
    total = tf.zeros([], dtype)
    for i in range(8):
      total += tf.reduce_sum(tf.matmul(a + tf.cast(i, dtype), b))
    return total

  burst(a, b)  # trace + oneDNN primitive creation
  best, deadline = 0.0, time.monotonic() + seconds
  while time.monotonic() < deadline:
    started = time.perf_counter()
    burst(a, b).numpy()
    best = max(best, 8 * 2 * size ** 3 / (time.perf_counter() - started) / 1e9)
  return best


def keras_throughput(precision: str, batches: int = 60, model: str = "cnn",
                     optimizer: str = "fused") -> float:
  recipe = dataclasses.replace(recipes.default_recipe(model), precision=precision)
  net = mnist_model.build_model(recipe)
  if optimizer == "keras":  # the non-fused Adam the recipes used before (see models/mnist/model.py)
    net.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss=net.loss,
                metrics=["accuracy"])
  rng = np.random.default_rng(0)
  x = rng.random((recipe.batch_size * batches, 784), dtype=np.float32)
  y = rng.integers(0, 10, len(x))
  data = tf.data.Dataset.from_tensor_slices((x, y)).batch(recipe.batch_size).cache().repeat()
  net.fit(data, epochs=1, steps_per_epoch=10, verbose=0)  # trace, primitives
  started = time.perf_counter()
  net.fit(data, epochs=1, steps_per_epoch=batches, verbose=0)
  return batches * recipe.batch_size / (time.perf_counter() - started)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batches", type=int, default=60, help="timed steps per precision")
  parser.add_argument("--model", choices=recipes.MODEL_NAMES, default="cnn",
                      help="whose fit to time (the limit is always the CNN's)")
  parser.add_argument("--optimizer", choices=("fused", "keras"), default="fused",
                      help="fused: the recipes' legacy Adam (one kernel per variable); keras: "
                      "tf_keras's current Adam (~10 elementwise ops per variable)")
  args = parser.parse_args()
  flags = precisions.cpu_flags()
  choices = [precisions.FLOAT32]
  if precisions.native_bf16_flags(flags):
    choices.append(precisions.MIXED_BFLOAT16)
  flops = training_flops_per_example(mnist_model.build_model(recipes.default_recipe("cnn")))
  peak = {p: round(peak_gflops(tf.float32 if p == precisions.FLOAT32 else tf.bfloat16), 1)
          for p in choices}
  throughput = {p: round(keras_throughput(p, args.batches, args.model, args.optimizer), 1)
                for p in choices}
  print(json.dumps({
      "cpu_bf16_flags": sorted(precisions.native_bf16_flags(flags)), "cores": os.cpu_count(),
      "flops_per_example": flops, "peak_gflops": peak,
      "limit_examples_per_s": {p: round(g * 1e9 / flops, 1) for p, g in peak.items()},
      "model": args.model, "optimizer": args.optimizer, "keras_examples_per_s": throughput}))


if __name__ == "__main__":
  main()
