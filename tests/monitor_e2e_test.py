"""`mnist-tfx monitor` on request logs of the model the MNIST scenario pushed.

The logs are TF Serving's own format — TFRecord files of tensorflow.serving.PredictionLog,
built here with the tensorflow-serving-api protos from real MNIST images, each response
the pushed model's real answer (its serving_default run in this process) — so the
command is tested on exactly what a TF Serving collector writes, independent of which
server wrote it. tests/serving_e2e_test.py drives the same command over logs the
project's own server wrote.
"""

import glob
import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from components import mnist_example_encoding
from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]


@pytest.fixture(scope="module")
def served(mnist_scenario):
  """(model base path, pushed version, the version's serving_default)."""
  base = os.path.join(mnist_scenario.home, "serving", contract.SERVING_MODEL_NAME)
  version = int(os.path.basename(mnist_scenario.first.summary["pushed_path"]))
  serve = tf.saved_model.load(os.path.join(base, str(version))).signatures[contract.PREDICT_SIGNATURE]
  return base, version, serve


@pytest.fixture(scope="module")
def test_set():
  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  return images, labels


def _write_logs(prefix, served, images, per_request=1, gzip=False, files=2):
  """PredictionLogs of `images` sent in requests of `per_request` examples, as TF Serving logs them."""
  _, version, serve = served
  serialized = mnist_example_encoding.encode_examples(images, np.zeros(len(images), np.int64))
  # The served requests carry no label: encode_examples writes one, so drop it.
  examples = []
  for record in serialized:
    example = tf.train.Example.FromString(record)
    del example.features.feature[contract.LABEL_KEY]
    examples.append(example.SerializeToString())
  logs = []
  for start in range(0, len(examples), per_request):
    batch = examples[start:start + per_request]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = contract.SERVING_MODEL_NAME
    request.inputs[contract.PREDICT_INPUT].CopyFrom(tf.make_tensor_proto(batch))
    outputs = serve(**{contract.PREDICT_INPUT: tf.constant(batch)})
    response = predict_pb2.PredictResponse()
    response.model_spec.name = contract.SERVING_MODEL_NAME
    response.model_spec.version.value = version
    response.model_spec.signature_name = contract.PREDICT_SIGNATURE
    for key, value in outputs.items():
      response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(
        request=request, response=response))
    log.log_metadata.model_spec.CopyFrom(response.model_spec)
    log.log_metadata.sampling_config.sampling_rate = 1.0
    log.log_metadata.saved_model_tags.append("serve")
    logs.append(log.SerializeToString())
  os.makedirs(os.path.dirname(prefix), exist_ok=True)
  options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "")
  paths = []
  for i in range(files):
    path = f"{prefix}-{i:05d}.tfrecord{'.gz' if gzip else ''}"
    with tf.io.TFRecordWriter(path, options=options) as writer:
      for record in logs[i::files]:
        writer.write(record)
    paths.append(path)
  return paths


def _monitor(prefix, base, *extra):
  return fixtures.run_cli(["monitor", "--request-logs", prefix, "--model-base-path", base, *extra],
                          timeout=300)


def test_the_canonical_test_set_raises_nothing(served, test_set, tmp_path):
  images, _ = test_set
  prefix = str(tmp_path / "logs" / "mnist")
  _write_logs(prefix, served, images[:1000], gzip=True)
  page = tmp_path / "clean.html"
  proc = _monitor(prefix, served[0], "--output", str(page))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert proc.stdout == f"no findings in 1,000 logged requests\npage: {page}\n" and proc.stderr == ""
  text = page.read_text()
  assert "none: the served traffic looks like the training data" in text
  assert len(re.findall(r'<img alt="[^"]{20,}"', text)) == 2  # pixels, predicted classes


