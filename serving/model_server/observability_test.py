"""TF Serving's metrics, request logs and health service, over real HTTP and gRPC and real files.

Metrics are process-wide (as TensorFlow's registry is), so each test reads deltas
of the Prometheus page its own server serves. Logs are read back with
tf.data.TFRecordDataset, as TF Serving's own tools and `mnist-tfx monitor` read
them; `mnist-tfx serve` runs as its own process where a signal or the exit code
is the point.
"""

import contextlib
import gzip
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import grpc
import pytest
import requests
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import (classification_pb2, inference_pb2, input_pb2, predict_pb2,
                                     prediction_log_pb2, prediction_service_pb2_grpc, regression_pb2)

from serving.model_server import config, metrics, request_log, server
from tests import fixtures

PATH = "/monitoring/prometheus/metrics"
_NAME = re.compile(r"^(?P<prefix>.+)-(?P<start>\d{8}T\d{6}Z)-(?P<pid>\d+)-(?P<n>\d{5})\.tfrecord(?P<gz>\.gz)?$")


class _Toy(tf.Module):
  """Predict on floats, classify and regress on tf.Examples (feature x: one float)."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
  def times(self, x):
    return {"y": x * 2}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
  def classify(self, inputs):
    x = tf.io.parse_example(inputs, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
    scores = tf.concat([x, 1 - x], axis=1)
    return {"scores": scores, "classes": tf.tile(tf.constant([["a", "b"]]), [tf.shape(x)[0], 1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
  def regress(self, inputs):
    x = tf.io.parse_example(inputs, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]
    return {"outputs": tf.reshape(x * 3, [-1])}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("observed") / "toy")
  module = _Toy()
  tf.saved_model.save(module, os.path.join(path, "1"), signatures={
      "serving_default": module.times, "classification": module.classify,
      "regression": module.regress})
  return path


def _logged(name, base, prefix, rate, kind="tfrecord"):
  return config.ModelConfig(name, base, logging=config.LoggingConfig(kind, prefix, rate))


@contextlib.contextmanager
def _server(models, **kwargs):
  with server.ModelServer(models, rest_port=0, grpc_port=0, poll_seconds=0.2, prometheus_path=PATH,
                          **kwargs) as s:
    yield s


def _families(s):
  reply = requests.get(f"http://127.0.0.1:{s.rest_port}{PATH}")
  assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
  return reply.text, {f.name: f for f in text_string_to_metric_families(reply.text)}


def _samples(s):
  """{(sample name as the page writes it, sorted labels): value} of the whole page.

  prometheus_client's parser reports a counter's samples as <name>_total (OpenMetrics'
  naming); the page, as TF Serving's, has no suffix: the name of the `# TYPE` line is used."""
  text, families = _families(s)
  typed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
  out = {}
  for family in families.values():
    for x in family.samples:
      name = x.name if x.name in typed or family.type != "counter" else x.name[:-len("_total")]
      out[(name, tuple(sorted(x.labels.items())))] = x.value
  return out


def _delta(before, after):
  return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def _count(model, status):
  return (":tensorflow:serving:request_count", (("model_name", model), ("status", status)))


def _latency_count(model, api, entrypoint):
  return (":tensorflow:serving:request_latency_count",
          (("API", api), ("entrypoint", entrypoint), ("model_name", model)))


def _example(x):
  return tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}))


def _stub(s):
  return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}"))


def _predict_request(model="toy", values=(1.0, 2.0), signature=""):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = signature
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(list(values), dtype=tf.float32))
  return request


def _read_logs(paths):
  out = []
  for path in sorted(paths):
    compression = "GZIP" if path.endswith(".gz") else ""
    for record in tf.data.TFRecordDataset(path, compression_type=compression):
      out.append(prediction_log_pb2.PredictionLog.FromString(record.numpy()))
  return out


def _wait_for(predicate, seconds=5.0):
  deadline = time.monotonic() + seconds
  while not predicate():
    if time.monotonic() > deadline:
      return False
    time.sleep(0.02)
  return True


def _log_total(s, model, status="OK"):
  return _samples(s).get((":tensorflow:serving:request_log_count",
                          (("model_name", model), ("status_code", status))), 0)


# --- metrics --------------------------------------------------------------------------------

