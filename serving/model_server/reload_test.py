"""Live reconfiguration: the config file re-read (--model-config-file-poll-wait-seconds) and
ModelService/HandleReloadConfigRequest, on a real server over real HTTP and gRPC.

Promote, canary and rollback are serving/model_config.py's edits of the file, the ones
`mnist-tfx promote/rollback` make; labelled traffic runs through every change and must
never fail.
"""

import json
import logging
import os
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import (model_management_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)
from tensorflow_serving.config import model_server_config_pb2

from serving import model_config
from serving.model_server import config, server


class _Scaled(tf.Module):
  """y = x * version: the answer says which version served it."""

  def __init__(self, scale):
    super().__init__()
    self.scale = tf.Variable(float(scale))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
  def times(self, x):
    return {"y": x * self.scale}


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
  """Two models' base paths: m with versions 1, 2, 3 and other with version 1."""
  root = str(tmp_path_factory.mktemp("bases"))
  for name, versions in (("m", (1, 2, 3)), ("other", (1,))):
    for version in versions:
      module = _Scaled(version)
      tf.saved_model.save(module, os.path.join(root, name, str(version)),
                          signatures={"serving_default": module.times})
  return root


def _config_text(bases, models=("m",), policy="specific { versions: 1 }", labels=(("stable", 1),)):
  entries = []
  for name in models:
    label_text = " ".join(f'version_labels {{ key: "{k}" value: {v} }}' for k, v in labels) if name == "m" else ""
    entries.append(f'config {{ name: "{name}" base_path: "{os.path.join(bases, name)}" '
                   f'model_platform: "tensorflow" model_version_policy {{ {policy} }} {label_text} }}')
  return "model_config_list { " + " ".join(entries) + " }\n"


def _predict(stub, name="m", label=None, version=None):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = name
  if label:
    request.model_spec.version_label = label
  if version:
    request.model_spec.version.value = version
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([1.0], np.float32)))
  return float(tf.make_ndarray(stub.Predict(request, timeout=10).outputs["y"])[0])


def _rest_label(s, label, session=requests):
  return session.post(f"http://127.0.0.1:{s.rest_port}/v1/models/m/labels/{label}:predict",
                      data=json.dumps({"instances": [1.0]}), timeout=10)


def _wait_for(check, timeout=30.0):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if check():
      return
    time.sleep(0.05)
  raise AssertionError(f"not within {timeout} s: {check.__doc__}")


def test_promote_canary_and_rollback_move_labelled_traffic_live_without_a_failure(tmp_path, bases):
  path = str(tmp_path / "models.config")
  with open(path, "w") as f:
    f.write(_config_text(bases))
  failures, seen, stop = [], {"stable": set(), "canary": set()}, threading.Event()
  with server.ModelServer(config.load_model_config(path), rest_port=0, grpc_port=0, poll_seconds=0.1,
                          model_config_file=path, config_poll_seconds=0.1) as s:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(
        grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}"))

    def rest_client(label):
      session = requests.Session()
      while not stop.is_set():
        reply = _rest_label(s, label, session)
        if reply.status_code == 200:
          seen[label].add(reply.json()["predictions"][0])
        elif label == "stable":  # canary may not exist yet: only stable must always answer
          failures.append(("REST", reply.status_code, reply.text))

    def grpc_client():
      while not stop.is_set():
        try:
          seen["stable"].add(_predict(stub, label="stable"))
        except grpc.RpcError as e:
          failures.append(("gRPC", e.code(), e.details()))

    threads = [threading.Thread(target=rest_client, args=("stable",)) for _ in range(2)]
    threads += [threading.Thread(target=grpc_client) for _ in range(2)]
    threads.append(threading.Thread(target=rest_client, args=("canary",)))
    for thread in threads:
      thread.start()
    try:
      time.sleep(0.5)
      assert model_config.promote(path, "m", 3, "canary") == (None, 3)  # stable 1, canary 3

      def canary_answers():
        """canary answers from version 3"""
        return 3.0 in seen["canary"]
      _wait_for(canary_answers)
      assert _predict(stub, label="stable") == 1.0
      assert model_config.promote(path, "m", 3, "stable") == (1, 3)

      def stable_moved():
        """stable answers from version 3 and version 1 is unloaded"""
        states = {x["version"]: x["state"] for x in requests.get(
            f"http://127.0.0.1:{s.rest_port}/v1/models/m").json()["model_version_status"]}
        return _predict(stub, label="stable") == 3.0 and states.get("1") == "END"
      _wait_for(stable_moved)
      assert model_config.rollback(path, "m", "stable") == (3, 2)  # the newest below 3 that exists

      def rolled_back():
        """stable answers from version 2"""
        return _predict(stub, label="stable") == 2.0
      _wait_for(rolled_back)
      time.sleep(0.3)
    finally:
      stop.set()
      for thread in threads:
        thread.join()
  assert failures == []
  assert seen["stable"] == {1.0, 3.0, 2.0}  # never a version no label named