def test_inverted_images_are_input_skew_on_the_image(served, test_set, tmp_path):
  images, _ = test_set
  prefix = str(tmp_path / "logs" / "mnist")
  _write_logs(prefix, served, 255 - images[:1000], per_request=4)
  proc = _monitor(prefix, served[0], "--json")
  assert proc.returncode == 3, proc.stdout + proc.stderr
  report = json.loads(proc.stdout)
  assert report["records"] == 250 and report["versions"][0]["examples"] == 1000
  image = [f for f in report["findings"] if f["feature"] == contract.IMAGE_KEY]
  assert len(image) == 1 and image[0]["line"].startswith("image: Jensen-Shannon divergence ")
  assert image[0]["value"] > image[0]["threshold"] == 0.1


def test_only_digit_ones_is_a_prior_shift_of_the_predicted_classes(served, test_set, tmp_path):
  images, labels = test_set
  prefix = str(tmp_path / "logs" / "mnist")
  _write_logs(prefix, served, images[labels == 1][:400])
  proc = _monitor(prefix, served[0])
  assert proc.returncode == 3, proc.stdout + proc.stderr
  (line,) = [l for l in proc.stdout.splitlines() if l.startswith("predicted classes: ")]
  distance, bound = map(float, re.match(r"predicted classes: L∞ ([\d.]+) > ([\d.]+)", line).groups())
  assert distance > 0.8 and 0.05 < bound < 0.15  # 0.05 + 3.5 * 0.5 / sqrt(400)
  assert "class 1:" in line


def test_a_torn_last_record_is_skipped_with_a_warning(served, test_set, tmp_path):
  images, _ = test_set
  prefix = str(tmp_path / "logs" / "mnist")
  first, _ = _write_logs(prefix, served, images[:200])
  with open(first, "rb+") as f:  # a server killed while writing its last record
    f.truncate(os.path.getsize(first) - 7)
  proc = _monitor(prefix, served[0], "--json")
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert json.loads(proc.stdout)["records"] == 199
  assert proc.stderr.startswith(f"mnist-tfx: warning: {first}: stopped after record 99")


def test_bad_input_is_one_line_exit_2(served, test_set, tmp_path):
  base = served[0]
  proc = _monitor(str(tmp_path / "nothing" / "mnist"), base)
  assert proc.returncode == 2
  assert proc.stderr == (f"mnist-tfx: error: --request-logs {tmp_path / 'nothing' / 'mnist'}: no files "
                         "start with this prefix\n")
  # A TFRecord whose first record is a tf.Example, not a PredictionLog.
  wrong = tmp_path / "wrong" / "mnist-0.tfrecord"
  fixtures.write_examples_dir(str(tmp_path / "unused"), {})
  wrong.parent.mkdir()
  with tf.io.TFRecordWriter(str(wrong)) as writer:
    writer.write(fixtures.mnist_examples("t10k", 0, 1)[0])
  proc = _monitor(str(tmp_path / "wrong" / "mnist"), base)
  assert proc.returncode == 2
  assert proc.stderr == f"mnist-tfx: error: {wrong}: record 1 is not a tensorflow.serving.PredictionLog\n"
  text = tmp_path / "text" / "mnist.log"
  text.parent.mkdir()
  text.write_text("not a tfrecord at all\n")
  proc = _monitor(str(tmp_path / "text" / "mnist"), base)
  assert proc.returncode == 2 and proc.stderr.startswith(
      f"mnist-tfx: error: {text}: not a TFRecord file of PredictionLog records")
  # A model directory whose version carries no training statistics (copied in by hand).
  bare = tmp_path / "bare"
  shutil.copytree(os.path.join(base, str(served[1])), bare / str(served[1]),
                  ignore=shutil.ignore_patterns("mnist_tfx"))
  prefix = str(tmp_path / "logs" / "mnist")
  _write_logs(prefix, served, test_set[0][:10], files=1)
  proc = _monitor(prefix, str(bare))
  assert proc.returncode == 2 and "no training statistics in the pushed version" in proc.stderr
  assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
  assert glob.glob(prefix + "*")
