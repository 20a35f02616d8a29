"""TF Serving's model base path, read without TensorFlow: `<base>/<integer version>/saved_model.pb`.

TF Serving's file-system source aspires every child of a model's base path whose
name parses as an integer (sources/storage_path/file_system_storage_path_source.cc,
ParseVersionNumber) and its loader needs a SavedModel file in it
(servables/tensorflow/session_bundle_util.cc). This module is that layout for readers
that must answer fast (`mnist-tfx models`, `promote`): local paths with `os`, object
store URIs through TensorFlow's gfile, imported only then.
"""

import os
from typing import List

# What TensorFlow's loader reads as the SavedModel itself (tensorflow/python/saved_model/
# constants.py: SAVED_MODEL_FILENAME_PB, _CPB, _PBTXT): a version without one cannot load.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.cpb", "saved_model.pbtxt")


def _is_uri(path: str) -> bool:
  return "://" in path


def _listdir(path: str) -> List[str]:
  if _is_uri(path):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return [name.rstrip("/") for name in tf.io.gfile.listdir(path)] if tf.io.gfile.isdir(path) else []
  return os.listdir(path) if os.path.isdir(path) else []


def _exists(path: str) -> bool:
  if _is_uri(path):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.io.gfile.exists(path)
  return os.path.exists(path)


def versions(base_path: str) -> List[int]:
  """Integer-named children, ascending, complete or not: every one is a version to TF Serving."""
  return sorted(int(name) for name in _listdir(base_path) if name.isdigit())


def is_loadable(version_dir: str) -> bool:
  """Whether the version holds a SavedModel file (a push copies it last on object stores)."""
  return any(_exists(os.path.join(version_dir, name)) for name in SAVED_MODEL_FILES)


def loadable_versions(base_path: str) -> List[int]:
  return [v for v in versions(base_path) if is_loadable(os.path.join(base_path, str(v)))]


def size_bytes(version_dir: str) -> int:
  """Bytes of every file under a local version directory (0 for a URI: not walked)."""
  if _is_uri(version_dir):
    return 0
  return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(version_dir) for f in files)
