"""The mnist-tfx-client wheel (client/): its generated protos are TensorFlow's on the wire, it needs no TF.

The wheel is built once from a copy of the checkout (client/setup.py, protos generated
by client/protogen.py) and unpacked into a directory that subprocesses put first on
their path. "Bundled only" subprocesses also refuse to import TensorFlow, TF Serving's
modules and the pipeline's packages (_BLOCK), so anything of them the client touched
would fail there. The server is this project's (serving/model_server), in this process,
serving a real classifier fitted here on real MNIST; the fresh-venv test installs the
wheel where TensorFlow is not installed at all.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract
from serving.model_server import config, server
from tests import fixtures

_IGNORE = shutil.ignore_patterns(".venv", ".git", "tfx_home", "build", "*.egg-info", "__pycache__",
                                 "results", "docs", "_generated", "dist")
# Prepended to a "bundled only" subprocess: importing any of these fails there.
_BLOCK = """
import sys
class _Refuse:
  BLOCKED = ("tensorflow", "tensorflow_serving", "tfx", "apache_beam", "runners", "pipelines", "models")
  def find_spec(self, name, path=None, target=None):
    if name.split(".")[0] in self.BLOCKED:
      raise ModuleNotFoundError(f"blocked in this test: {name}", name=name)
sys.meta_path.insert(0, _Refuse())
"""
# Builds the same messages from a namespace `pb` of *_pb2 modules: the bundled ones
# (serving.client.protos) or TensorFlow's. Deterministic serialization: maps in key order.
_BUILD = """
import sys


def build(pb):
  def example(digit):
    return pb.example_pb2.Example(features=pb.feature_pb2.Features(feature={
        "image": pb.feature_pb2.Feature(int64_list=pb.feature_pb2.Int64List(value=[digit * 7 % 256] * 784)),
        "name": pb.feature_pb2.Feature(bytes_list=pb.feature_pb2.BytesList(value=[b"seven", "\\u00e9".encode()])),
        "scale": pb.feature_pb2.Feature(float_list=pb.feature_pb2.FloatList(value=[0.5, -1e-3]))}))
  def shape(*dims):
    return pb.tensor_shape_pb2.TensorShapeProto(dim=[pb.tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])
  def spec(message, signature="serving_default"):
    message.model_spec.name = "mnist"
    message.model_spec.version.value = 3
    message.model_spec.signature_name = signature
    return message
  out = {}
  out["Example"] = example(7)
  request = spec(pb.predict_pb2.PredictRequest(output_filter=["probabilities"]))
  request.inputs["examples"].CopyFrom(pb.tensor_pb2.TensorProto(
      dtype=pb.types_pb2.DT_STRING, tensor_shape=shape(2),
      string_val=[example(i).SerializeToString(deterministic=True) for i in (1, 2)]))
  request.inputs["x"].CopyFrom(pb.tensor_pb2.TensorProto(
      dtype=pb.types_pb2.DT_FLOAT, tensor_shape=shape(2, 2), tensor_content=bytes(range(16))))
  request.inputs["n"].CopyFrom(pb.tensor_pb2.TensorProto(
      dtype=pb.types_pb2.DT_INT64, tensor_shape=shape(3), int64_val=[1, -2, 2 ** 40]))
  out["PredictRequest"] = request
  response = pb.predict_pb2.PredictResponse()
  response.model_spec.name = "mnist"
  response.outputs["probabilities"].CopyFrom(pb.tensor_pb2.TensorProto(
      dtype=pb.types_pb2.DT_FLOAT, tensor_shape=shape(1, 10), float_val=[0.1] * 10))
  out["PredictResponse"] = response
  classify = spec(pb.classification_pb2.ClassificationRequest(), "classification")
  classify.input.example_list.examples.extend([example(3), example(4)])
  out["ClassificationRequest"] = classify
  classified = pb.classification_pb2.ClassificationResponse()
  classified.result.classifications.add().classes.add(label="3", score=0.75)
  out["ClassificationResponse"] = classified
  regress = spec(pb.regression_pb2.RegressionRequest(), "regression")
  regress.input.example_list_with_context.examples.add().CopyFrom(example(5))
  regress.input.example_list_with_context.context.CopyFrom(example(6))
  out["RegressionRequest"] = regress
  multi = pb.inference_pb2.MultiInferenceRequest()
  multi.tasks.add(method_name="tensorflow/serving/classify").model_spec.name = "mnist"
  multi.input.example_list.examples.add().CopyFrom(example(8))
  out["MultiInferenceRequest"] = multi
  status = pb.get_model_status_pb2.GetModelStatusRequest()
  status.model_spec.name, status.model_spec.version_label = "mnist", "stable"
  out["GetModelStatusRequest"] = status
  statuses = pb.get_model_status_pb2.GetModelStatusResponse()
  version = statuses.model_version_status.add(version=3, state=pb.get_model_status_pb2.ModelVersionStatus.AVAILABLE)
  version.status.error_code, version.status.error_message = 5, "not found"
  out["GetModelStatusResponse"] = statuses
  out["GetModelMetadataRequest"] = spec(pb.get_model_metadata_pb2.GetModelMetadataRequest(
      metadata_field=["signature_def"]))
  signatures = pb.get_model_metadata_pb2.SignatureDefMap()
  signature = signatures.signature_def["serving_default"]
  signature.method_name = "tensorflow/serving/predict"
  signature.inputs["examples"].name = "serving_default_examples:0"
  signature.inputs["examples"].dtype = pb.types_pb2.DT_STRING
  signature.outputs["probabilities"].tensor_shape.CopyFrom(shape(-1, 10))
  metadata = pb.get_model_metadata_pb2.GetModelMetadataResponse()
  metadata.model_spec.name = "mnist"
  metadata.metadata["signature_def"].Pack(signatures)
  out["GetModelMetadataResponse"] = metadata
  return out


