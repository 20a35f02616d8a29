"""The clients against the project's server on a tiny MNIST-shaped model; PNG conversion; no TFX."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from schemas.mnist import contract
from serving.client import errors, grpc_client, mnist, rest
from serving.model_server import config, server


class _Brightness(tf.Module):
  """'Classifies' an image by its mean brightness: digit = mean // 26 (a rule the test can check)."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=contract.PREDICT_INPUT)])
  def serve(self, examples):
    image = tf.io.parse_example(examples, {contract.IMAGE_KEY: tf.io.FixedLenFeature(
        [contract.NUM_PIXELS], tf.int64)})[contract.IMAGE_KEY]
    digit = tf.minimum(tf.reduce_mean(image, axis=1) // 26, 9)
    probabilities = tf.one_hot(digit, 10) * 0.9 + 0.01
    return {contract.OUTPUT_PROBABILITIES: probabilities, contract.OUTPUT_CLASSES: digit}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
  base = str(tmp_path_factory.mktemp("models") / "mnist")
  module = _Brightness()
  tf.saved_model.save(module, os.path.join(base, "1"), signatures={"serving_default": module.serve})
  with server.ModelServer(config.single_model("mnist", base), rest_port=0, grpc_port=0) as s:
    yield s


def _clients(live):
  return (rest.RestClient(f"http://127.0.0.1:{live.rest_port}", "mnist"),
          grpc_client.GrpcClient(f"127.0.0.1:{live.grpc_port}", "mnist"))


def test_classify_status_metadata_over_rest_and_grpc(live):
  images = [np.full((28, 28), value, np.uint8) for value in (0, 60, 255)]
  for client in _clients(live):
    answers = mnist.classify(client, images)
    assert [digit for digit, _ in answers] == [0, 2, 9]
    assert all(abs(confidence - 0.91) < 1e-6 for _, confidence in answers)
  rest_client, grpc = _clients(live)
  assert rest_client.status()[0]["state"] == "AVAILABLE"
  assert grpc.status() == [(1, "AVAILABLE")]
  assert "serving_default" in rest_client.metadata()["metadata"]["signature_def"]["signature_def"]
  assert "serving_default" in grpc.metadata().signature_def


def test_errors_carry_the_servers_status(live):
  rest_client = rest.RestClient(f"http://127.0.0.1:{live.rest_port}", "nope")
  with pytest.raises(errors.ServingError) as error:
    rest_client.status()
  assert error.value.http_status == 404 and error.value.message == "Could not find any versions of model nope"
  grpc = grpc_client.GrpcClient(f"127.0.0.1:{live.grpc_port}", "mnist", version=7)
  with pytest.raises(errors.ServingError) as error:
    grpc.predict({contract.PREDICT_INPUT: np.array([b""], dtype=object)})
  assert error.value.grpc_code == "NOT_FOUND"
  with pytest.raises(errors.ServerUnreachable):
    rest.RestClient("http://127.0.0.1:9", "mnist", timeout=2).status()


def test_png_conversion(tmp_path):
  digit = np.zeros((28, 28), np.uint8)
  digit[5:23, 12:16] = 255  # a light "1" on dark
  Image.fromarray(digit).save(tmp_path / "plain.png")
  np.testing.assert_array_equal(mnist.load_png(str(tmp_path / "plain.png")), digit)
  Image.fromarray(digit).resize((56, 56), Image.NEAREST).convert("RGB").save(tmp_path / "big.png")
  big = mnist.load_png(str(tmp_path / "big.png"))
  assert big.shape == (28, 28) and np.abs(big.astype(int) - digit).mean() < 20
  Image.fromarray(255 - digit).save(tmp_path / "inverted.png")  # dark digit on light paper
  np.testing.assert_array_equal(mnist.load_png(str(tmp_path / "inverted.png")), digit)
  (tmp_path / "text.png").write_text("not an image")
  with pytest.raises(mnist.ImageError, match="text.png: not an image file"):
    mnist.load_png(str(tmp_path / "text.png"))
  Image.fromarray(digit).save(tmp_path / "digit.jpg")
  with pytest.raises(mnist.ImageError, match="digit.jpg: not a PNG image"):
    mnist.load_png(str(tmp_path / "digit.jpg"))
  with pytest.raises(mnist.ImageError, match="nope.png: file not found"):
    mnist.load_png(str(tmp_path / "nope.png"))


def test_example_bytes_follow_the_contract():
  image = np.arange(784).reshape(28, 28) % 256
  parsed = tf.io.parse_single_example(mnist.example_bytes(image), {
      contract.IMAGE_KEY: tf.io.FixedLenFeature([784], tf.int64)})
  np.testing.assert_array_equal(parsed[contract.IMAGE_KEY].numpy(), image.reshape(-1))


def test_clients_import_without_tfx():
  code = ("import sys; import serving.client.rest, serving.client.grpc_client, serving.client.mnist, "
          "serving.client.regression; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tfx', 'tensorflow_transform', 'tensorflow_model_analysis', 'apache_beam', 'components', "
          "'models', 'pipelines', 'runners')); print(bad)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip().splitlines()[-1] == "[]"
