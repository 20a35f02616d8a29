"""The push destination's layout: TF Serving's model base path, plus what the pipeline adds.

`<base>/<integer version>/` holds a SavedModel. TF Serving aspires every child
whose name is an integer and ignores the others, which is why a local push is
written under `.incoming-*` and renamed into place; on an object store a version
is copied file by file with saved_model.pb last (components/idempotent_pusher/
executor.py), so a version counts as pushed only once saved_model.pb is there.
Each pushed version also carries the statistics of the data it was trained on,
under `assets.extra/` (which TF Serving leaves alone), so the next run can measure
drift against the data behind the served model without any other store.
"""

import json
import os
from typing import Any, Dict, List, Optional


class _LocalFiles:
  """os for a local path: reading a local push destination needs no TensorFlow (`watch`,
  `models` answer in well under a second); an object store's URI goes through TFX's fileio."""
  isdir = staticmethod(os.path.isdir)
  listdir = staticmethod(os.listdir)
  exists = staticmethod(os.path.exists)

  @staticmethod
  def read(path: str) -> str:
    with open(path) as f:
      return f.read()


class _ObjectStoreFiles:
  """TFX's fileio, for a URI (gs://, s3://, ...)."""

  def __getattr__(self, name):
    from tfx.dsl.io import fileio  # pylint: disable=import-outside-toplevel
    return getattr(fileio, name)

  @staticmethod
  def read(path: str) -> str:
    from tfx.dsl.io import fileio  # pylint: disable=import-outside-toplevel
    with fileio.open(path) as f:
      return f.read()


def _files(path: str):
  return _LocalFiles if "://" not in path else _ObjectStoreFiles()


STATISTICS_DIR = os.path.join("assets.extra", "mnist_tfx", "train_statistics")
# What the Trainer records about the model for the next run's warm start (models/warm_start.py).
TRAINING_RECORD = os.path.join("assets.extra", "mnist_tfx", "training.json")
INCOMING_PREFIX = ".incoming-"
# What TensorFlow's loader reads as the SavedModel itself (tensorflow/python/saved_model/
# constants.py: SAVED_MODEL_FILENAME_PB, _CPB, _PBTXT): a version without one cannot load.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.cpb", "saved_model.pbtxt")


def versions(base_directory: str) -> List[int]:
  """Integer-named children of base_directory, ascending, complete or not ([] if none).

  Every one is a version to TF Serving's file-system source; a new push numbers above them.
  """
  files = _files(base_directory)
  if not files.isdir(base_directory):
    return []
  names = (name.rstrip("/") for name in files.listdir(base_directory))
  return sorted(int(name) for name in names if name.isdigit())


def served_version(base_directory: str) -> Optional[str]:
  """The highest version holding a SavedModel: what TF Serving serves by default (None if none).

  A higher version without saved_model.pb (a push that failed part-way on an object store
  and could not clean up) fails to load, and a running TF Serving keeps the previous one
  (core/availability_preserving_policy.cc).
  """
  for version in reversed(versions(base_directory)):
    version_dir = os.path.join(base_directory, str(version))
    if any(_files(version_dir).exists(os.path.join(version_dir, name)) for name in SAVED_MODEL_FILES):
      return str(version)
  return None


def training_record(model_dir: str) -> Optional[Dict[str, Any]]:
  """The training record (TRAINING_RECORD, written by models/warm_start.py) in a SavedModel
  dir — a pushed version or a Trainer's Format-Serving — or None: none written, unreadable,
  or not a JSON object. The one reader: the warm-start decision, `watch`, the Trainer's
  Model properties and the run_fn's base-model check all read it here."""
  try:
    record = json.loads(_files(model_dir).read(os.path.join(model_dir, TRAINING_RECORD)))
  except Exception:  # pylint: disable=broad-except  (OSError, a TF NotFoundError, bad JSON)
    return None
  return record if isinstance(record, dict) else None


def statistics_dir(version_dir: str) -> str:
  return os.path.join(version_dir, STATISTICS_DIR)