def paths(stub_module, stub):
  class Channel:  # collects the method paths a generated stub asks a channel for
    def __init__(self):
      self.paths = []
    def unary_unary(self, path, *args, **kwargs):
      self.paths.append(path)
  channel = Channel()
  getattr(stub_module, stub)(channel)
  return channel.paths


def upstream():
  import types
  from tensorflow.core.example import example_pb2, feature_pb2
  from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
  from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                       inference_pb2, model_service_pb2_grpc, predict_pb2,
                                       prediction_service_pb2_grpc, regression_pb2)
  return types.SimpleNamespace(**{k: v for k, v in locals().items() if k.endswith(("_pb2", "_grpc"))})


def serialized(messages):
  return {name: m.SerializeToString(deterministic=True).hex() for name, m in messages.items()}


def reparsed(pb, hexes):
  built = build(pb)
  return {name: type(built[name]).FromString(bytes.fromhex(h)).SerializeToString(deterministic=True).hex()
          for name, h in hexes.items()}
"""


def _python(code, site, *, block, stdin=None, timeout=300, env=None):
  """Runs CODE with the unpacked wheel first on the path, from a directory outside the checkout."""
  run_env = {**os.environ, **(env or {}), "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
  proc = subprocess.run([sys.executable, "-c", (_BLOCK if block else "") + _BUILD + code],
                        input=stdin, capture_output=True, text=True, cwd=str(site.parent),
                        env=run_env, timeout=timeout)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  """The mnist-tfx-client wheel, built as client/pyproject.toml says, from a copy of the checkout."""
  base = tmp_path_factory.mktemp("client_wheel")
  source, dist = base / "source", base / "dist"
  shutil.copytree(fixtures.ROOT, source, ignore=_IGNORE)
  proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                         "-w", str(dist), str(source / "client")], capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  (path,) = dist.glob("mnist_tfx_client-*.whl")
  return path


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory):
  """The wheel unpacked: what `pip install` would put in site-packages (less the script)."""
  target = tmp_path_factory.mktemp("client_site") / "site"
  with zipfile.ZipFile(wheel) as archive:
    archive.extractall(target)
  return target


def test_the_wheel_holds_the_client_and_its_protos_and_no_tests(wheel):
  names = set(zipfile.ZipFile(wheel).namelist())
  assert {"serving/client/grpc_client.py", "serving/client/protos.py", "schemas/mnist/contract.py",
          "components/mnist_idx_example_gen/idx_reader.py", "mnist_tfx_client.py",
          "serving/client/_generated/tensorflow/core/example/example_pb2.py",
          "serving/client/_generated/tensorflow_serving/apis/prediction_service_pb2_grpc.py"} <= names
  assert not [n for n in names if n.endswith("_test.py") or n.startswith(("serving/model_server", "pipelines"))]
  metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-0.1.0.dist-info/METADATA").decode()
  requires = sorted(line.split()[1].split(">")[0].split("<")[0].lower() for line in metadata.splitlines()
                    if line.startswith("Requires-Dist:"))
  assert requires == ["grpcio", "numpy", "pillow", "protobuf", "requests"]


def test_bundled_messages_are_tensorflows_on_the_wire_both_ways(site):
  # 1. Bundled only: TensorFlow cannot even be imported.
  bundled = _python("""
