"""Pusher executor that does not publish the model already being served again.

TFX's Pusher writes a new `<base>/<unix time>/` for every blessed execution,
even when the model is the one already serving (e.g. a rerun whose Evaluator
re-ran only because a baseline appeared). TF Serving would then load an
identical "new" version. Here a model whose SavedModel fingerprint matches the
*highest* version, the one TF Serving's default policy serves, is recorded as
pushed to that version instead. A model that matches an older version is pushed
again as a new version: it was blessed to be served, and TF Serving serves only
the highest.
"""

import os
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

FINGERPRINT = "fingerprint.pb"  # written by tf.saved_model.save since TF 2.12


def _read(path: str) -> Optional[bytes]:
  return io_utils.read_bytes_file(path) if fileio.exists(path) else None


def served_version(base_directory: str) -> Optional[str]:
  """The highest integer version under base_directory: what TF Serving serves by default."""
  if not fileio.isdir(base_directory):
    return None
  versions = [v.rstrip("/") for v in fileio.listdir(base_directory)]
  versions = [v for v in versions if v.isdigit()]
  return max(versions, key=int) if versions else None


def find_served_version(model_path: str, base_directory: str) -> Optional[str]:
  """The served (highest) version if it holds this exact SavedModel, else None."""
  fingerprint = _read(os.path.join(model_path, FINGERPRINT))
  version = served_version(base_directory)
  if fingerprint is None or version is None:
    return None
  same = _read(os.path.join(base_directory, version, FINGERPRINT)) == fingerprint
  return version if same else None


class Executor(pusher_executor.Executor):
  """Standard Pusher, but the model already served keeps its version."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    if destination.WhichOneof("destination") == "filesystem" and self.CheckBlessing(input_dict):
      model_path = self.GetModelPath(input_dict)
      base = destination.filesystem.base_directory
      version = find_served_version(model_path, base)
      if version is not None:
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=os.path.join(base, version),
                         pushed_version=version)
        logging.info("Model already served as version %s; not pushing it again.", version)
        return
    super().Do(input_dict, output_dict, exec_properties)
