"""Pusher executor for a directory TF Serving is polling.

- **Atomic.** TFX's Pusher copies straight into `<base>/<version>/`; TF Serving
  polls that directory and can find a half-copied version. Here the version is
  written under `<base>/.incoming-<version>-<pid>/` (a name TF Serving ignores, on
  the same filesystem) and renamed into place only when complete: a version is
  visible whole or not at all. Leftovers of a killed push are removed by the
  next push.
- **Idempotent.** A model whose SavedModel fingerprint matches the *highest*
  version — the one TF Serving's default policy serves — is recorded as pushed to
  that version instead of being copied again (e.g. a rerun whose Evaluator re-ran
  only because a baseline appeared). A model matching an older version is pushed
  again as a new version: it was blessed to be served, and TF Serving serves only
  the highest.
- **Traceable.** The training data's statistics go into the version's
  `assets.extra/` (components/pushed_model.py), for the next run's drift check.
- Versions are unix seconds, as TFX's Pusher makes them, but always above the
  highest existing version, so two pushes in one second cannot collide.
"""

import os
import time
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components import pushed_model

FINGERPRINT = "fingerprint.pb"  # written by tf.saved_model.save since TF 2.12


def _read(path: str) -> Optional[bytes]:
  return io_utils.read_bytes_file(path) if fileio.exists(path) else None


def served_version(base_directory: str) -> Optional[str]:
  """The highest integer version under base_directory: what TF Serving serves by default."""
  return pushed_model.served_version(base_directory)


def find_served_version(model_path: str, base_directory: str) -> Optional[str]:
  """The served (highest) version if it holds this exact SavedModel, else None."""
  fingerprint = _read(os.path.join(model_path, FINGERPRINT))
  version = served_version(base_directory)
  if fingerprint is None or version is None:
    return None
  same = _read(os.path.join(base_directory, version, FINGERPRINT)) == fingerprint
  return version if same else None


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _remove_stale_incoming(base_directory: str) -> None:
  """Removes `.incoming-*` directories whose pushing process is gone (killed mid-copy)."""
  for name in fileio.listdir(base_directory):
    name = name.rstrip("/")
    if name.startswith(pushed_model.INCOMING_PREFIX):
      pid = name.rsplit("-", 1)[-1]
      if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
        logging.info("Removing %s, left by an interrupted push", name)
        fileio.rmtree(os.path.join(base_directory, name))


def push_atomically(model_path: str, base_directory: str,
                    statistics_uri: Optional[str] = None) -> str:
  """Copies model_path (and statistics) to a new version under base_directory; returns it."""
  fileio.makedirs(base_directory)
  _remove_stale_incoming(base_directory)
  highest = pushed_model.versions(base_directory)
  version = str(max(int(time.time()), highest[-1] + 1 if highest else 0))
  incoming = os.path.join(base_directory, f"{pushed_model.INCOMING_PREFIX}{version}-{os.getpid()}")
  io_utils.copy_dir(model_path, incoming)
  if statistics_uri:
    io_utils.copy_dir(statistics_uri, pushed_model.statistics_dir(incoming))
  final = os.path.join(base_directory, version)
  if "://" in base_directory:
    # Object stores have no atomic directory rename; fileio.rename copies. TF Serving
    # then may see a partial version, as with TFX's own Pusher.
    logging.warning("%s is not a local filesystem: the push is not atomic", base_directory)
  fileio.rename(incoming, final)
  return version


class Executor(pusher_executor.Executor):
  """Pushes a blessed model atomically; the model already served keeps its version."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    if destination.WhichOneof("destination") != "filesystem":
      super().Do(input_dict, output_dict, exec_properties)
      return
    model_push = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    base = destination.filesystem.base_directory
    version = find_served_version(model_path, base)
    if version is not None:
      logging.info("Model already served as version %s; not pushing it again.", version)
    else:
      statistics = input_dict.get("statistics") or []
      version = push_atomically(model_path, base, statistics[0].uri if statistics else None)
      logging.info("Model pushed as version %s of %s.", version, base)
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=os.path.join(base, version),
                     pushed_version=version)