import serving.client.protos as pb, json
assert pb.BUNDLED and "tensorflow" not in sys.modules
print(json.dumps({"bytes": serialized(build(pb)),
                  "paths": paths(pb.prediction_service_pb2_grpc, "PredictionServiceStub")
                           + paths(pb.model_service_pb2_grpc, "ModelServiceStub")}))
""", site, block=True)
  # 2. TensorFlow's modules first, then the bundled ones beside them in the same process.
  theirs = _python("""
import json, importlib, os
tf_pb = upstream()
mine = json.loads(sys.stdin.read())
out = {"bytes": serialized(build(tf_pb)), "parsed_mine": reparsed(tf_pb, mine["bytes"]),
       "paths": paths(tf_pb.prediction_service_pb2_grpc, "PredictionServiceStub")
                + paths(tf_pb.model_service_pb2_grpc, "ModelServiceStub")}
import serving.client.protos as pb
assert pb.BUNDLED
base = os.path.dirname(pb.__file__) + "/_generated"
differ, compared = [], 0
for directory, _, files in os.walk(base):
  for name in files:
    if name.endswith("_pb2.py"):
      module = os.path.relpath(os.path.join(directory, name[:-3]), base).replace(os.sep, ".")
      ours = importlib.import_module("serving.client._generated." + module)
      # TensorFlow's build moved the tsl protos' Python modules under tensorflow.
      up = importlib.import_module(("tensorflow." if module.startswith("tsl.") else "") + module)
      compared += 1
      if ours.DESCRIPTOR.serialized_pb != up.DESCRIPTOR.serialized_pb:
        differ.append(module)
out["descriptors_compared"], out["descriptors_differ"] = compared, differ
out["bundled_beside_tf"] = serialized(build(pb)) == out["bytes"]
print(json.dumps(out))
""", site, block=False, stdin=json.dumps(bundled))
  assert theirs["bytes"] == bundled["bytes"]
  assert theirs["parsed_mine"] == bundled["bytes"]
  assert theirs["descriptors_compared"] == 38 and theirs["descriptors_differ"] == []
  assert theirs["bundled_beside_tf"]
  assert bundled["paths"] == theirs["paths"]
  assert "/tensorflow.serving.PredictionService/Predict" in bundled["paths"]
  assert "/tensorflow.serving.ModelService/GetModelStatus" in bundled["paths"]
  # 3. The bundled ones first, parsing TensorFlow's bytes; then TensorFlow loads beside them and
  # both keep working (the client's CopyFrom of its own TensorProto included).
  last = _python("""
import json
import numpy as np
import serving.client.protos as pb
from serving.client import tensors
theirs = json.loads(sys.stdin.read())
parsed = reparsed(pb, theirs["bytes"])
tf_pb = upstream()
request = pb.predict_pb2.PredictRequest()
request.inputs["x"].CopyFrom(tensors.to_tensor_proto(np.arange(4, dtype=np.float32)))
print(json.dumps({"parsed_theirs": parsed, "after_tf": serialized(build(pb)) == serialized(build(tf_pb)),
                  "roundtrip": tensors.to_array(request.inputs["x"]).tolist()}))