def test_a_broken_edit_is_one_log_line_and_the_last_good_config_keeps_serving(tmp_path, bases, caplog):
  path = str(tmp_path / "models.config")
  with open(path, "w") as f:
    f.write(_config_text(bases))
  with server.ModelServer(config.load_model_config(path), rest_port=0, grpc_port=0,
                          model_config_file=path, config_poll_seconds=0.05) as s:
    for broken in ("model_config_list { config { name: \"m\" base_pat: \"/x\" } }",
                   _config_text(bases).replace(bases, "relative/dir")):
      caplog.clear()
      with caplog.at_level(logging.ERROR, logger="mnist_tfx.model_server"):
        with open(path, "w") as f:
          f.write(broken)
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
          time.sleep(0.05)
      lines = [r.getMessage() for r in caplog.records]
      assert len(lines) == 1 and lines[0].startswith(
          "model config not applied, still serving the last good one: "), lines
      assert "\n" not in lines[0]
      reply = _rest_label(s, "stable")
      assert reply.status_code == 200 and reply.json()["predictions"] == [1.0]


def test_reload_config_request_replaces_the_config_over_grpc(tmp_path, bases):
  models = config.parse_model_config(_config_text(bases, models=("m", "other")))
  with server.ModelServer(models, rest_port=0, grpc_port=0) as s:
    channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
    predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    admin = model_service_pb2_grpc.ModelServiceStub(channel)
    assert _predict(predict, name="other") == 1.0

    def reload(text):
      request = model_management_pb2.ReloadConfigRequest()
      text_format.Parse(text, request.config)
      return admin.HandleReloadConfigRequest(request, timeout=60)

    # Without "other", and m's policy now all three versions, stable on 2.
    response = reload(_config_text(bases, policy="all {}", labels=(("stable", 2),)))
    assert response.status.error_code == 0 and response.HasField("status")
    assert _predict(predict, label="stable") == 2.0
    assert sorted(_predict(predict, version=v) for v in (1, 2, 3)) == [1.0, 2.0, 3.0]
    with pytest.raises(grpc.RpcError) as gone:
      _predict(predict, name="other")
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert gone.value.details() == "Servable not found for request: Latest(other)"
    # A config the server refuses changes nothing.
    with pytest.raises(grpc.RpcError) as refused:
      reload(_config_text(bases).replace(bases, "relative/dir"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "to have an absolute path or URI" in refused.value.details()
    empty = model_management_pb2.ReloadConfigRequest(config=model_server_config_pb2.ModelServerConfig())
    with pytest.raises(grpc.RpcError) as unsupported:
      admin.HandleReloadConfigRequest(empty, timeout=10)
    assert unsupported.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Only ModelConfigList is currently supported" in unsupported.value.details()
    assert _predict(predict, label="stable") == 2.0
