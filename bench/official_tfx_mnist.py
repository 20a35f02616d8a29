"""Baseline P1: the official TFX MNIST example, as shipped in the installed tfx wheel.

Runs `tfx/examples/mnist/mnist_pipeline_native_keras.py`'s own `_create_pipeline`
(ImportExampleGen → ... → Trainer 5,000 steps → Evaluator → Pusher, BeamDagRunner
with its own multi-processing Beam args, or with none: `--no-beam-flags`) on the
same 70,000 MNIST images, converted to its `image_floats` / `image_class`
TFRecord format. Prints one JSON line: wall seconds and its Evaluator's accuracy.

Both configurations are timed because the shipped flags cost it time on 2 cores
(multi-processing workers, an sdist per Beam executor): a fair race compares with
the peer's faster configuration (bench/run_bench.py takes the faster median).
"""

import time

STARTED = time.monotonic()

import models  # noqa: F401,E402  (first: the Keras 2 switch, before TensorFlow loads)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def convert(data_dir: str, out_dir: str) -> int:
  """All 70,000 images as the example's features: 784 floats in [0, 1] and the class."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  os.makedirs(out_dir, exist_ok=True)
  count = 0
  with tf.io.TFRecordWriter(os.path.join(out_dir, "mnist.tfrecord")) as writer:
    for prefix in idx_reader.SPLIT_PREFIXES:
      images, labels = idx_reader.read_pair(idx_reader.find_pair(data_dir, prefix))
      for image, label in zip(images.reshape(-1, 784) / np.float32(255.0), labels):
        writer.write(tf.train.Example(features=tf.train.Features(feature={
            "image_floats": tf.train.Feature(float_list=tf.train.FloatList(value=image)),
            "image_class": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        })).SerializeToString())
        count += 1
  return count


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--data-dir", required=True)
  parser.add_argument("--work-dir", required=True, help="fresh directory for its data and home")
  parser.add_argument("--converted", help="reuse TFRecords converted by an earlier run")
  parser.add_argument("--no-beam-flags", action="store_true",
                      help="DirectRunner defaults instead of the example's multi-processing flags")
  args = parser.parse_args()
  from absl import logging  # pylint: disable=import-outside-toplevel
  from tfx.examples.mnist import mnist_pipeline_native_keras as example  # pylint: disable=import-outside-toplevel
  from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner  # pylint: disable=import-outside-toplevel
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel

  logging.set_verbosity(logging.WARNING)
  data_root = args.converted or os.path.join(args.work_dir, "data")
  if not args.converted:
    convert(args.data_dir, data_root)
  pipeline_started = time.monotonic()
  module_file = os.path.join(os.path.dirname(example.__file__), "mnist_utils_native_keras.py")
  home = os.path.join(args.work_dir, "tfx")
  BeamDagRunner().run(example._create_pipeline(  # pylint: disable=protected-access
      pipeline_name="mnist_native_keras", pipeline_root=os.path.join(home, "pipelines"),
      data_root=data_root, module_file=module_file,
      serving_model_dir=os.path.join(home, "serving_model"),
      metadata_path=os.path.join(home, "metadata.db"),
      beam_pipeline_args=[] if args.no_beam_flags else example._beam_pipeline_args))  # pylint: disable=protected-access
  pipeline_seconds = time.monotonic() - pipeline_started
  evaluation_root = os.path.join(home, "pipelines", "Evaluator.mnist", "evaluation")
  evaluation = os.path.join(evaluation_root, os.listdir(evaluation_root)[0])
  accuracy = None
  for metrics in tfma.load_metrics(evaluation):
    for kv in metrics.metric_keys_and_values:
      if kv.key.name == "sparse_categorical_accuracy" and not metrics.slice_key.single_slice_keys:
        accuracy = kv.value.double_value.value
  print(json.dumps({"beam_flags": not args.no_beam_flags, "pipeline_seconds": round(pipeline_seconds, 2), "accuracy": accuracy,
                    "wall_seconds": round(time.monotonic() - STARTED, 2)}))


if __name__ == "__main__":
  main()