def test_metric_deltas_are_the_requests_sent_per_status_api_and_entrypoint(base):
  with _server([config.ModelConfig("toy", base)]) as s:
    url = f"http://127.0.0.1:{s.rest_port}/v1/models"
    stub = _stub(s)
    before = _samples(s)
    for _ in range(3):
      assert requests.post(f"{url}/toy:predict", json={"instances": [1.0]}).status_code == 200
    assert requests.post(f"{url}/toy:predict", json={"instances": ["a"]}).status_code == 400
    assert requests.post(f"{url}/nope:predict", json={"instances": [1.0]}).status_code == 404
    examples = [{"x": 0.25}, {"x": 0.5}]
    assert requests.post(f"{url}/toy:classify", json={"signature_name": "classification",
                                                      "examples": examples}).status_code == 200
    assert requests.post(f"{url}/toy:regress", json={"signature_name": "regression",
                                                     "examples": examples}).status_code == 200
    assert requests.get(f"{url}/toy").status_code == 200
    stub.Predict(_predict_request())
    stub.Predict(_predict_request())
    with pytest.raises(grpc.RpcError) as e:
      stub.Predict(_predict_request(model="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
      stub.Predict(_predict_request(signature="missing"))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = "toy"
    classify.model_spec.signature_name = "classification"
    classify.input.example_list.examples.extend([_example(0.1), _example(0.2), _example(0.3)])
    stub.Classify(classify)
    multi = inference_pb2.MultiInferenceRequest(input=classify.input)
    task = multi.tasks.add(method_name="tensorflow/serving/regress")
    task.model_spec.name, task.model_spec.signature_name = "toy", "regression"
    stub.MultiInference(multi)
    delta = _delta(before, _samples(s))
  assert delta[_count("toy", "OK")] == 3 + 2 + 1 + 2 + 2  # REST predict, classify+regress, status; gRPC
  assert delta[_count("toy", "INVALID_ARGUMENT")] == 1
  assert delta[_count("toy", "FAILED_PRECONDITION")] == 1
  assert delta[_count("nope", "NOT_FOUND")] == 2
  assert delta[_latency_count("toy", "predict", "REST")] == 3  # successes only
  assert delta[_latency_count("toy", "classify", "REST")] == 1
  assert delta[_latency_count("toy", "regress", "REST")] == 1
  assert delta[_latency_count("toy", "", "REST")] == 1  # a GET: TF Serving's method is empty
  assert delta[_latency_count("toy", "Predict", "GRPC")] == 2
  assert delta[_latency_count("toy", "Classify", "GRPC")] == 1
  assert delta[_latency_count("toy", "MultiInference", "GRPC")] == 1
  assert _latency_count("nope", "predict", "REST") not in delta
  runtime = lambda api: delta[(":tensorflow:serving:runtime_latency_count",  # noqa: E731
                               (("API", api), ("model_name", "toy"), ("runtime", "TF1")))]
  assert runtime("Predict") == 3 + 2 and runtime("Classify") == 2 and runtime("Regress") == 1
  # Examples: REST classify 2 + regress 2, gRPC classify 3 + multi-inference 3.
  assert delta[(":tensorflow:serving:request_example_count_total", (("model", "toy"),))] == 10
  assert delta[(":tensorflow:serving:request_example_counts_count", (("model", "toy"),))] == 4


def test_the_page_is_tf_servings_exposition_and_prometheus_parses_it(base):
  with _server([config.ModelConfig("toy", base)]) as s:
    requests.post(f"http://127.0.0.1:{s.rest_port}/v1/models/toy:predict", json={"instances": [1.0]})
    text, families = _families(s)
  assert text.endswith("\n") and "# HELP" not in text and "_total{" not in text.replace(
      "request_example_count_total{", "")
  types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
  assert [n for n, _ in types] == sorted(n for n, _ in types)  # std::map order of TF names
  assert dict(types)[":tensorflow:serving:request_count"] == "counter"
  assert dict(types)[":tensorflow:serving:request_latency"] == "histogram"
  assert families[":tensorflow:serving:request_count"].type == "counter"
  latency = families[":tensorflow:serving:request_latency"]
  buckets = [x for x in latency.samples if x.name.endswith("_bucket")
             and x.labels["API"] == "predict" and x.labels["model_name"] == "toy"]
  limits = [x.labels["le"] for x in buckets]
  assert len(limits) == 34 and limits[-1] == "+Inf"  # Exponential(10, 1.8, 33) + the DBL_MAX bucket
  assert [float(v) for v in limits[:-1]] == pytest.approx(metrics.exponential(10, 1.8, 33), rel=1e-5)
  assert limits[:4] == ["10", "18", "32.4", "58.32"]
  counts = [x.value for x in buckets]
  assert counts == sorted(counts)  # cumulative
  lines = [line for line in text.splitlines() if line.startswith(":tensorflow:serving:request_latency_")
           and 'API="predict"' in line and 'model_name="toy"' in line]
  assert lines[-3].endswith(f'le="+Inf"}} {int(counts[-1])}')
  assert lines[-2].startswith(":tensorflow:serving:request_latency_sum{")
  assert lines[-1] == f':tensorflow:serving:request_latency_count{{model_name="toy",API="predict",' \
                      f'entrypoint="REST"}} {int(counts[-1])}'


def test_metric_names_and_values_as_the_exporter_writes_them():
  assert metrics.prometheus_name("/tensorflow/serving/batching_session/queuing_latency") == \
      ":tensorflow:serving:batching_session:queuing_latency"
  sampler = metrics.Sampler("/x/y-z", ("a b", "9c"), (1.0, 2.0))
  counter = metrics.Counter("/x/c", ("k",))
  metrics.enable()
  for value in (0.5, 1.0, 1.5, 7.0):  # upper_bound: 1.0 falls in [1, 2)
    sampler.add('q"\\', "v", value=value)
  counter.increment("v", by=3)
  assert sampler.lines() == [
      "# TYPE :x:y:z histogram",
      ':x:y:z_bucket{a_b="q\\"\\\\",_9c="v",le="1"} 1',
      ':x:y:z_bucket{a_b="q\\"\\\\",_9c="v",le="2"} 3',
      ':x:y:z_bucket{a_b="q\\"\\\\",_9c="v",le="+Inf"} 4',
      ':x:y:z_sum{a_b="q\\"\\\\",_9c="v"} 10',
      ':x:y:z_count{a_b="q\\"\\\\",_9c="v"} 4']
  assert counter.lines() == ["# TYPE :x:c counter", ':x:c{k="v"} 3']


def test_batching_records_queuing_latency_per_task(base):
  batching = config.BatchingConfig(max_batch_size=8, batch_timeout_micros=2000, thread_pool_name="pool_t")
  with _server([config.ModelConfig("toy", base)], batching_config=batching) as s:
    before = _samples(s)
    for _ in range(3):
      _stub(s).Predict(_predict_request())
    delta = _delta(before, _samples(s))
  assert delta[(":tensorflow:serving:batching_session:queuing_latency_count",
                (("thread_pool_name", "pool_t"),))] == 3
  assert delta[(":tensorflow:serving:runtime_latency_count",
                (("API", "Predict"), ("model_name", "toy"), ("runtime", "TF1")))] == 3


def test_warmup_latency_is_recorded_per_model_path(tmp_path, base):
  from serving import warmup  # pylint: disable=import-outside-toplevel
  version = str(tmp_path / "warm")
  shutil.copytree(os.path.join(base, "1"), os.path.join(version, "1"))
  warmup.write(os.path.join(version, "1"), [warmup.predict_log("serving_default", {"x": [1.0, 2.0]})] * 2)
  with _server([config.ModelConfig("warm", version)]) as s:
    samples = _samples(s)
  export_dir = os.path.join(version, "1")
  assert samples[(":tensorflow:serving:model_warmup_latency_count",
                  (("model_path", export_dir), ("status", "OK")))] == 1
  assert samples[(":tensorflow:serving:model_warmup_records_read",
                  (("model_path", export_dir), ("status", "OK")))] == 2


# --- request logs ---------------------------------------------------------------------------

def test_sampling_is_uniform_at_the_configured_rate(tmp_path, base):
  prefix = str(tmp_path / "logs" / "toy")
  with _server([_logged("toy", base, prefix, 0.25)]) as s:
    body = {"instances": [1.0]}
    url = f"http://127.0.0.1:{s.rest_port}/v1/models/toy:predict"
    with requests.Session() as session:
      for _ in range(400):
        assert session.post(url, json=body).status_code == 200
    files = s.loggers["toy"].files
  logged = len(_read_logs(files))
  mean, sigma = 400 * 0.25, math.sqrt(400 * 0.25 * 0.75)
  assert abs(logged - mean) <= 4 * sigma, logged


def test_every_successful_request_is_logged_as_its_grpc_messages_and_no_failed_one(tmp_path, base):
  prefix = str(tmp_path / "logs" / "toy")
  with _server([_logged("toy", base, prefix, 1.0, "tfrecord_gzip")]) as s:
    url = f"http://127.0.0.1:{s.rest_port}/v1/models/toy"
    logged_before = _log_total(s, "toy")  # metrics are process-wide
    assert requests.post(f"{url}/versions/1:predict", json={"instances": [1.5, 2.5]}).status_code == 200
    assert requests.post(f"{url}:predict", json={"instances": ["bad"]}).status_code == 400
    assert requests.post(f"{url}:classify", json={
        "signature_name": "classification", "examples": [{}]}).status_code == 400  # no feature x
    assert requests.post(f"{url}:classify", json={
        "signature_name": "classification", "examples": [{"x": 0.25}]}).status_code == 200
    assert requests.post(f"{url}:regress", json={
        "signature_name": "regression", "context": {"x": 0.5}, "examples": [{}]}).status_code == 200
    stub = _stub(s)
    grpc_request = _predict_request(values=(4.0,))
    grpc_response = stub.Predict(grpc_request)
    with pytest.raises(grpc.RpcError):
      stub.Predict(_predict_request(signature="missing"))
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name, regress.model_spec.signature_name = "toy", "regression"
    regress.input.example_list.examples.append(_example(2.0))
    stub.Regress(regress)
    multi = inference_pb2.MultiInferenceRequest(input=regress.input)
    task = multi.tasks.add(method_name="tensorflow/serving/classify")
    task.model_spec.name, task.model_spec.signature_name = "toy", "classification"
    stub.MultiInference(multi)
    assert _wait_for(lambda: _log_total(s, "toy") >= logged_before + 6)
    files = list(s.loggers["toy"].files)
  logs = _read_logs(files)
  assert [log.WhichOneof("log_type") for log in logs] == [
      "predict_log", "classify_log", "regress_log", "predict_log", "regress_log", "multi_inference_log"]
  for log in logs:
    metadata = log.log_metadata
    assert metadata.model_spec.name == "toy" and metadata.model_spec.version.value == 1
    assert metadata.sampling_config.sampling_rate == 1.0 and list(metadata.saved_model_tags) == ["serve"]
    assert abs(metadata.timestamp_secs - time.time()) < 120
  rest_predict = logs[0].predict_log
  assert logs[0].log_metadata.model_spec.signature_name == "serving_default"
  expected = predict_pb2.PredictRequest()  # what TF Serving converts the REST body to
  expected.model_spec.name = "toy"
  expected.model_spec.version.value = 1
  expected.inputs["x"].CopyFrom(tf.make_tensor_proto([1.5, 2.5], dtype=tf.float32))
  assert tf.make_ndarray(rest_predict.request.inputs["x"]).tolist() == [1.5, 2.5]
  assert list(rest_predict.request.inputs["x"].float_val) == [1.5, 2.5]  # typed field, as json_tensor.cc
  rest_predict.request.inputs["x"].ClearField("float_val")
  expected.inputs["x"].ClearField("tensor_content")
  assert rest_predict.request == expected
  assert tf.make_ndarray(rest_predict.response.outputs["y"]).tolist() == [3.0, 5.0]
  assert rest_predict.response.model_spec.version.value == 1
  classify = logs[1].classify_log
  assert classify.request.model_spec.signature_name == "classification"
  assert classify.request.input == input_pb2.Input(example_list=input_pb2.ExampleList(examples=[_example(0.25)]))
  assert [c.label for c in classify.response.result.classifications[0].classes] == ["a", "b"]
  assert classify.response.result.classifications[0].classes[0].score == pytest.approx(0.25)
  regress_rest = logs[2].regress_log
  assert regress_rest.request.input.example_list_with_context.context == _example(0.5)
  assert regress_rest.response.result.regressions[0].value == pytest.approx(1.5)
  assert logs[3].predict_log.request == grpc_request and logs[3].predict_log.response == grpc_response
  assert logs[4].regress_log.request == regress
  assert logs[5].multi_inference_log.request == multi
  assert len(logs[5].multi_inference_log.response.results) == 1


def test_files_rotate_by_size_and_are_named_as_documented(tmp_path, base):
  prefix = str(tmp_path / "rotating" / "toy")
  with _server([_logged("toy", base, prefix, 1.0)], log_rotation=(600, 3600.0)) as s:
    url = f"http://127.0.0.1:{s.rest_port}/v1/models/toy:predict"
    logged_before = _log_total(s, "toy")
    for i in range(12):
      requests.post(url, json={"instances": [float(i)] * 4})
      assert _wait_for(lambda: _log_total(s, "toy") >= logged_before + i + 1)  # a write each: > 600 B
    files = list(s.loggers["toy"].files)
  assert len(files) >= 3 and sorted(os.listdir(tmp_path / "rotating")) == sorted(map(os.path.basename, files))
  for n, path in enumerate(files):
    match = _NAME.match(path)
    assert match and match["prefix"] == prefix and int(match["pid"]) == os.getpid()
    assert int(match["n"]) == n and match["gz"] is None
  logs = _read_logs(files)
  assert [tf.make_ndarray(log.predict_log.request.inputs["x"])[0] for log in logs] == list(range(12))


def test_a_full_disk_drops_and_counts_records_and_the_server_keeps_answering(tmp_path, base):
  mount = tmp_path / "small"
  mount.mkdir()
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                           capture_output=True).returncode == 0
  fixtures.require(mounted, "mounting a 64 KiB tmpfs (needs root) to fill a disk")
  try:
    with _server([_logged("toy", base, str(mount / "toy"), 1.0)]) as s:
      url = f"http://127.0.0.1:{s.rest_port}/v1/models/toy:predict"
      ok0, dropped0 = _log_total(s, "toy"), _log_total(s, "toy", "RESOURCE_EXHAUSTED")
      body = {"instances": [1.0] * 200}  # ~1.2 KB a record, ~12 a write: full after a few writes
      with requests.Session() as session:
        for _ in range(60):
          reply = session.post(url, json=body)
          assert reply.status_code == 200
          time.sleep(0.02)
        assert session.post(url, json={"instances": [2.0]}).json() == {"predictions": [4.0]}
      assert _wait_for(lambda: _log_total(s, "toy") + _log_total(s, "toy", "RESOURCE_EXHAUSTED")
                       >= ok0 + dropped0 + 61)
      ok, dropped = _log_total(s, "toy") - ok0, _log_total(s, "toy", "RESOURCE_EXHAUSTED") - dropped0
      files = list(s.loggers["toy"].files)
    assert ok > 0 and dropped > 0 and ok + dropped == 61
    assert len(_read_logs(files)) == ok  # every file ends at its last complete record
  finally:
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_queue_drops_and_counts_records(tmp_path, base):
  prefix = str(tmp_path / "logs" / "toy")
  with _server([_logged("toy", base, prefix, 1.0)], log_queue_records=1) as s:
    logger = s.loggers["toy"]
    gate = threading.Event()
    empty = prediction_log_pb2.PredictionLog
    logger.submit(lambda: (gate.wait(10), empty())[1])  # the writer thread is now busy with this one
    time.sleep(2 * request_log.FLUSH_INTERVAL_S)
    logger.submit(empty)  # fills the queue
    before = _log_total(s, "toy", "UNAVAILABLE")
    reply = requests.post(f"http://127.0.0.1:{s.rest_port}/v1/models/toy:predict", json={"instances": [1.0]})
    assert reply.status_code == 200
    assert _log_total(s, "toy", "UNAVAILABLE") == before + 1
    gate.set()


# --- `mnist-tfx serve` as a process ---------------------------------------------------------

def _free_port():
  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


@contextlib.contextmanager
def _serve(tmp_path, base, kind):
  prefix = str(tmp_path / "logs" / "toy")
  model_config = tmp_path / "models.config"
  model_config.write_text(
      f'model_config_list {{ config {{ name: "toy" base_path: "{base}" model_platform: "tensorflow" '
      f'logging_config {{ log_collector_config {{ type: "{kind}" filename_prefix: "{prefix}" }} '
      'sampling_config { sampling_rate: 1.0 } } } }')
  rest, grpc_port = _free_port(), _free_port()
  proc = subprocess.Popen(fixtures.CLI + ["serve", "--model-config-file", str(model_config),
                                          "--rest-port", str(rest), "--grpc-port", str(grpc_port)],
                          cwd=fixtures.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    url = f"http://127.0.0.1:{rest}/v1/models/toy"
    assert _wait_for(lambda: _up(url, proc), 120), proc.stderr.read() if proc.poll() is not None else ""
    yield proc, url, prefix
  finally:
    if proc.poll() is None:
      proc.kill()
    proc.communicate()


def _up(url, proc):
  if proc.poll() is not None:
    return True
  with contextlib.suppress(requests.ConnectionError):
    return requests.get(url, timeout=2).status_code == 200
  return False


def _files(prefix):
  directory = os.path.dirname(prefix)
  return sorted(os.path.join(directory, f) for f in os.listdir(directory))


@pytest.mark.parametrize("kind", ["tfrecord_gzip", "tfrecord"])
def test_a_sigkilled_server_leaves_every_record_it_answered_readable(tmp_path, base, kind):
  with _serve(tmp_path, base, kind) as (proc, url, prefix):
    for i in range(20):
      assert requests.post(f"{url}:predict", json={"instances": [float(i)]}).status_code == 200
    time.sleep(1.0)  # records reach the file within 1 s
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
  (path,) = _files(prefix)
  assert path.endswith(".tfrecord.gz" if kind == "tfrecord_gzip" else ".tfrecord")
  logs = _read_logs([path])  # no error: the file ends at a complete record
  assert [tf.make_ndarray(log.predict_log.request.inputs["x"]).tolist() for log in logs] == [
      [float(i)] for i in range(20)]


def test_sigterm_closes_the_files(tmp_path, base):
  with _serve(tmp_path, base, "tfrecord_gzip") as (proc, url, prefix):
    for i in range(5):
      requests.post(f"{url}:predict", json={"instances": [float(i)]})
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
  (path,) = _files(prefix)
  with gzip.open(path) as f:  # a gzip stream with its trailer: gzip raises EOFError on a cut one
    data = f.read()
  assert len(data) > 0 and len(_read_logs([path])) == 5


@pytest.mark.parametrize("logging_config, message", [
    ('log_collector_config { type: "tfrecord" filename_prefix: "PREFIX" } '
     'sampling_config { sampling_rate: 1.5 }', "sampling_rate 1.5 is outside [0, 1]"),
    ('log_collector_config { type: "kafka" filename_prefix: "PREFIX" } '
     'sampling_config { sampling_rate: 0.5 }', "unknown log_collector_config type 'kafka'"),
    ('log_collector_config { type: "tfrecord" filename_prefix: "FILE/sub/toy" } '
     'sampling_config { sampling_rate: 0.5 }', "cannot create the directory"),
])
def test_a_bad_logging_config_is_one_line_and_exit_2(tmp_path, base, logging_config, message):
  (tmp_path / "file").write_text("")
  text = logging_config.replace("PREFIX", str(tmp_path / "logs" / "toy")).replace(
      "FILE", str(tmp_path / "file"))
  model_config = tmp_path / "models.config"
  model_config.write_text(f'model_config_list {{ config {{ name: "toy" base_path: "{base}" '
                          f'model_platform: "tensorflow" logging_config {{ {text} }} }} }}')
  result = fixtures.run_cli(["serve", "--model-config-file", str(model_config)], timeout=120)
  assert result.returncode == 2 and message in result.stderr, result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_bad_monitoring_config_is_one_line_and_exit_2(tmp_path, base):
  monitoring = tmp_path / "monitoring.config"
  monitoring.write_text("prometheus_config { enable: maybe }")
  result = fixtures.run_cli(["serve", "--model-base-path", base, "--monitoring-config-file",
                             str(monitoring)], timeout=120)
  assert result.returncode == 2 and "Error parsing text-format MonitoringConfig" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1


def test_monitoring_config_paths():
  assert config.parse_monitoring_config('prometheus_config { enable: true path: "" }') == PATH
  assert config.parse_monitoring_config('prometheus_config { enable: true path: "/m" }') == "/m"
  assert config.parse_monitoring_config('prometheus_config { enable: false }') is None
  assert config.parse_monitoring_config("") is None


# --- health ---------------------------------------------------------------------------------

def test_health_is_not_serving_until_every_model_has_an_available_version(tmp_path, base):
  late = tmp_path / "late"
  late.mkdir()
  models = [config.ModelConfig("toy", base), config.ModelConfig("late", str(late))]
  with _server(models) as s:
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}"))
    check = lambda service: stub.Check(health_pb2.HealthCheckRequest(service=service)).status  # noqa: E731
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    assert check("") == not_serving and check("late") == not_serving and check("toy") == serving
    with pytest.raises(grpc.RpcError) as e:
      check("unknown")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    shutil.copytree(os.path.join(base, "1"), late / "1")
    assert _wait_for(lambda: check("") == serving, 10)
    assert check("late") == serving
