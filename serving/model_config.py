"""Promote and roll back versions by editing TF Serving's own model config file.

The file is a `ModelServerConfig` in text format with a `model_config_list`, what
`tensorflow_model_server --model_config_file` reads (and re-reads every
`--model_config_file_poll_wait_seconds`). A label is TF Serving's version label
(`version_labels { key: "stable" value: 17 }`); TF Serving resolves a label only to a
version it has loaded (server_core.cc refuses a label on an unavailable version unless
--allow_version_labels_for_unavailable_models), so promoting makes the model's version
policy `specific` over every labelled version. The same file drives a real TF Serving,
this project's server and, through serving/deploy/, a KServe InferenceService.

Every write is atomic (a temporary file in the same directory, fsync, rename): a
server polling the file sees the old config or the new one, never half. Comments in
the file are not kept (protobuf's text format drops them). No TensorFlow imports.
"""

import os
import tempfile
from typing import Dict, List, Optional, Tuple

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import base_path as layout


class ModelConfigError(ValueError):
  """The config file or the change asked of it is not usable; str() is one line."""


def read(path: str) -> model_server_config_pb2.ModelServerConfig:
  try:
    with open(path, encoding="utf-8") as f:
      text = f.read()
  except OSError as e:
    raise ModelConfigError(f"--model-config-file {path}: {e.strerror}") from None
  config = model_server_config_pb2.ModelServerConfig()
  try:
    text_format.Parse(text, config)
  except text_format.ParseError as e:
    raise ModelConfigError(f"{path}: not a TF Serving model config ({e})") from None
  if config.WhichOneof("config") != "model_config_list":
    raise ModelConfigError(f"{path}: has no model_config_list")
  return config


def write_atomically(path: str, config: model_server_config_pb2.ModelServerConfig) -> None:
  text = text_format.MessageToString(config)
  directory = os.path.dirname(os.path.abspath(path))
  fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    if os.path.exists(path):
      os.chmod(temporary, os.stat(path).st_mode & 0o7777)
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise


def entry(config, model: str):
  for candidate in config.model_config_list.config:
    if candidate.name == model:
      return candidate
  known = ", ".join(c.name for c in config.model_config_list.config) or "none"
  raise ModelConfigError(f"--model {model}: not in the config (models: {known})")


def labels(model_entry) -> Dict[str, int]:
  return dict(model_entry.version_labels)


def labels_by_version(model_entry) -> Dict[int, List[str]]:
  out: Dict[int, List[str]] = {}
  for label, version in sorted(model_entry.version_labels.items()):
    out.setdefault(version, []).append(label)
  return out


def _set_label(model_entry, label: str, version: int) -> None:
  """label → version, and the policy `specific` over every labelled version."""
  model_entry.version_labels[label] = version
  model_entry.model_version_policy.specific.versions[:] = sorted(set(model_entry.version_labels.values()))


def _check_label(label: str) -> None:
  # TF Serving's labels are free strings; REST paths (/labels/<label>) need them path-safe.
  if not label or not all(c.isalnum() or c in "-_." for c in label):
    raise ModelConfigError(f"--label {label!r}: use letters, digits, '-', '_' or '.'")


def promote(path: str, model: str, version: int, label: str) -> Tuple[Optional[int], int]:
  """Writes `path` so that `label` names `version`; returns (the label's previous version, version).

  The version must be loadable under the model's base path. Nothing is written on error.
  """
  _check_label(label)
  config = read(path)
  model_entry = entry(config, model)
  version_dir = os.path.join(model_entry.base_path, str(version))
  if not layout.is_loadable(version_dir):
    available = layout.loadable_versions(model_entry.base_path)
    raise ModelConfigError(f"--version {version}: no such version of {model} under "
                           f"{model_entry.base_path} (there: {', '.join(map(str, available)) or 'none'})")
  previous = model_entry.version_labels.get(label)
  _set_label(model_entry, label, version)
  write_atomically(path, config)
  return previous, version


def rollback(path: str, model: str, label: str = "stable") -> Tuple[int, int]:
  """Moves `label` to the newest loadable version below its current one; returns (from, to)."""
  _check_label(label)
  config = read(path)
  model_entry = entry(config, model)
  current = model_entry.version_labels.get(label)
  if current is None:
    raise ModelConfigError(f"--label {label}: {model} has no such label (labels: "
                           f"{', '.join(sorted(model_entry.version_labels)) or 'none'})")
  older = [v for v in layout.loadable_versions(model_entry.base_path) if v < current]
  if not older:
    raise ModelConfigError(f"--label {label}: no version of {model} below {current} under "
                           f"{model_entry.base_path} to roll back to")
  _set_label(model_entry, label, older[-1])
  write_atomically(path, config)
  return current, older[-1]
