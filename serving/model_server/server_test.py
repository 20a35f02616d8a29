"""The model server over real HTTP and gRPC, against SavedModels written here (TF Serving's behaviour).

Every endpoint, row and columnar JSON, b64 tf.Examples and plain tensors, classify
and regress with context, each error TF Serving returns, warmup, version policies
and labels, a version swap under concurrent load, and batching. The same server
against models the pipeline pushed is tested in tests/serving_e2e_test.py.
"""

import base64
import gzip
import json
import os
import shutil
import socket
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_log_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from serving import warmup
from serving.model_server import config, server


class _Model(tf.Module):
  """Signatures shaped like the project's models, plus TF Serving's corner cases."""

  def __init__(self, scale):
    super().__init__()
    self.scale = tf.Variable(float(scale))

  def _probabilities(self, examples):
    image = tf.io.parse_example(examples, {"image": tf.io.FixedLenFeature([4], tf.int64)})["image"]
    return tf.nn.softmax(tf.cast(image, tf.float32) * self.scale)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve_examples(self, examples):
    p = self._probabilities(examples)
    return {"probabilities": p, "classes": tf.argmax(p, axis=1)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
  def classify(self, inputs):
    p = self._probabilities(inputs)
    labels = tf.constant(["a", "b", "c", "d"])
    return {"scores": p, "classes": tf.tile(labels[None, :], [tf.shape(p)[0], 1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
  def regress(self, inputs):
    x = tf.io.parse_example(inputs, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
    return {"outputs": tf.reshape(x * self.scale, [-1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
  def times(self, x):
    return {"y": x * self.scale}

  @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                tf.TensorSpec([None], tf.int64, name="b")])
  def multi(self, a, b):
    return {"total": tf.reduce_sum(a, axis=1) + tf.cast(b, tf.float32), "b_out": b * 2}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def echo(self, text):
    return {"text_bytes": text, "length": tf.strings.length(text)}


class _Probe(tf.Module):
  """Signatures that show what the server did: a CPU-bound spin, and the batch size each row ran in."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="n")])
  def spin(self, n):
    def body(i, acc):
      return i + 1, acc + tf.reduce_sum(tf.sin(tf.range(64, dtype=tf.float32) + acc))
    _, acc = tf.while_loop(lambda i, acc: i < n[0], body, (tf.constant(0, tf.int64), tf.constant(0.0)))
    return {"acc": tf.fill(tf.shape(n), acc)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
  def rows(self, x):
    return {"y": x * 2, "executed": tf.fill(tf.shape(x), tf.shape(x)[0])}

  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
  def ragged(self, x):
    return {"y": x, "executed": tf.fill(tf.shape(x)[:1], tf.shape(x)[0])}


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
  """A base path whose version 1 has _Probe's signatures."""
  base = str(tmp_path_factory.mktemp("probe"))
  module = _Probe()
  tf.saved_model.save(module, os.path.join(base, "1"), signatures={
      "spin": module.spin, "rows": module.rows, "ragged": module.ragged})
  return config.single_model("probe", base)


def _save(base, version, scale, warmup_logs=None):
  module = _Model(scale)
  path = os.path.join(base, str(version))
  tf.saved_model.save(module, path, signatures={
      "serving_default": module.serve_examples, "classification": module.classify,
      "regression": module.regress, "times": module.times, "multi": module.multi,
      "echo": module.echo})
  if warmup_logs is not None:
    warmup.write(path, warmup_logs)
  return path


def _example(image=None, x=None) -> bytes:
  feature = {}
  if image is not None:
    feature["image"] = tf.train.Feature(int64_list=tf.train.Int64List(value=image))
  if x is not None:
    feature["x"] = tf.train.Feature(float_list=tf.train.FloatList(value=[x]))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("models"))
  _save(os.path.join(root, "toy"), 1, 1.0)
  _save(os.path.join(root, "toy"), 2, 2.0)
  return root


@pytest.fixture(scope="module")
def toy(base):
  models = [config.ModelConfig("toy", os.path.join(base, "toy"),
                               labels=(("stable", 1), ("canary", 2)),
                               policy=config.VersionPolicy("all"))]
  with server.ModelServer(models, rest_port=0, grpc_port=0, poll_seconds=0.2) as s:
    yield s


def _url(s, path):
  return f"http://127.0.0.1:{s.rest_port}{path}"


def _post(s, path, body):
  data = body if isinstance(body, (bytes, str)) else json.dumps(body)
  return requests.post(_url(s, path), data=data)


def _stub(s):
  channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
  return (prediction_service_pb2_grpc.PredictionServiceStub(channel),
          model_service_pb2_grpc.ModelServiceStub(channel))


# --- REST -----------------------------------------------------------------------------------

def test_status_lists_versions_newest_first_and_ignores_labels(toy):
  reply = requests.get(_url(toy, "/v1/models/toy"))
  assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
  assert reply.json() == {"model_version_status": [
      {"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
      for v in ("2", "1")]}
  assert [s["version"] for s in requests.get(_url(toy, "/v1/models/toy/versions/1")).json()[
      "model_version_status"]] == ["1"]
  assert len(requests.get(_url(toy, "/v1/models/toy/labels/whatever")).json()["model_version_status"]) == 2
  missing = requests.get(_url(toy, "/v1/models/toy/versions/7"))
  assert missing.status_code == 404 and missing.json() == {"error": "Could not find version 7 of model toy"}
  unknown = requests.get(_url(toy, "/v1/models/nope"))
  assert unknown.status_code == 404 and unknown.json() == {"error": "Could not find any versions of model nope"}


def test_status_json_is_message_to_json_character_for_character():
  from serving.model_server import rest  # pylint: disable=import-outside-toplevel
  response = get_model_status_pb2.GetModelStatusResponse()
  assert rest.status_json(response) == json_format.MessageToJson(
      response, including_default_value_fields=True, indent=None)
  state = get_model_status_pb2.ModelVersionStatus.State
  response.model_version_status.add(version=3, state=state.AVAILABLE).status.SetInParent()
  failed = response.model_version_status.add(version=2, state=state.END)
  failed.status.error_code, failed.status.error_message = 3, 'bad "warmup"\n\u00e9'
  response.model_version_status.add(version=2**40, state=state.LOADING).status.SetInParent()
  assert rest.status_json(response) == json_format.MessageToJson(
      response, including_default_value_fields=True, indent=None)


def test_metadata_is_the_signature_def_map_as_tf_serving_prints_it(toy):
  reply = requests.get(_url(toy, "/v1/models/toy/labels/stable/metadata")).json()
  assert reply["model_spec"] == {"name": "toy", "signature_name": "", "version": "1"}
  defs = reply["metadata"]["signature_def"]["signature_def"]
  assert set(defs) == {"serving_default", "classification", "regression", "times", "multi", "echo",
                       "__saved_model_init_op"}
  examples = defs["serving_default"]["inputs"]["examples"]
  assert examples["dtype"] == "DT_STRING"
  assert examples["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
  assert defs["serving_default"]["method_name"] == "tensorflow/serving/predict"


def test_predict_row_and_columnar_formats(toy):
  assert _post(toy, "/v1/models/toy:predict", {"signature_name": "times", "instances": [1, 2.5]}).json() == {
      "predictions": [2.0, 5.0]}
  assert _post(toy, "/v1/models/toy/versions/1:predict", {"signature_name": "times",
                                                           "inputs": [1, 2.5]}).json() == {"outputs": [1.0, 2.5]}
  row = _post(toy, "/v1/models/toy:predict", {"signature_name": "multi", "instances": [
      {"a": [1, 2], "b": 3}, {"a": [0.5, 0.5], "b": -1}]}).json()
  assert row == {"predictions": [{"b_out": 6, "total": 6.0}, {"b_out": -2, "total": 0.0}]}
  columnar = _post(toy, "/v1/models/toy:predict", {"signature_name": "multi", "inputs": {
      "a": [[1, 2]], "b": [3], "ignored": 1}}).json()
  assert columnar == {"outputs": {"b_out": [6], "total": [6.0]}}


def test_predict_b64_examples_and_bytes_outputs(toy):
  b64 = base64.b64encode(_example(image=[0, 0, 1, 0])).decode()
  reply = _post(toy, "/v1/models/toy/labels/canary:predict", {"instances": [{"b64": b64}]}).json()
  (prediction,) = reply["predictions"]
  assert prediction["classes"] == 2
  assert np.argmax(prediction["probabilities"]) == 2 and abs(sum(prediction["probabilities"]) - 1) < 1e-5
  echo = _post(toy, "/v1/models/toy:predict", {"signature_name": "echo", "instances": ["hé", {"b64": "AP8="}]})
  assert echo.json() == {"predictions": [
      {"length": 3, "text_bytes": {"b64": base64.b64encode("hé".encode()).decode()}},
      {"length": 2, "text_bytes": {"b64": "AP8="}}]}


def test_classify_and_regress_with_context(toy):
  reply = _post(toy, "/v1/models/toy:classify", {
      "signature_name": "classification", "context": {"image": [0, 0, 0, 0]},
      "examples": [{"image": [1, 0, 0, 0]}, {}]}).json()
  first, second = reply["results"]
  assert [label for label, _ in first] == ["a", "b", "c", "d"]
  assert max(first, key=lambda c: c[1])[0] == "a"
  assert all(abs(score - 0.25) < 1e-6 for _, score in second)  # the context's all-zero image
  assert _post(toy, "/v1/models/toy:regress", {"signature_name": "regression",
                                              "examples": [{"x": 0.5}, {"x": 1.25}]}).json() == {
      "results": [1.0, 2.5]}


@pytest.mark.parametrize("path, body, status, message", [
    ("/v1/models/nope:predict", {"instances": [1]}, 404, "Servable not found for request: Latest(nope)"),
    ("/v1/models/toy/versions/9:predict", {"instances": [1]}, 404,
     "Servable not found for request: Specific(toy, 9)"),
    ("/v1/models/toy/labels/beta:predict", {"instances": [1]}, 400,
     "Unrecognized servable version label: beta"),
    ("/v1/models/toy:predict", {"signature_name": "nope", "instances": [1]}, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("/v1/models/toy:predict", "{bad", 400, "JSON Parse error: "),
    ("/v1/models/toy:predict", "", 400, "JSON Parse error: The document is empty"),
    ("/v1/models/toy:predict", "[1]", 400, "Is not object"),
    ("/v1/models/toy:predict", {"signature_name": "times"}, 400, "Missing 'inputs' or 'instances' key"),
    ("/v1/models/toy:predict", {"signature_name": "times", "inputs": [1], "instances": [1]}, 400,
     "expecting only one of 'inputs' or 'instances' keys to exist"),
    ("/v1/models/toy:predict", {"signature_name": "times", "instances": ["x"]}, 400,
     'JSON Value: "x" Type: String is not of expected type: float'),
    ("/v1/models/toy:predict", {"signature_name": "times", "instances": [[1, 2], [3]]}, 400,
     "Expecting tensor size: 2 but got: 1"),
    ("/v1/models/toy:predict", {"signature_name": "multi", "instances": [{"a": [1, 2]}]}, 400,
     "keys must be equal to: a,b"),
    ("/v1/models/toy:predict", {"signature_name": "multi", "inputs": {"a": [[1, 2]]}}, 400,
     "Missing named input: b in 'inputs' object."),
    ("/v1/models/toy:predict", {"signature_name": "times", "instances": [[1, 2]]}, 400, ""),
    ("/v1/models/toy:predict", {"instances": [{"b64": "bm90IGFuIGV4YW1wbGU="}]}, 400, ""),
    ("/v1/models/toy:predict", {"instances": [{"b64": base64.b64encode(b"\x0a\xff\xfe\x80").decode()}]}, 400, ""),
    ("/v1/models/toy:predict", {"instances": [{"b64": "%%%"}]}, 400, "Unable to base64 decode"),
    ("/v1/models/toy:regress", {"examples": [{"x": 1.0}]}, 400, "No regression inputs found in SignatureDef"),
    ("/v1/models/toy:classify", {"signature_name": "regression", "examples": [{"x": 1.0}]}, 400,
     'at least one of "classes" or "scores"'),
    ("/v1/models/toy:classify", {"signature_name": "classification", "examples": []}, 400,
     "'examples' value is an empty array"),
    ("/v1/models/toy:classify", {"signature_name": "classification", "examples": [{"image": [1, 2.5]}]},
     400, "Unexpected element type in feature: image expecting type: int64"),
    # integers beyond 64 bits are doubles to rapidjson; beyond a double, a parse error
    ("/v1/models/toy:classify", '{"examples": [{"image": [1, 0, 0, 100000000000000000000000]}]}', 400,
     "Unexpected element type in feature: image expecting type: int64"),
    ("/v1/models/toy:predict", '{"signature_name": "times", "instances": [1%s]}' % ("0" * 400), 400,
     "JSON Parse error: Number too big to be stored in double"),
])
def test_errors_are_tf_servings(toy, path, body, status, message):
  reply = _post(toy, path, body)
  assert reply.status_code == status, reply.text
  assert reply.headers["content-type"] == "application/json"
  assert message in reply.json()["error"]


def test_routing_quirks(toy):
  assert requests.get(_url(toy, "/v1/models")).json() == {"error": "Missing model name in request."}
  for method, path in (("GET", "/v1/foo"), ("POST", "/v1/models/toy/metadata"),
                       ("GET", "/v1/models/toy:predict"), ("PUT", "/v1/models/toy"),
                       ("POST", "/v1/models/toy:PREDICT")):
    reply = requests.request(method, _url(toy, path))
    assert reply.status_code == 400 and reply.json() == {"error": f"Malformed request: {method} {path}"}
  outside = requests.get(_url(toy, "/healthz"))
  assert outside.status_code == 404 and "Not Found" in outside.text
  # gzip bodies are accepted, as TF Serving accepts them
  body = gzip.compress(json.dumps({"signature_name": "times", "instances": [3]}).encode())
  reply = requests.post(_url(toy, "/v1/models/toy:predict"), data=body,
                        headers={"Content-Encoding": "gzip"})
  assert reply.json() == {"predictions": [6.0]}


def test_request_size_limit(toy):
  from serving.model_server import rest  # pylint: disable=import-outside-toplevel
  reply = requests.post(_url(toy, "/v1/models/toy:predict"), data=b" " * (rest.MAX_BODY_BYTES + 1))
  assert reply.status_code == 413 and "larger than" in reply.json()["error"]


# --- gRPC -----------------------------------------------------------------------------------

def _predict_request(name="toy", signature="times", values=(1.0, 2.0), version=None, label=None):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = name
  request.model_spec.signature_name = signature
  if version is not None:
    request.model_spec.version.value = version
  if label is not None:
    request.model_spec.version_label = label
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(values, np.float32)))
  return request


def test_grpc_predict_classify_regress_metadata_status(toy):
  predict, models = _stub(toy)
  response = predict.Predict(_predict_request(label="stable"))
  assert tf.make_ndarray(response.outputs["y"]).tolist() == [1.0, 2.0]
  assert response.outputs["y"].float_val == [1.0, 2.0]  # typed fields, as TF Serving sends
  assert (response.model_spec.name, response.model_spec.version.value,
          response.model_spec.signature_name) == ("toy", 1, "times")
  classify = classification_pb2.ClassificationRequest()
  classify.model_spec.name, classify.model_spec.signature_name = "toy", "classification"
  classify.input.example_list.examples.add().CopyFrom(tf.train.Example.FromString(_example([0, 3, 0, 0])))
  result = predict.Classify(classify).result.classifications[0].classes
  assert [c.label for c in result] == ["a", "b", "c", "d"] and max(result, key=lambda c: c.score).label == "b"
  regress = regression_pb2.RegressionRequest()
  regress.model_spec.name, regress.model_spec.signature_name = "toy", "regression"
  regress.input.example_list.examples.add().CopyFrom(tf.train.Example.FromString(_example(x=2.0)))
  assert [r.value for r in predict.Regress(regress).result.regressions] == [4.0]
  metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
  metadata.model_spec.name = "toy"
  reply = predict.GetModelMetadata(metadata)
  signatures = get_model_metadata_pb2.SignatureDefMap()
  reply.metadata["signature_def"].Unpack(signatures)
  assert "serving_default" in signatures.signature_def and reply.model_spec.version.value == 2
  status = get_model_status_pb2.GetModelStatusRequest()
  status.model_spec.name = "toy"
  states = [(s.version, s.state) for s in models.GetModelStatus(status).model_version_status]
  assert states == [(2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
                    (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]


@pytest.mark.parametrize("request_, code, message", [
    (_predict_request(name="nope"), grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
    (_predict_request(version=9), grpc.StatusCode.NOT_FOUND, "Specific(toy, 9)"),
    (_predict_request(label="beta"), grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: beta"),
    (_predict_request(signature="nope"), grpc.StatusCode.FAILED_PRECONDITION,
     'Serving signature key "nope" not found.'),
    (_predict_request(signature="multi"), grpc.StatusCode.INVALID_ARGUMENT, "input size does not match signature"),
])
def test_grpc_errors(toy, request_, code, message):
  predict, _ = _stub(toy)
  with pytest.raises(grpc.RpcError) as error:
    predict.Predict(request_)
  assert error.value.code() == code and message in error.value.details()


def test_grpc_metadata_needs_a_field(toy):
  predict, _ = _stub(toy)
  request = get_model_metadata_pb2.GetModelMetadataRequest()
  request.model_spec.name = "toy"
  with pytest.raises(grpc.RpcError) as error:
    predict.GetModelMetadata(request)
  assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert error.value.details() == "GetModelMetadataRequest must specify at least one metadata_field"


# --- versions, warmup, swaps, batching --------------------------------------------------------

def _warmup(signature, values):
  request = predict_pb2.PredictRequest()
  request.model_spec.signature_name = signature
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(values, np.float32)))
  return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def test_warmup_runs_before_available_and_a_failing_warmup_keeps_the_version_out(tmp_path):
  base = str(tmp_path / "m")
  _save(base, 1, 1.0, warmup_logs=[_warmup("times", [1.0])])
  models = config.single_model("m", base)
  with server.ModelServer(models, rest_port=0, grpc_port=0, poll_seconds=0.1) as s:
    _save(base, 2, 2.0, warmup_logs=[_warmup("no_such_signature", [1.0])])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
      states = requests.get(_url(s, "/v1/models/m")).json()["model_version_status"]
      if states[0]["version"] == "2" and states[0]["state"] == "END":
        break
      time.sleep(0.1)
    assert states[0]["state"] == "END" and states[0]["status"]["error_code"] == "FAILED_PRECONDITION"
    assert "no_such_signature" in states[0]["status"]["error_message"]
    assert states[1] == {"version": "1", "state": "AVAILABLE",
                         "status": {"error_code": "OK", "error_message": ""}}
    assert _post(s, "/v1/models/m:predict", {"signature_name": "times", "instances": [1]}).json() == {
        "predictions": [1.0]}  # still version 1


def test_version_swap_under_concurrent_load_fails_no_request(tmp_path):
  base = str(tmp_path / "m")
  _save(base, 1, 1.0)
  failures, answers, stop = [], set(), threading.Event()
  with server.ModelServer(config.single_model("m", base), rest_port=0, grpc_port=0,
                          poll_seconds=0.05) as s:

    def rest_client():
      session = requests.Session()
      while not stop.is_set():
        reply = session.post(_url(s, "/v1/models/m:predict"),
                             data=json.dumps({"signature_name": "times", "instances": [1]}))
        if reply.status_code != 200:
          failures.append(reply.text)
        else:
          answers.add(reply.json()["predictions"][0])

    def grpc_client():
      predict, _ = _stub(s)
      while not stop.is_set():
        try:
          answers.add(float(tf.make_ndarray(predict.Predict(
              _predict_request(name="m", values=[1.0])).outputs["y"])[0]))
        except grpc.RpcError as e:
          failures.append(e.details())

    threads = [threading.Thread(target=rest_client) for _ in range(4)]
    threads += [threading.Thread(target=grpc_client) for _ in range(4)]
    for thread in threads:
      thread.start()
    time.sleep(0.5)
    _save(str(tmp_path / "staging"), 2, 3.0)
    os.rename(str(tmp_path / "staging" / "2"), os.path.join(base, "2"))  # as the Pusher does
    time.sleep(2.0)
    shutil.rmtree(os.path.join(base, "1"))
    time.sleep(1.0)
    stop.set()
    for thread in threads:
      thread.join()
    states = requests.get(_url(s, "/v1/models/m")).json()["model_version_status"]
  assert failures == []
  assert answers == {1.0, 3.0}
  assert [(x["version"], x["state"]) for x in states] == [("2", "AVAILABLE"), ("1", "END")]


def test_batching_merges_concurrent_requests_with_identical_results(tmp_path, base):
  models = config.single_model("toy", os.path.join(base, "toy"))
  batching = config.BatchingConfig(max_batch_size=8, batch_timeout_micros=20_000)
  images = [[i % 5, (i * 3) % 7, i % 2, 1] for i in range(24)]
  with server.ModelServer(models, rest_port=0, grpc_port=0) as plain:
    expected = [_post(plain, "/v1/models/toy:predict", {"instances": [
        {"b64": base64.b64encode(_example(image)).decode()}]}).json() for image in images]
  with server.ModelServer(models, rest_port=0, grpc_port=0, batching_config=batching) as batched:
    results = [None] * len(images)

    def call(i):
      results[i] = _post(batched, "/v1/models/toy:predict", {"instances": [
          {"b64": base64.b64encode(_example(images[i])).decode()}]}).json()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(images))]
    for thread in threads:
      thread.start()
    for thread in threads:
      thread.join()
  for got, want in zip(results, expected):
    assert got["predictions"][0]["classes"] == want["predictions"][0]["classes"]
    np.testing.assert_allclose(got["predictions"][0]["probabilities"],
                               want["predictions"][0]["probabilities"], rtol=1e-6)


def test_config_file_policies_labels_and_errors(tmp_path, base):
  text = f"""model_config_list {{
    config {{ name: "toy" base_path: "{os.path.join(base, 'toy')}" model_platform: "tensorflow"
              model_version_policy {{ specific {{ versions: 1 }} }}
              version_labels {{ key: "stable" value: 1 }} }}
  }}"""
  models = config.parse_model_config(text)
  with server.ModelServer(models, rest_port=0, grpc_port=0) as s:
    states = requests.get(_url(s, "/v1/models/toy")).json()["model_version_status"]
    assert [x["version"] for x in states] == ["1"]
  for bad, message in (
      (text.replace('model_platform: "tensorflow"', ""), "neither ModelServerConfig::model_type"),
      (text.replace("name:", "nam:"), "Error parsing text-format ModelServerConfig"),
      (text.replace(os.path.join(base, "toy"), "relative/path"), "to have an absolute path or URI"),
      (text + text.replace("model_config_list", "").strip()[1:-1] and text.replace(
          "config {", "config { name: \"toy\" base_path: \"/tmp\" model_platform: \"tensorflow\" } config {", 1),
       "Illegal to list model toy multiple times")):
    with pytest.raises(config.ServerConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
      config.parse_model_config(bad)
  with pytest.raises(config.ServerConfigError, match="Last entry in allowed_batch_sizes must match"):
    config.parse_batching_parameters("max_batch_size { value: 16 } allowed_batch_sizes: 8")


# --- serving off the event loop, start-up, batching semantics ----------------------------------

def _timed_spin(s, n):
  started = time.perf_counter()
  reply = _post(s, "/v1/models/probe:predict", {"signature_name": "spin", "instances": [n]})
  assert reply.status_code == 200, reply.text
  return started, time.perf_counter()


def test_status_is_answered_while_a_slow_predict_runs(probe):
  """Inference runs on worker threads: the event loop answers status meanwhile (the old
  handler ran TensorFlow on the loop, so status waited for the whole predict)."""
  with server.ModelServer(probe, rest_port=0, grpc_port=0) as s:
    n = 1000
    while True:  # a predict of about two seconds on whatever CPU runs this
      started, ended = _timed_spin(s, n)
      if ended - started >= 0.25:
        break
      n *= 4
    n = int(n * 2.0 / (ended - started))
    spin = {}
    thread = threading.Thread(target=lambda: spin.update(zip(("started", "ended"), _timed_spin(s, n))))
    thread.start()
    time.sleep(0.5)  # the predict is running by now (a quarter of its expected time)
    asked = time.perf_counter()
    status = requests.get(_url(s, "/v1/models/probe"))
    answered = time.perf_counter()
    thread.join()
  assert status.status_code == 200
  duration = spin["ended"] - spin["started"]
  assert answered < spin["ended"], "status waited for the predict to finish"
  assert answered - asked < duration / 4, (answered - asked, duration)


def test_a_taken_port_is_an_oserror_and_leaves_no_thread_running(probe):
  taken = socket.socket()
  taken.bind(("127.0.0.1", 0))
  taken.listen()
  port = taken.getsockname()[1]
  before = set(threading.enumerate())
  try:
    for ports, which in (({"grpc_port": port, "rest_port": 0}, "gRPC"),
                         ({"rest_port": port, "grpc_port": 0}, "REST")):
      s = server.ModelServer(probe, batching_config=config.BatchingConfig(), poll_seconds=0.05, **ports)
      with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port} \\({which}\\)"):
        s.start()
  finally:
    taken.close()
  left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
  assert left == []


def _rows_request(signature, x):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = "probe"
  request.model_spec.signature_name = signature
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(x, np.float32)))
  return request


def _predict_outputs(s, request):
  predict, _ = _stub(s)
  response = predict.Predict(request)
  return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}


def test_batches_are_padded_to_the_lowest_allowed_size(probe):
  batching = config.BatchingConfig(max_batch_size=8, allowed_batch_sizes=(2, 4, 8),
                                   batch_timeout_micros=0)
  with server.ModelServer(probe, rest_port=0, grpc_port=0, batching_config=batching) as s:
    three = _predict_outputs(s, _rows_request("rows", [1, 2, 3]))
    one = _predict_outputs(s, _rows_request("rows", [5]))
  assert three["y"].tolist() == [2, 4, 6] and three["executed"].tolist() == [4, 4, 4]
  assert one["y"].tolist() == [10] and one["executed"].tolist() == [2]


def test_large_batch_splitting_executes_at_most_max_execution_batch_size(probe):
  x = [float(i) for i in range(10)]
  with server.ModelServer(probe, rest_port=0, grpc_port=0) as plain:
    unbatched = _predict_outputs(plain, _rows_request("rows", x))
  batching = config.BatchingConfig(max_batch_size=16, enable_large_batch_splitting=True,
                                   max_execution_batch_size=4, batch_timeout_micros=0)
  with server.ModelServer(probe, rest_port=0, grpc_port=0, batching_config=batching) as s:
    split = _predict_outputs(s, _rows_request("rows", x))
    predict, _ = _stub(s)
    with pytest.raises(grpc.RpcError) as error:
      predict.Predict(_rows_request("rows", [0.0] * 17))
  assert unbatched["executed"].tolist() == [10] * 10
  assert split["executed"].tolist() == [4] * 8 + [2] * 2  # input_split_metadata.cc: 4, 4, 2
  np.testing.assert_array_equal(split["y"], unbatched["y"])
  assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert error.value.details() == "Task size 17 is larger than maximum input batch size 16"


def test_variable_length_inputs_are_padded_with_their_first_element(probe):
  batching = config.BatchingConfig(max_batch_size=2, batch_timeout_micros=5_000_000,
                                   pad_variable_length_inputs=True)
  results = {}
  with server.ModelServer(probe, rest_port=0, grpc_port=0, batching_config=batching) as s:
    calls = [threading.Thread(target=lambda k=k, x=x: results.update({k: _predict_outputs(
        s, _rows_request("ragged", x))})) for k, x in (("short", [[1, 2]]), ("long", [[5, 6, 7]]))]
    for call in calls:
      call.start()
    for call in calls:
      call.join()
  assert results["short"]["y"].tolist() == [[1, 2, 1]]  # batching_util.cc AddPadding
  assert results["long"]["y"].tolist() == [[5, 6, 7]]
  assert results["short"]["executed"].tolist() == results["long"]["executed"].tolist() == [2]


@pytest.mark.parametrize("text, message", [
    ("max_batch_size { value: 8 } max_execution_batch_size { value: 4 }",
     "max_execution_batch_size is used only with enable_large_batch_splitting"),
    ("max_batch_size { value: 4 } enable_large_batch_splitting { value: true } "
     "max_execution_batch_size { value: 8 }", "must be greater than or equal to max_execution_batch_size"),
    ("max_batch_size { value: 8 } allowed_batch_sizes: 4 allowed_batch_sizes: 2 allowed_batch_sizes: 8",
     "monotonically increasing"),
    ("max_batch_size { value: 8 } enable_large_batch_splitting { value: true } "
     "max_execution_batch_size { value: 4 } allowed_batch_sizes: 2 allowed_batch_sizes: 8",
     "Last entry in allowed_batch_sizes must be equal to max_execution_batch_size"),
    ("num_batch_threads { value: 0 }", "num_batch_threads must be positive; was 0"),
    ("batch_timeout_micros { value: -1 }", "batch_timeout_micros must be non-negative"),
    ("enable_large_batch_splitting { value: true } max_enqueued_batches { value: 0 }",
     "max_enqueued_batches must be positive; was 0"),
])
def test_batching_parameters_tf_serving_refuses_are_one_line_errors(text, message):
  with pytest.raises(config.ServerConfigError) as error:
    config.parse_batching_parameters(text, source="b.txt")
  assert str(error.value).startswith("b.txt: ") and message in str(error.value)
  assert "\n" not in str(error.value)


def test_every_batching_field_reaches_the_config():
  parsed = config.parse_batching_parameters(
      'max_batch_size { value: 8 } thread_pool_name { value: "pool" } allowed_batch_sizes: 4 '
      "allowed_batch_sizes: 8 pad_variable_length_inputs: true enable_large_batch_splitting "
      "{ value: true } max_execution_batch_size { value: 8 }")
  assert (parsed.thread_pool_name, parsed.allowed_batch_sizes, parsed.pad_variable_length_inputs,
          parsed.enable_large_batch_splitting, parsed.execution_batch_size) == (
              "pool", (4, 8), True, True, 8)
