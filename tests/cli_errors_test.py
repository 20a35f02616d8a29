"""Bad input to `mnist-tfx`: one clear line on stderr, exit 2, nothing pushed."""

import gzip
import os
import shutil
import subprocess
import sys

import pytest

from components.mnist_idx_example_gen import idx_reader
from tests import fixtures

CLI = [sys.executable, "-m", "pipelines.cli", "run", "--pipeline", "mnist"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _copy_mnist(dst):
  os.makedirs(dst)
  for name in os.listdir(fixtures.MNIST_DIR):
    if "ubyte" in name:
      shutil.copy(os.path.join(fixtures.MNIST_DIR, name), os.path.join(dst, name))


def _break_missing(d):
  os.remove(os.path.join(d, "train-labels-idx1-ubyte.gz"))
  return "train-labels-idx1-ubyte.gz: file not found"


def _break_magic(d):
  path = os.path.join(d, "t10k-images-idx3-ubyte.gz")
  with gzip.open(path, "rb") as f:
    data = bytearray(f.read())
  data[3] = 0x01
  with gzip.open(path, "wb") as f:
    f.write(bytes(data))
  return "t10k-images-idx3-ubyte.gz: wrong magic number 0x00000801, expected 0x00000803"


def _break_truncated(d):
  path = os.path.join(d, "t10k-labels-idx1-ubyte.gz")
  with gzip.open(path, "rb") as f:
    data = f.read()
  with gzip.open(path, "wb") as f:
    f.write(data[:-10])
  return "t10k-labels-idx1-ubyte.gz: truncated: header declares 10000 = 10000 bytes of data, file has 9990"


def _break_count(d):
  path = os.path.join(d, "train-labels-idx1-ubyte.gz")
  fixtures.write_idx(path, idx_reader.LABELS_MAGIC, (59999,), bytes(59999))
  return "train-labels-idx1-ubyte.gz: 59999 labels but"


@fixtures.needs_mnist
@pytest.mark.parametrize("breaker", [_break_missing, _break_magic, _break_truncated, _break_count])
def test_bad_data_dir_fails_with_one_line(tmp_path, breaker):
  data_dir, home = str(tmp_path / "data"), str(tmp_path / "home")
  _copy_mnist(data_dir)
  expected = breaker(data_dir)
  proc = subprocess.run(CLI + ["--data-dir", data_dir, "--home", home],
                        capture_output=True, text=True, cwd=ROOT, timeout=120)
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith("mnist-tfx: error: ") and expected in lines[0], lines[0]
  assert "Traceback" not in proc.stdout + proc.stderr
  assert not os.path.exists(os.path.join(home, "serving"))
  assert not os.path.exists(os.path.join(home, "metadata.db"))


def test_nonexistent_data_dir(tmp_path):
  proc = subprocess.run(CLI + ["--data-dir", str(tmp_path / "nope"), "--home", str(tmp_path / "h")],
                        capture_output=True, text=True, cwd=ROOT, timeout=120)
  assert proc.returncode == 2
  assert proc.stderr.strip() == f"mnist-tfx: error: {tmp_path / 'nope'}: data directory not found"


@fixtures.needs_mnist
def test_unknown_model_and_bad_epochs(tmp_path):
  for extra, expected in (
      (["--model", "lenet"], "--model lenet: unknown MNIST model"),
      (["--epochs", "0"], "--epochs must be a positive integer, got 0")):
    proc = subprocess.run(CLI + ["--home", str(tmp_path)] + extra,
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_regression_flags(tmp_path):
  cli = [sys.executable, "-m", "pipelines.cli", "run", "--pipeline", "regression", "--home", str(tmp_path)]
  for extra, expected in (
      (["--examples", "2"], "regression data: num_examples must be at least 3, got 2"),
      (["--noise", "-0.1"], "regression data: noise_stddev must be >= 0, got -0.1"),
      (["--model", "softmax"], "--model softmax: unknown regression model, expected one of linear")):
    proc = subprocess.run(cli + extra, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"mnist-tfx: error: {expected}"
  assert not os.path.exists(tmp_path / "metadata.db")