""", site, block=False, stdin=json.dumps(theirs))
  assert last["parsed_theirs"] == theirs["bytes"]
  assert last["after_tf"] and last["roundtrip"] == [0, 1, 2, 3]


class _Softmax(tf.Module):
  """A linear classifier fitted by least squares on real MNIST: ~85% on t10k, in a second."""

  def __init__(self, weights, bias):
    super().__init__()
    self.weights, self.bias = tf.constant(weights, tf.float32), tf.constant(bias, tf.float32)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.PREDICT_INPUT)])
  def serve(self, examples):
    image = tf.io.parse_example(examples, {contract.IMAGE_KEY: tf.io.FixedLenFeature(
        [contract.NUM_PIXELS], tf.int64)})[contract.IMAGE_KEY]
    logits = tf.matmul(tf.cast(image, tf.float32) / 255.0, self.weights) + self.bias
    return {contract.OUTPUT_PROBABILITIES: tf.nn.softmax(logits),
            contract.OUTPUT_CLASSES: tf.argmax(logits, axis=1)}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
  """This project's model server, in this process, serving a classifier fitted on real MNIST."""
  fixtures.require(fixtures.mnist_available(), f"real MNIST not found at {fixtures.MNIST_DIR}")
  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "train"))
  x = np.hstack([images[:10000].reshape(-1, 784) / 255.0, np.ones((10000, 1))])
  targets = np.eye(10)[labels[:10000]] * 8.0 - 4.0  # scaled so softmax(x @ w) is a confidence
  solution = np.linalg.solve(x.T @ x + 10.0 * np.eye(785), x.T @ targets)
  base = str(tmp_path_factory.mktemp("models") / "mnist")
  module = _Softmax(solution[:-1], solution[-1])
  tf.saved_model.save(module, os.path.join(base, "1"), signatures={"serving_default": module.serve})
  with server.ModelServer(config.single_model("mnist", base), rest_port=0, grpc_port=0) as s:
    yield s


def _pngs(directory, count=4):
  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  written = []
  for i in range(count):
    written.append(str(directory / f"digit{i}.png"))
    Image.fromarray(images[i]).save(written[-1])
  return written, labels[:count].tolist()


