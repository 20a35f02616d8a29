"""Executor of ServingInfraValidator (see component.py for why it exists).

Blessed only if all of these hold, checked over TF Serving's gRPC API:
- the model server reports the version AVAILABLE within the timeout (it loaded the
  SavedModel and replayed its warmup requests without error);
- the model carries warmup requests (they are the canary: a model without them
  would go to TF Serving unexercised);
- every warmup request, sent as a real Predict / Classify / Regress call, succeeds
  and answers one result per example with finite values.
The artefact is TFX's: custom property `blessed` 1/0 and an empty INFRA_BLESSED or
INFRA_NOT_BLESSED file; `infra_validation_message` says why.
"""

import math
import os
import tempfile
import time
from typing import Any, Dict, List

import grpc
import tensorflow as tf
from absl import logging
from tensorflow_serving.apis import (get_model_status_pb2, model_service_pb2_grpc,
                                     prediction_service_pb2_grpc)
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components.infra_validator import BLESSED_KEY, MESSAGE_KEY
from serving import warmup

BLESSED_FILE, NOT_BLESSED_FILE = "INFRA_BLESSED", "INFRA_NOT_BLESSED"
_VERSION = 1
_RPC_TIMEOUT_S = 30.0
_AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE
_END = get_model_status_pb2.ModelVersionStatus.END


class ValidationFailed(Exception):
  """One line saying why the model is not servable."""


def _wait_until_available(channel: grpc.Channel, model_name: str, timeout_s: float) -> None:
  """Polls ModelService.GetModelStatus as TFX's InfraValidator does."""
  stub = model_service_pb2_grpc.ModelServiceStub(channel)
  request = get_model_status_pb2.GetModelStatusRequest()
  request.model_spec.name = model_name
  deadline = time.monotonic() + timeout_s
  last = "no status"
  while time.monotonic() < deadline:
    try:
      response = stub.GetModelStatus(request, timeout=_RPC_TIMEOUT_S)
      states = {s.state for s in response.model_version_status}
      if _AVAILABLE in states:
        return
      if _END in states:  # TF Serving gave up on the version: its load or warmup failed
        errors = [s.status.error_message for s in response.model_version_status if s.status.error_message]
        raise ValidationFailed(f"the model server could not load the model: {'; '.join(errors) or 'END'}")
      last = ", ".join(get_model_status_pb2.ModelVersionStatus.State.Name(s) for s in states)
    except grpc.RpcError as e:
      last = f"{e.code().name}: {e.details()}"
    time.sleep(0.1)
  raise ValidationFailed(f"not AVAILABLE after {timeout_s:.0f} s ({last})")


def _finite(values) -> bool:
  return all(math.isfinite(v) for v in values)


def _send(stub, log, model_name: str) -> None:
  """One canary request; ValidationFailed unless it succeeds with a full, finite answer."""
  kind = log.WhichOneof("log_type")
  try:
    if kind == "predict_log":
      request = log.predict_log.request
      request.model_spec.name = model_name
      response = stub.Predict(request, timeout=_RPC_TIMEOUT_S)
      batch = {tf.make_ndarray(t).shape[0] for t in request.inputs.values()}
      for name, tensor in response.outputs.items():
        value = tf.make_ndarray(tensor)
        if value.shape[:1] != tuple(batch):
          raise ValidationFailed(f"predict {request.model_spec.signature_name}: output {name} has "
                                 f"shape {value.shape} for a batch of {sorted(batch)}")
        if value.dtype.kind == "f" and not _finite(value.ravel().tolist()):
          raise ValidationFailed(f"predict {request.model_spec.signature_name}: output {name} "
                                 "is not finite")
    elif kind in ("classify_log", "regress_log"):
      request = getattr(log, kind).request
      request.model_spec.name = model_name
      examples = len(request.input.example_list.examples or
                     request.input.example_list_with_context.examples)
      if kind == "classify_log":
        result = stub.Classify(request, timeout=_RPC_TIMEOUT_S).result.classifications
        scores = [c.score for r in result for c in r.classes]
      else:
        result = stub.Regress(request, timeout=_RPC_TIMEOUT_S).result.regressions
        scores = [r.value for r in result]
      if len(result) != examples or not _finite(scores):
        raise ValidationFailed(f"{kind.split('_')[0]} {request.model_spec.signature_name}: "
                               f"{len(result)} results for {examples} examples, or non-finite")
    else:
      raise ValidationFailed(f"unsupported warmup record {kind}")
  except grpc.RpcError as e:
    raise ValidationFailed(f"{kind} {getattr(log, kind).request.model_spec.signature_name}: "
                           f"{e.code().name}: {e.details()}") from None


def validate(model_path: str, model_name: str, timeout_s: float) -> str:
  """Loads model_path into the model server and sends its canary; returns a summary line."""
  from serving.model_server import server  # pylint: disable=import-outside-toplevel
  logs = warmup.read(model_path)
  if not logs:
    raise ValidationFailed(f"no warmup requests in {warmup.warmup_path(model_path)}: nothing to "
                           "send as the canary")
  with tempfile.TemporaryDirectory(prefix="infra-validation-") as base:
    # TF Serving's layout: <base>/<name>/<version>/saved_model.pb; linked, not copied.
    os.makedirs(os.path.join(base, model_name))
    os.symlink(model_path, os.path.join(base, model_name, str(_VERSION)))
    with server.serve_single_model(model_name, os.path.join(base, model_name)) as model_server:
      with grpc.insecure_channel(f"127.0.0.1:{model_server.grpc_port}") as channel:
        _wait_until_available(channel, model_name, timeout_s)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for log in logs:
          _send(stub, log, model_name)
  kinds = sorted({log.WhichOneof("log_type").replace("_log", "") for log in logs})
  return f"loaded and answered {len(logs)} canary requests ({', '.join(kinds)})"


class Executor(base_executor.BaseExecutor):
  """Writes an InfraBlessing; never raises for an unservable model (not blessed instead)."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    model = artifact_utils.get_single_instance(input_dict["model"])
    blessing = artifact_utils.get_single_instance(output_dict["blessing"])
    model_path = path_utils.serving_model_path(model.uri)
    try:
      message = validate(model_path, exec_properties["serving_model_name"],
                         float(exec_properties.get("timeout_seconds") or 120))
      blessed = True
    except ValidationFailed as e:
      message, blessed = str(e), False
    logging.info("Infra validation %s: %s", "passed" if blessed else "FAILED", message)
    io_utils.write_string_file(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE), "")
    blessing.set_int_custom_property(BLESSED_KEY, int(blessed))
    blessing.set_string_custom_property(MESSAGE_KEY, message)
