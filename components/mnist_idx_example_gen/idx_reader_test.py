"""Tests for the IDX reader on real MNIST and on malformed copies of it."""

import os
import shutil

import numpy as np
import pytest

from components.mnist_idx_example_gen import idx_reader
from tests import fixtures


def _write_small_mnist(dir_path, n_train=20, n_test=10, compress=True):
  rng = np.random.default_rng(0)
  suffix = ".gz" if compress else ""
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(n,), dtype=np.uint8)
    fixtures.write_idx(os.path.join(dir_path, f"{prefix}-images-idx3-ubyte{suffix}"),
               idx_reader.IMAGES_MAGIC, (n, 28, 28), images.tobytes(), compress)
    fixtures.write_idx(os.path.join(dir_path, f"{prefix}-labels-idx1-ubyte{suffix}"),
               idx_reader.LABELS_MAGIC, (n,), labels.tobytes(), compress)


@fixtures.needs_mnist
def test_reads_real_mnist_with_documented_class_counts():
  train = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "train"))
  test = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  assert train[0].shape == (60000, 28, 28) and train[0].dtype == np.uint8
  assert test[0].shape == (10000, 28, 28)
  # Class counts from shared/data/mnist/README.md.
  assert np.bincount(train[1]).tolist() == [
      5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
  assert np.bincount(test[1]).tolist() == [
      980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
  # The first training image is a 5 with ink in the middle, none in the corner.
  assert train[1][0] == 5 and train[0][0, 14].max() > 200 and train[0][0, 0, 0] == 0


def test_plain_and_gzipped_files_read_the_same(tmp_path):
  (tmp_path / "gz").mkdir()
  (tmp_path / "raw").mkdir()
  _write_small_mnist(str(tmp_path / "gz"), compress=True)
  _write_small_mnist(str(tmp_path / "raw"), compress=False)
  for prefix in idx_reader.SPLIT_PREFIXES:
    a = idx_reader.read_pair(idx_reader.find_pair(str(tmp_path / "gz"), prefix))
    b = idx_reader.read_pair(idx_reader.find_pair(str(tmp_path / "raw"), prefix))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
  idx_reader.validate_data_dir(str(tmp_path / "raw"))


def test_missing_file_is_named(tmp_path):
  _write_small_mnist(str(tmp_path))
  os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
  with pytest.raises(idx_reader.IdxFormatError, match=r"t10k-labels-idx1-ubyte.gz: file not found"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_missing_directory(tmp_path):
  with pytest.raises(idx_reader.IdxFormatError, match="data directory not found"):
    idx_reader.validate_data_dir(str(tmp_path / "nope"))


def test_wrong_magic_number(tmp_path):
  _write_small_mnist(str(tmp_path))
  path = tmp_path / "train-images-idx3-ubyte.gz"
  # A labels header where an images file should be.
  fixtures.write_idx(str(path), idx_reader.LABELS_MAGIC, (20,), bytes(20))
  with pytest.raises(idx_reader.IdxFormatError) as e:
    idx_reader.validate_data_dir(str(tmp_path))
  assert str(e.value) == (f"{path}: wrong magic number 0x00000801, expected 0x00000803 "
                          "(IDX images file)")


def test_truncated_payload(tmp_path):
  _write_small_mnist(str(tmp_path))
  path = tmp_path / "train-images-idx3-ubyte.gz"
  fixtures.write_idx(str(path), idx_reader.IMAGES_MAGIC, (20, 28, 28), bytes(20 * 784 - 100))
  with pytest.raises(idx_reader.IdxFormatError, match=r"truncated: header declares 20x28x28 = 15680 bytes of data, file has 15580"):
    idx_reader.validate_data_dir(str(tmp_path))


@fixtures.needs_mnist
def test_truncated_gzip_stream_of_real_file(tmp_path):
  for name in os.listdir(fixtures.MNIST_DIR):
    if name.endswith(".gz"):
      shutil.copy(os.path.join(fixtures.MNIST_DIR, name), tmp_path / name)
  path = tmp_path / "t10k-images-idx3-ubyte.gz"
  data = path.read_bytes()
  path.write_bytes(data[: len(data) // 2])
  with pytest.raises(idx_reader.IdxFormatError, match="corrupt or truncated gzip data"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_trailing_bytes(tmp_path):
  _write_small_mnist(str(tmp_path), compress=False)
  path = tmp_path / "t10k-labels-idx1-ubyte"
  with open(path, "ab") as f:
    f.write(b"\x01\x02")
  with pytest.raises(idx_reader.IdxFormatError, match="2 unexpected trailing bytes"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_image_label_count_mismatch(tmp_path):
  _write_small_mnist(str(tmp_path))
  path = tmp_path / "train-labels-idx1-ubyte.gz"
  fixtures.write_idx(str(path), idx_reader.LABELS_MAGIC, (19,), bytes(19))
  with pytest.raises(idx_reader.IdxFormatError, match=r"19 labels but .*train-images-idx3-ubyte.gz has 20 images"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_label_out_of_range(tmp_path):
  _write_small_mnist(str(tmp_path))
  path = tmp_path / "t10k-labels-idx1-ubyte.gz"
  fixtures.write_idx(str(path), idx_reader.LABELS_MAGIC, (10,), bytes([1] * 7 + [12, 0, 0]))
  with pytest.raises(idx_reader.IdxFormatError, match="label 12 at record 7 is outside 0..9"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_wrong_image_size(tmp_path):
  _write_small_mnist(str(tmp_path))
  path = tmp_path / "t10k-images-idx3-ubyte.gz"
  fixtures.write_idx(str(path), idx_reader.IMAGES_MAGIC, (10, 32, 32), bytes(10 * 32 * 32))
  with pytest.raises(idx_reader.IdxFormatError, match="images are 32x32, expected 28x28"):
    idx_reader.validate_data_dir(str(tmp_path))


def test_ambiguous_files(tmp_path):
  _write_small_mnist(str(tmp_path))
  shutil.copy(tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "train-images-idx3-ubyte")
  with pytest.raises(idx_reader.IdxFormatError, match="ambiguous: 2 files match"):
    idx_reader.validate_data_dir(str(tmp_path))
