"""Bad input to `mnist-tfx`: one clear line on stderr, exit 2, nothing run or pushed."""

import gzip
import os
import shutil

import pytest

from components.mnist_idx_example_gen import idx_reader
from tests import fixtures


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


def _assert_one_line_error(proc, expected: str, exact: bool = False) -> None:
  assert proc.returncode == 2, proc.stdout + proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  if exact:
    assert lines[0] == f"mnist-tfx: error: {expected}"
  else:
    assert lines[0].startswith("mnist-tfx: error: ") and expected in lines[0], lines[0]
  assert "Traceback" not in proc.stdout + proc.stderr


@fixtures.needs_mnist
@pytest.mark.parametrize("breaker", [_break_missing, _break_magic, _break_truncated, _break_count])
def test_bad_data_dir_fails_with_one_line(tmp_path, breaker):
  data_dir, home = str(tmp_path / "data"), str(tmp_path / "home")
  _copy_mnist(data_dir)
  expected = breaker(data_dir)
  proc = fixtures.run_cli(["run", "--pipeline", "mnist", "--data-dir", data_dir, "--home", home],
                          timeout=120)
  _assert_one_line_error(proc, expected)
  assert not os.path.exists(os.path.join(home, "serving"))
  assert not os.path.exists(os.path.join(home, "metadata.db"))


def test_nonexistent_data_dir(tmp_path):
  proc = fixtures.run_cli(["run", "--pipeline", "mnist", "--data-dir", str(tmp_path / "nope"),
                           "--home", str(tmp_path / "h")], timeout=120)
  _assert_one_line_error(proc, f"{tmp_path / 'nope'}: data directory not found", exact=True)


@pytest.mark.parametrize("extra, expected", [
    (["--model", "lenet"], "--model lenet: unknown mnist model, expected one of softmax, mlp, cnn"),
    (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
    (["--train-steps", "-5"], "--train-steps must be a positive integer, got -5"),
    (["--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["--noise", "0.1"], "--noise does not apply to the mnist pipeline (it is a regression flag)"),
    (["--examples", "100"], "--examples does not apply to the mnist pipeline (it is a regression flag)"),
])
def test_bad_mnist_flags(tmp_path, extra, expected):
  proc = fixtures.run_cli(["run", "--pipeline", "mnist", "--home", str(tmp_path)] + extra, timeout=300)
  _assert_one_line_error(proc, expected, exact=True)
  assert os.listdir(tmp_path) == []  # nothing run, nothing recorded


@pytest.mark.parametrize("extra, expected", [
    (["--examples", "2"], "regression data: num_examples must be at least 3, got 2"),
    (["--noise", "-0.1"], "regression data: noise_stddev must be >= 0, got -0.1"),
    (["--model", "softmax"], "--model softmax: unknown regression model, expected one of linear"),
    (["--data-dir", "/tmp"], "--data-dir does not apply to the regression pipeline (it is a mnist flag)"),
    (["--beam-arg", "direct_num_workers=2"], "--beam-arg 'direct_num_workers=2': expected a Beam "
     "pipeline flag such as --runner=DataflowRunner or --direct_num_workers=2"),
])
def test_bad_regression_flags(tmp_path, extra, expected):
  proc = fixtures.run_cli(["run", "--pipeline", "regression", "--home", str(tmp_path)] + extra,
                          timeout=300)
  _assert_one_line_error(proc, expected, exact=True)
  assert os.listdir(tmp_path) == []


def test_unusable_home(tmp_path):
  a_file = tmp_path / "file"
  a_file.write_text("not a directory")
  proc = fixtures.run_cli(["run", "--pipeline", "regression", "--home", str(a_file)], timeout=300)
  _assert_one_line_error(proc, f"--home {a_file}: is a file, not a directory", exact=True)
  below_a_file = a_file / "home"
  proc = fixtures.run_cli(["run", "--pipeline", "regression", "--home", str(below_a_file)], timeout=300)
  _assert_one_line_error(proc, f"--home {below_a_file}: cannot create it (Not a directory)", exact=True)


def test_a_bug_is_one_line_on_the_terminal_not_silence():
  """An unexpected exception (a bug, not bad input) after the command moved fd 2 to its log
  still tells the terminal what happened, in one line, and exits 1 (a real process: the
  command's handler replaced by one that fails as compile's would, inside quiet_logs)."""
  proc = fixtures.run_python("""
import os, sys
from runners import cli, console
from runners.commands import runs

def broken(args, terminal):
  with console.quiet_logs(os.devnull):  # as compile does: fd 2 is no longer the terminal
    raise RuntimeError("something the code did not expect\\nsecond line")

runs.handle = broken
sys.exit(cli.main(["runs"]))
""")
  assert proc.returncode == 1, proc.stderr
  assert proc.stderr.strip().splitlines() == [
      "mnist-tfx: internal error (a bug; the traceback is in the command's log): "
      "RuntimeError: something the code did not expect"], proc.stderr
