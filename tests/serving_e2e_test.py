"""The model server, the clients and `mnist-tfx serve/predict` on models the pipeline pushed.

The MNIST model is the one the full-MNIST scenario pushed (tests/conftest.py); the
regression model comes from a small run here. Both are served from one TF Serving
model config file, as a deployment would, and called over real HTTP and gRPC.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import requests
from PIL import Image

from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract as mnist
from schemas.regression import contract as regression
from serving.client import grpc_client, mnist as mnist_client, regression as regression_client, rest
from serving.model_server import config, server
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]


@pytest.fixture(scope="module")
def pushed(mnist_scenario, tmp_path_factory):
  """(models.config path, regression summary): both pushed models in one TF Serving config."""
  home = str(tmp_path_factory.mktemp("regression") / "home")
  _, summary = fixtures.run_pipeline(home, ["--pipeline", "regression", "--examples", "500"])
  path = str(tmp_path_factory.mktemp("config") / "models.config")
  with open(path, "w") as f:
    f.write(f"""model_config_list {{
  config {{ name: "mnist" base_path: "{mnist_scenario.home}/serving/mnist" model_platform: "tensorflow" }}
  config {{ name: "regression" base_path: "{home}/serving/regression" model_platform: "tensorflow" }}
}}""")
  return path, summary


@pytest.fixture(scope="module")
def live(pushed):
  with server.ModelServer(config.load_model_config(pushed[0]), rest_port=0, grpc_port=0) as s:
    yield s


@pytest.fixture(scope="module")
def test_images():
  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  return images[:500], labels[:500]


def test_rest_and_grpc_classify_real_digits_like_the_evaluator(live, test_images, mnist_scenario):
  images, labels = test_images
  for client in (rest.RestClient(f"http://127.0.0.1:{live.rest_port}", mnist.SERVING_MODEL_NAME),
                 grpc_client.GrpcClient(f"127.0.0.1:{live.grpc_port}", mnist.SERVING_MODEL_NAME)):
    answers = mnist_client.classify(client, list(images))
    accuracy = np.mean([digit == label for (digit, _), label in zip(answers, labels)])
    assert accuracy > 0.88, accuracy  # the Evaluator measured ~0.926 on all 10,000
    assert all(0 < confidence <= 1 for _, confidence in answers)


def test_classify_api_on_the_exported_classification_signature(live, test_images):
  images, labels = test_images
  examples = [mnist_client.example_bytes(image) for image in images[:20]]
  client = grpc_client.GrpcClient(f"127.0.0.1:{live.grpc_port}", mnist.SERVING_MODEL_NAME)
  results = client.classify(examples, signature_name=mnist.CLASSIFY_SIGNATURE)
  assert [label for label, _ in results[0]] == [str(d) for d in range(10)]
  best = [int(max(r, key=lambda c: c[1])[0]) for r in results]
  assert np.mean(np.array(best) == labels[:20]) > 0.8
  # Over REST, with TF Serving's JSON example encoding.
  rest_client = rest.RestClient(f"http://127.0.0.1:{live.rest_port}", mnist.SERVING_MODEL_NAME)
  reply = rest_client.classify([{mnist.IMAGE_KEY: images[0].reshape(-1).astype(int).tolist()}],
                               signature_name=mnist.CLASSIFY_SIGNATURE)
  assert int(max(reply[0], key=lambda c: c[1])[0]) == best[0]


def test_regression_model_predict_x_and_regress(live, pushed):
  for client in (rest.RestClient(f"http://127.0.0.1:{live.rest_port}", regression.SERVING_MODEL_NAME),
                 grpc_client.GrpcClient(f"127.0.0.1:{live.grpc_port}", regression.SERVING_MODEL_NAME)):
    ys = regression_client.predict_y(client, [0.0, 0.5, 1.5])
    np.testing.assert_allclose(ys, [1.0, 2.0, 4.0], atol=0.01)
  reply = rest.RestClient(f"http://127.0.0.1:{live.rest_port}", regression.SERVING_MODEL_NAME).regress(
      [{regression.X_KEY: 0.25}, {regression.X_KEY: 2.0}], signature_name=regression.REGRESS_SIGNATURE)
  np.testing.assert_allclose(reply, [1.5, 5.0], atol=0.01)
  status = requests.get(f"http://127.0.0.1:{live.rest_port}/v1/models/regression").json()
  assert status["model_version_status"][0]["version"] == os.path.basename(pushed[1]["pushed_path"])


def test_pushed_models_pass_saved_model_cli(pushed, mnist_scenario):
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  for path in (mnist_scenario.first.summary["pushed_path"], pushed[1]["pushed_path"]):
    shown = subprocess.run([cli, "show", "--dir", path, "--all"], capture_output=True, text=True,
                           check=True).stdout
    assert "signature_def['serving_default']" in shown
    assert "tensorflow/serving/warmup" not in shown
  regression_path = pushed[1]["pushed_path"]
  ran = subprocess.run([cli, "run", "--dir", regression_path, "--tag_set", "serve", "--signature_def",
                        regression.PREDICT_X_SIGNATURE, "--input_exprs", "x=[0.0,1.0]"],
                       capture_output=True, text=True)
  assert ran.returncode == 0, ran.stderr
  values = ran.stdout.split("Result for output key predictions:")[1].strip().strip("[]").split()
  np.testing.assert_allclose([float(v) for v in values], [1.0, 3.0], atol=0.01)
  example = mnist_client.example_bytes(np.zeros((28, 28), np.uint8))
  ran = subprocess.run([cli, "run", "--dir", mnist_scenario.first.summary["pushed_path"], "--tag_set",
                        "serve", "--signature_def", mnist.PREDICT_SIGNATURE, "--input_exprs",
                        f"{mnist.PREDICT_INPUT}=[{example!r}]"], capture_output=True, text=True)
  assert ran.returncode == 0, ran.stderr
  assert f"Result for output key {mnist.OUTPUT_PROBABILITIES}" in ran.stdout


def test_serve_and_predict_commands(pushed, test_images, tmp_path):
  images, labels = test_images
  with fixtures.serve(["--model-config-file", pushed[0]]) as (proc, rest_port, grpc_port):
    # PNGs: a real digit, the same at 56x56 in RGB, and dark on light.
    paths = []
    for i, (kind, image) in enumerate((("plain", images[0]), ("big", images[1]), ("inverted", images[2]))):
      picture = Image.fromarray(image if kind != "inverted" else 255 - image)
      if kind == "big":
        picture = picture.resize((56, 56)).convert("RGB")
      paths.append(str(tmp_path / f"{kind}.png"))
      picture.save(paths[-1])
    idx = os.path.join(fixtures.MNIST_DIR, "t10k-images-idx3-ubyte.gz")
    for url in (f"http://127.0.0.1:{rest_port}", f"grpc://127.0.0.1:{grpc_port}"):
      out = fixtures.run_cli(["predict", "--server", url, "--model", "mnist", *paths, idx,
                              "--limit", "5"], timeout=120)
      assert out.returncode == 0, out.stderr
      lines = out.stdout.strip().splitlines()
      assert len(lines) == 3 + 5
      digits = [int(line.split("digit ")[1].split()[0]) for line in lines]
      assert digits[0] == labels[0] and digits[2] == labels[2]
      assert np.mean(np.array(digits[3:]) == labels[:5]) >= 0.8
      assert lines[3].startswith(f"{idx}#0: digit ") and "(confidence 0." in lines[3]
    bad = fixtures.run_cli(["predict", "--server", f"http://127.0.0.1:{rest_port}", "--model", "nope",
                            paths[0]], timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (f"mnist-tfx: error: http://127.0.0.1:{rest_port}: HTTP 404: "
                                  "Servable not found for request: Latest(nope)")
    down = fixtures.run_cli(["predict", "--server", f"grpc://127.0.0.1:{fixtures.free_port()}", paths[0]],
                            timeout=120)
    assert down.returncode == 1 and down.stderr.startswith("mnist-tfx: error: grpc://") and "no answer" in down.stderr
  assert "serving mnist (versions " in proc.stdout.read()
  assert "Traceback" not in proc.stderr.read()


def _logged_traffic(pushed, mnist_scenario, prefix, images):
  """Serves the MNIST model with TF Serving's logging_config (every request logged) and sends
  `images` in requests of 10 examples, half over REST and half over gRPC; the server's exit
  closes the files."""
  path = os.path.join(os.path.dirname(prefix), "models.config")
  os.makedirs(os.path.dirname(prefix), exist_ok=True)
  with open(path, "w") as f:
    f.write(f"""model_config_list {{
  config {{ name: "mnist" base_path: "{mnist_scenario.home}/serving/mnist" model_platform: "tensorflow"
    logging_config {{ log_collector_config {{ type: "tfrecord_gzip" filename_prefix: "{prefix}" }}
                     sampling_config {{ sampling_rate: 1.0 }} }} }}
}}""")
  with server.ModelServer(config.load_model_config(path), rest_port=0, grpc_port=0) as s:
    clients = (rest.RestClient(f"http://127.0.0.1:{s.rest_port}", mnist.SERVING_MODEL_NAME),
               grpc_client.GrpcClient(f"127.0.0.1:{s.grpc_port}", mnist.SERVING_MODEL_NAME))
    for i, start in enumerate(range(0, len(images), 10)):
      mnist_client.classify(clients[i % 2], list(images[start:start + 10]))


def test_monitor_reads_what_the_server_logged(pushed, mnist_scenario, tmp_path):
  """The whole loop on this project's server: its request logs of 1,000 real test digits
  raise nothing; the same digits inverted are input skew on the image."""
  images, _ = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  base = os.path.join(mnist_scenario.home, "serving", mnist.SERVING_MODEL_NAME)
  for name, sent, want_exit in (("clean", images[:1000], 0), ("inverted", 255 - images[:1000], 3)):
    prefix = str(tmp_path / name / "mnist")
    _logged_traffic(pushed, mnist_scenario, prefix, sent)
    out = fixtures.run_cli(["monitor", "--request-logs", prefix, "--model-base-path", base, "--json"],
                           timeout=300)
    assert out.returncode == want_exit, (name, out.stdout, out.stderr)
    report = json.loads(out.stdout)
    assert report["records"] == 100 and [v["examples"] for v in report["versions"]] == [1000], report
    features = {finding["feature"] for finding in report["findings"]}
    if name == "clean":
      assert not features, report
    else:
      assert mnist.IMAGE_KEY in features, report