def test_light_client_classifies_real_digits_over_rest_and_grpc(live, site, tmp_path):
  pngs, png_labels = _pngs(tmp_path)
  idx = os.path.join(fixtures.MNIST_DIR, "t10k-images-idx3-ubyte.gz")
  answers = _python(f"""
import contextlib, io, json
from components.mnist_idx_example_gen import idx_reader
from serving.client import errors, grpc_client, mnist, rest
import mnist_tfx_client
images = idx_reader.read_images({idx!r})[:300]
out = {{}}
for kind, client in (("rest", rest.RestClient("http://127.0.0.1:{live.rest_port}", "mnist")),
                     ("grpc", grpc_client.GrpcClient("127.0.0.1:{live.grpc_port}", "mnist"))):
  out[kind] = [digit for digit, _ in mnist.classify(client, list(images))]
  out[kind + "_status"] = str(client.status())
out["signatures"] = sorted(grpc_client.GrpcClient("127.0.0.1:{live.grpc_port}", "mnist").metadata().signature_def)
for url in ("http://127.0.0.1:{live.rest_port}", "grpc://127.0.0.1:{live.grpc_port}"):
  printed = io.StringIO()
  with contextlib.redirect_stdout(printed):
    code = mnist_tfx_client.main(["predict", "--server", url, *{pngs!r}, {idx!r}, "--limit", "3"])
  out[url] = [code, printed.getvalue()]
errors_seen = io.StringIO()
with contextlib.redirect_stderr(errors_seen):
  out["codes"] = [mnist_tfx_client.main(["predict", "--server", "http://127.0.0.1:{live.rest_port}", "--model",
                                         "nope", {pngs[0]!r}]),
                  mnist_tfx_client.main(["predict", "--server", "ftp://x", {pngs[0]!r}]),
                  mnist_tfx_client.main(["predict", "--server", "grpc://127.0.0.1:9", {pngs[0]!r}]),
                  mnist_tfx_client.main(["predict", "--server", "grpc://127.0.0.1:9", "nope.png"])]
out["stderr"] = errors_seen.getvalue()
out["tensorflow"] = "tensorflow" in sys.modules
print(json.dumps(out))
""", site, block=True)
  labels = idx_reader.read_labels(os.path.join(fixtures.MNIST_DIR, "t10k-labels-idx1-ubyte.gz"))[:300]
  assert answers["rest"] == answers["grpc"]
  assert np.mean(np.array(answers["grpc"]) == labels) > 0.8
  assert "AVAILABLE" in answers["rest_status"] and answers["grpc_status"] == "[(1, 'AVAILABLE')]"
  assert "serving_default" in answers["signatures"]
  for url in (f"http://127.0.0.1:{live.rest_port}", f"grpc://127.0.0.1:{live.grpc_port}"):
    code, printed = answers[url]
    lines = printed.splitlines()
    assert code == 0 and len(lines) == 4 + 3
    assert lines[0].startswith(f"{pngs[0]}: digit {png_labels[0]} (confidence ")
    assert lines[4].startswith(f"{idx}#0: digit ")
  assert answers["codes"] == [2, 2, 1, 2]
  stderr = answers["stderr"].splitlines()
  assert len(stderr) == 4 and all(line.startswith("mnist-tfx-client: error: ") for line in stderr)
  assert "HTTP 404" in stderr[0] and "expected http://HOST:PORT" in stderr[1]
  assert "no answer" in stderr[2] and stderr[3].endswith("nope.png: file not found")
  assert answers["tensorflow"] is False


def _site_packages_mb(venv):
  (site_packages,) = (venv / "lib").glob("python*/site-packages")
  du = subprocess.run(["du", "-sm", str(site_packages)], capture_output=True, text=True, check=True)
  return int(du.stdout.split()[0])


@pytest.mark.slow
def test_a_fresh_venv_without_tensorflow_predicts_with_the_wheel(live, wheel, tmp_path):
  """python -m venv outside the checkout, the wheel with the pinned stack, `mnist-tfx-client predict`."""
  venv = tmp_path / "venv"
  base_python = getattr(sys, "_base_executable", sys.executable)
  subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
  uv = os.path.join(os.path.dirname(sys.executable), "uv")
  install = subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                            "-c", os.path.join(fixtures.ROOT, "constraints.txt"), str(wheel)],
                           capture_output=True, text=True, timeout=300)
  assert install.returncode == 0, install.stderr
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
  python = str(venv / "bin" / "python")
  absent = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in ('tensorflow', "
                           "'tensorflow_serving', 'tfx') if u.find_spec(m)])"],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env, check=True)
  assert absent.stdout.strip() == "[]"
  pngs, labels = _pngs(tmp_path)
  timings = []
  for _ in range(4):  # the first also writes the .pyc files; the median is of the runs after it
    started = time.perf_counter()
    ran = subprocess.run([str(venv / "bin" / "mnist-tfx-client"), "predict", "--server",
                          f"grpc://127.0.0.1:{live.grpc_port}", *pngs],
                         capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=60)
    timings.append(time.perf_counter() - started)
    assert ran.returncode == 0, ran.stderr
  assert [int(line.split("digit ")[1].split()[0]) for line in ran.stdout.splitlines()] == labels
  size = _site_packages_mb(venv)
  print(f"fresh venv: site-packages {size} MB; mnist-tfx-client predict (4 PNGs, gRPC) "
        f"median {statistics.median(timings[1:]):.2f} s of {[round(t, 2) for t in timings[1:]]}")
  assert size < 150  # numpy alone is ~65 MB (37 of it OpenBLAS); TensorFlow would be ~1,500
