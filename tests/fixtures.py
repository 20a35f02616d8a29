"""Paths, markers and helpers shared by the tests: real MNIST lives in ../shared/data/mnist."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, Sequence, Tuple

import pytest

from pipelines import mnist_pipeline

MNIST_DIR = mnist_pipeline.default_data_dir() or mnist_pipeline.SHARED_MNIST_DIR
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [sys.executable, "-m", "runners.cli"]

# Needs the real MNIST copy: skipped with the reason locally, a failure under CI=true
# (conftest.pytest_runtest_setup).
needs_mnist = pytest.mark.needs_mnist


def in_ci() -> bool:
  return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str) -> None:
  """Skips (locally) or fails (CI=true) a test whose data or system dependency is missing."""
  if available:
    return
  if in_ci():
    pytest.fail(f"{what} (CI=true: a test that cannot run fails)", pytrace=False)
  pytest.skip(what)


def mnist_available() -> bool:
  return all(os.path.isfile(os.path.join(MNIST_DIR, f"{p}-ubyte.gz")) for p in (
      "train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1"))


def run_cli(args: Sequence[str], timeout: int = 900) -> subprocess.CompletedProcess:
  """`mnist-tfx ARGS` as a user runs it, from the project directory."""
  return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def run_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
  """`python -c CODE` in a fresh interpreter, from the project directory (what it imports is
  then only what CODE needs)."""
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        timeout=timeout)


def run_pipeline(home: str, args: Sequence[str], expect_exit: int = 0,
                 timeout: int = 900) -> Tuple[subprocess.CompletedProcess, Dict[str, Any]]:
  """`mnist-tfx run ARGS --home HOME --summary-json ...`; checks the exit code first.

  A crash shows the CLI's own output, not a missing summary file.
  """
  summary_path = os.path.join(os.path.dirname(os.path.abspath(home)),
                              f"summary-{os.path.basename(home)}-{time.time_ns()}.json")
  proc = run_cli(["run", *args, "--home", home, "--summary-json", summary_path], timeout=timeout)
  assert proc.returncode == expect_exit, (
      f"exit {proc.returncode}, expected {expect_exit}\n{proc.stdout}\n{proc.stderr}")
  with open(summary_path) as f:
    return proc, json.load(f)


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


def write_examples_dir(root: str, splits) -> str:
  """DIR/{split}/data.tfrecord.gz from {split: [serialized tf.Example, ...]}; returns DIR."""
  from pipelines import examples_dir  # pylint: disable=import-outside-toplevel
  return examples_dir.write_splits(root, splits)


def publish_mnist_span(root: str, span: int, train, evaluation) -> str:
  """DIR/span-<span>/ of real MNIST: train and eval records [start, stop) of the training file
  (train, evaluation: (start, stop)), test the canonical 10,000 t10k images, published as a
  producer does (pipelines/examples_dir.publish_span); returns the span dir."""
  from pipelines import examples_dir  # pylint: disable=import-outside-toplevel
  return examples_dir.publish_span(root, span, {"train": mnist_examples("train", *train),
                                                "eval": mnist_examples("train", *evaluation),
                                                "test": mnist_examples("t10k", 0, 10000)})


def publish_regression_span(root: str, span: int, seed: int, sizes=(800, 100, 100)) -> str:
  """DIR/span-<span>/ of y = 2x + 1 tf.Examples, x ~ U(0, 1) (train, eval, test sizes)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from pipelines import examples_dir  # pylint: disable=import-outside-toplevel
  from schemas.regression import contract  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(seed)

  def records(n):
    return [tf.train.Example(features=tf.train.Features(feature={
        contract.X_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
        contract.Y_KEY: tf.train.Feature(float_list=tf.train.FloatList(
            value=[contract.TRUE_W * x + contract.TRUE_B]))})).SerializeToString()
            for x in rng.uniform(contract.X_MIN, contract.X_MAX, n)]
  return examples_dir.publish_span(root, span, {split: records(n) for split, n in
                                                zip(examples_dir.SPLITS, sizes)})


def mnist_examples(prefix: str, start: int, stop: int, keep=None):
  """Serialized tf.Examples of real MNIST records [start, stop) of `train` or `t10k`."""
  from components import mnist_example_encoding  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  images, labels = idx_reader.read_pair(idx_reader.find_pair(MNIST_DIR, prefix))
  images, labels = images[start:stop], labels[start:stop]
  if keep is not None:
    mask = keep(labels)
    images, labels = images[mask], labels[mask]
  return mnist_example_encoding.encode_examples(images, labels)


def served_versions(home: str, model: str):
  path = os.path.join(home, "serving", model)
  return sorted(os.listdir(path)) if os.path.isdir(path) else []


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def serve(args: Sequence[str], model: str = "mnist", timeout: float = 120):
  """`mnist-tfx serve ARGS` in its own process on two free ports, yielded as (proc, rest_port,
  grpc_port) once GET /v1/models/<model> answers 200. On exit it is SIGTERMed and must exit 0;
  its stdout and stderr are then left to read."""
  import requests  # pylint: disable=import-outside-toplevel
  rest_port, grpc_port = free_port(), free_port()
  proc = subprocess.Popen(CLI + ["serve", *args, "--rest-port", str(rest_port), "--grpc-port", str(grpc_port)],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + timeout
    while True:
      try:
        if requests.get(f"http://127.0.0.1:{rest_port}/v1/models/{model}", timeout=1).ok:
          break
      except requests.ConnectionError:
        pass
      assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
      time.sleep(0.2)
    yield proc, rest_port, grpc_port
  finally:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
