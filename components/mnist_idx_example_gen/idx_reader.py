"""Strict reader for the classic MNIST IDX files (gzipped or plain).

The reader validates everything a user can get wrong (missing file, wrong
magic number, truncated or oversized payload, image/label count mismatch,
labels out of range) and raises `IdxFormatError` whose message is one line
naming the file and the problem, so the CLI can print it as is.
"""

import dataclasses
import glob
import gzip
import os
import struct
import zlib
from typing import Tuple

import numpy as np

from schemas.mnist.contract import IMAGE_COLS, IMAGE_ROWS, NUM_CLASSES

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension

# The two source files of every MNIST split, by IDX prefix.
SPLIT_PREFIXES = ("train", "t10k")


class IdxFormatError(ValueError):
  """A user-facing problem with an IDX file; str() is one clear line."""

  def __init__(self, path: str, problem: str):
    super().__init__(f"{path}: {problem}")
    self.path = path
    self.problem = problem


def _read_bytes(path: str) -> bytes:
  if not os.path.isfile(path):
    raise IdxFormatError(path, "file not found")
  try:
    with open(path, "rb") as f:
      raw = f.read()
  except OSError as e:
    raise IdxFormatError(path, f"cannot be read ({e.strerror})") from None
  head = raw[:2]
  if head == b"\x1f\x8b":
    try:
      return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
      raise IdxFormatError(path, f"corrupt or truncated gzip data ({e})") from None
  return raw


def _parse(path: str, expected_magic: int) -> np.ndarray:
  data = _read_bytes(path)
  if len(data) < 4:
    raise IdxFormatError(path, f"truncated: {len(data)} bytes, no IDX header")
  (magic,) = struct.unpack(">I", data[:4])
  if magic != expected_magic:
    kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
    raise IdxFormatError(
        path, f"wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
        f"(IDX {kind} file)")
  ndim = magic & 0xFF
  header_len = 4 + 4 * ndim
  if len(data) < header_len:
    raise IdxFormatError(path, f"truncated header: {len(data)} of {header_len} bytes")
  dims = struct.unpack(f">{ndim}I", data[4:header_len])
  expected = int(np.prod(dims, dtype=np.int64))
  payload = len(data) - header_len
  if payload < expected:
    raise IdxFormatError(
        path, f"truncated: header declares {'x'.join(map(str, dims))} = {expected} "
        f"bytes of data, file has {payload}")
  if payload > expected:
    raise IdxFormatError(
        path, f"{payload - expected} unexpected trailing bytes after the "
        f"{'x'.join(map(str, dims))} records the header declares")
  return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def read_images(path: str) -> np.ndarray:
  """Returns uint8 [N, 28, 28] images from an idx3-ubyte file."""
  images = _parse(path, IMAGES_MAGIC)
  if images.shape[1:] != (IMAGE_ROWS, IMAGE_COLS):
    raise IdxFormatError(
        path, f"images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
  return images


def read_labels(path: str) -> np.ndarray:
  """Returns uint8 [N] labels from an idx1-ubyte file, each in 0..9."""
  labels = _parse(path, LABELS_MAGIC)
  if labels.size and labels.max() >= NUM_CLASSES:
    bad = int(np.argmax(labels >= NUM_CLASSES))
    raise IdxFormatError(
        path, f"label {int(labels[bad])} at record {bad} is outside 0..9")
  return labels


@dataclasses.dataclass(frozen=True)
class IdxPair:
  """The images and labels file of one MNIST source split."""
  images_path: str
  labels_path: str


def find_pair(data_dir: str, prefix: str) -> IdxPair:
  """Finds `<prefix>-images-idx3-ubyte[.gz]` and its labels file in data_dir."""
  if os.path.exists(data_dir) and not os.path.isdir(data_dir):
    raise IdxFormatError(data_dir, "is a file, not a directory")
  if not os.path.isdir(data_dir):
    raise IdxFormatError(data_dir, "data directory not found")
  paths = []
  for kind in ("images-idx3", "labels-idx1"):
    pattern = os.path.join(data_dir, f"{prefix}-{kind}-ubyte*")
    matches = sorted(glob.glob(pattern))
    if not matches:
      raise IdxFormatError(
          os.path.join(data_dir, f"{prefix}-{kind}-ubyte.gz"), "file not found")
    if len(matches) > 1:
      raise IdxFormatError(
          pattern, f"ambiguous: {len(matches)} files match "
          f"({', '.join(os.path.basename(m) for m in matches)})")
    paths.append(matches[0])
  return IdxPair(*paths)


def read_pair(pair: IdxPair) -> Tuple[np.ndarray, np.ndarray]:
  """Reads and cross-checks one images/labels pair."""
  images = read_images(pair.images_path)
  labels = read_labels(pair.labels_path)
  if len(images) != len(labels):
    raise IdxFormatError(
        pair.labels_path, f"{len(labels)} labels but {pair.images_path} "
        f"has {len(images)} images")
  return images, labels


def validate_data_dir(data_dir: str) -> None:
  """Fully reads the four MNIST files, raising IdxFormatError on the first problem."""
  for prefix in SPLIT_PREFIXES:
    read_pair(find_pair(data_dir, prefix))
