"""`--examples-dir DIR`: bring your own tf.Examples, read through TFX's ImportExampleGen.

DIR/train/, DIR/eval/ and DIR/test/ hold TFRecord files (`*.tfrecord`, or
`*.tfrecord.gz` gzipped) of tf.Example in the pipeline's feature encoding
(schemas/<dataset>/contract.py). What the records contain is the ExampleGate's
business: it checks them against the curated schema before anything trains.
Here, before TensorFlow loads, only what a file system can tell: the layout
exists, each split has files, each file can be read.
"""

import glob
import os
from typing import Dict

from pipelines.definition import DefinitionError

SPLITS = ("train", "eval", "test")
FILE_PATTERN = "*.tfrecord*"  # *.tfrecord and *.tfrecord.gz (ImportExampleGen infers gzip)
_GZIP_MAGIC = b"\x1f\x8b"


def split_patterns() -> Dict[str, str]:
  """ImportExampleGen's split patterns, relative to DIR."""
  return {split: os.path.join(split, FILE_PATTERN) for split in SPLITS}


def validate(path: str) -> str:
  """The absolute DIR; DefinitionError (one line) for anything a user must fix."""
  if not os.path.exists(path):
    raise DefinitionError(f"--examples-dir {path}: not found")
  if not os.path.isdir(path):
    raise DefinitionError(f"--examples-dir {path}: is a file, not a directory")
  path = os.path.abspath(path)
  for split in SPLITS:
    if not os.path.isdir(os.path.join(path, split)):
      raise DefinitionError(f"--examples-dir {path}: no {split}/ directory "
                            f"(expected {', '.join(s + '/' for s in SPLITS)})")
  for split, pattern in split_patterns().items():
    split_dir = os.path.join(path, split)
    files = sorted(glob.glob(os.path.join(path, pattern)))
    if not files:
      raise DefinitionError(f"{split_dir}: no *.tfrecord or *.tfrecord.gz files")
    for name in files:
      try:
        with open(name, "rb") as f:
          head = f.read(2)
      except OSError as e:
        raise DefinitionError(f"{name}: cannot be read ({e.strerror})") from None
      if not head:
        raise DefinitionError(f"{name}: empty file")
      if name.endswith(".gz") and head != _GZIP_MAGIC:
        raise DefinitionError(f"{name}: named .gz but not gzip data")
  return path


def import_example_gen(examples_dir: str):
  """TFX's ImportExampleGen over DIR's three splits (imports TFX)."""
  from tfx.components import ImportExampleGen  # pylint: disable=import-outside-toplevel
  from tfx.proto import example_gen_pb2  # pylint: disable=import-outside-toplevel
  return ImportExampleGen(input_base=examples_dir, input_config=example_gen_pb2.Input(splits=[
      example_gen_pb2.Input.Split(name=split, pattern=pattern)
      for split, pattern in split_patterns().items()]))
