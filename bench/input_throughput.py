"""P4: the Trainer's input pipeline against an in-memory baseline, for the same model.

Reads the raw examples of a finished pipeline run with the Trainer's own
`input_fn` (tfxio over gzipped TFRecords, the Transform graph applied in
tf.data, decoded once then cached), and
measures examples/s of (a) iterating one epoch and (b) one epoch of
`model.fit`, against the same on `tf.data.Dataset.from_tensor_slices` of numpy
arrays already in memory. Prints one JSON line.
"""

import models  # noqa: F401  (first: the Keras 2 switch, before TensorFlow loads)

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
import tf_keras as keras  # noqa: E402
from tfx.components.trainer.fn_args_utils import DataAccessor  # noqa: E402
from tfx.components.util import tfxio_utils  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from models.mnist import model as mnist_model  # noqa: E402
from models.mnist import recipes  # noqa: E402


def _latest(pattern: str) -> str:
  return max(glob.glob(pattern), key=os.path.getmtime)


def _rate(fn, examples: int) -> float:
  started = time.perf_counter()
  fn()
  return examples / (time.perf_counter() - started)


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--pipeline-root", required=True, help="<home>/pipelines/mnist_<model>")
  parser.add_argument("--model", default="mlp")
  args = parser.parse_args()
  recipe = recipes.default_recipe(args.model)
  examples = standard_artifacts.Examples()
  examples.uri = _latest(os.path.join(args.pipeline_root, "MnistIdxExampleGen", "examples", "*"))
  examples.split_names = '["train", "eval", "test"]'
  accessor = DataAccessor(tfxio_utils.get_tf_dataset_factory_from_artifact([examples], []), None, None)
  transform_output = tft.TFTransformOutput(
      _latest(os.path.join(args.pipeline_root, "Transform", "transform_graph", "*")))
  files = [os.path.join(examples.uri, "Split-train", "*")]

  pipeline_ds = mnist_model.input_fn(files, accessor, transform_output, recipe.batch_size, shuffle=True)
  arrays = {"x": [], "y": []}
  first_epoch = time.perf_counter()
  for x, y in pipeline_ds:
    arrays["x"].append(x[mnist_model.IMAGE_XF].numpy())
    arrays["y"].append(y.numpy())
  first_epoch = time.perf_counter() - first_epoch
  x = np.concatenate(arrays["x"])
  y = np.concatenate(arrays["y"])
  n = len(x)
  memory_ds = (tf.data.Dataset.from_tensor_slices(({mnist_model.IMAGE_XF: x}, y))
               .shuffle(n, seed=0).batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE))

  def iterate(ds):
    return lambda: [None for _ in ds]

  result = {"model": args.model, "examples": n,
            "pipeline_first_epoch_examples_per_s": round(n / first_epoch, 1)}
  result["pipeline_cached_epoch_examples_per_s"] = round(_rate(iterate(pipeline_ds), n), 1)
  result["memory_epoch_examples_per_s"] = round(_rate(iterate(memory_ds), n), 1)
  for name, ds in (("pipeline", pipeline_ds), ("memory", memory_ds)):
    keras.utils.set_random_seed(0)
    net = mnist_model.build_model(recipe)
    net.fit(ds.take(5), verbose=0)  # build and trace outside the timing
    result[f"{name}_fit_examples_per_s"] = round(_rate(lambda: net.fit(ds, verbose=0), n), 1)
  result["first_epoch_ratio"] = round(result["pipeline_first_epoch_examples_per_s"]
                                      / result["memory_epoch_examples_per_s"], 3)
  result["iterate_ratio"] = round(result["pipeline_cached_epoch_examples_per_s"]
                                  / result["memory_epoch_examples_per_s"], 3)
  result["fit_ratio"] = round(result["pipeline_fit_examples_per_s"] / result["memory_fit_examples_per_s"], 3)
  print(json.dumps(result))


if __name__ == "__main__":
  main()
