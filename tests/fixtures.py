"""Paths and markers shared by the tests: real MNIST lives in ../shared/data/mnist."""

import os

import pytest

from pipelines import configs

MNIST_DIR = configs.default_data_dir() or configs.SHARED_MNIST_DIR

needs_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason=f"real MNIST not found at {MNIST_DIR}")


def write_idx(path: str, magic: int, dims, payload: bytes, compress: bool = True) -> None:
  """Writes one IDX file (gzipped unless compress=False)."""
  import gzip  # pylint: disable=import-outside-toplevel
  import struct  # pylint: disable=import-outside-toplevel
  data = struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload
  with (gzip.open if compress else open)(path, "wb") as f:
    f.write(data)


def write_mnist_subset(dir_path: str, n_train: int, n_test: int) -> None:
  """Writes the first n_train / n_test real MNIST records as the four IDX files."""
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    images, labels = idx_reader.read_pair(idx_reader.find_pair(MNIST_DIR, prefix))
    write_idx(os.path.join(dir_path, f"{prefix}-images-idx3-ubyte.gz"),
              idx_reader.IMAGES_MAGIC, (n, 28, 28), images[:n].tobytes())
    write_idx(os.path.join(dir_path, f"{prefix}-labels-idx1-ubyte.gz"),
              idx_reader.LABELS_MAGIC, (n,), labels[:n].tobytes())


def read_examples(pattern: str):
  """Parses every gzipped tf.Example record matching the glob pattern."""
  import glob  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  out = []
  for path in sorted(glob.glob(pattern)):
    for record in tf.data.TFRecordDataset(path, compression_type="GZIP").as_numpy_iterator():
      out.append(tf.train.Example.FromString(record))
  return out


def analyze_transform(preprocessing_fn, schema_path: str, instances, out_dir: str):
  """Runs tft_beam analysis over instance dicts and writes what Transform writes.

  Returns a TFTransformOutput, as the Trainer receives it.
  """
  import tempfile  # pylint: disable=import-outside-toplevel

  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel
  import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
  import tensorflow_transform.beam as tft_beam  # pylint: disable=import-outside-toplevel
  from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io  # pylint: disable=import-outside-toplevel

  metadata = dataset_metadata.DatasetMetadata(tfdv.load_schema_text(schema_path))
  with beam.Pipeline() as pipeline, tft_beam.Context(temp_dir=tempfile.mkdtemp()):
    raw = pipeline | beam.Create(instances)
    transform_fn = (raw, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
    _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
  # Transform also records the raw schema; the serving signature parses with it.
  metadata_io.write_metadata(metadata, os.path.join(out_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
  return tft.TFTransformOutput(out_dir)
