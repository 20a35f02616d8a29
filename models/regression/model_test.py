"""The linear model recovers w = 2, b = 1 and its two serving signatures agree."""

import numpy as np
import pytest
import tensorflow as tf

from components.regression_example_gen.generator import GeneratorConfig, generate_chunk
from models.regression import metrics, model, preprocessing, recipes
import schemas
from schemas import signatures
from schemas.regression import contract
from tests import fixtures


@pytest.fixture(scope="module")
def data():
  x, y = generate_chunk(GeneratorConfig(seed=11), chunk=0)
  return x[:, None], y[:, None]


@pytest.fixture(scope="module")
def transform_output(data, tmp_path_factory):
  x, y = data
  instances = [{"x": xi, "y": yi} for xi, yi in zip(x[:200], y[:200])]
  return fixtures.analyze_transform(
      preprocessing.preprocessing_fn,
      schemas.schema_path("regression"),
      instances, str(tmp_path_factory.mktemp("regression_transform")))


def _examples(xs):
  return tf.constant([tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))})).SerializeToString()
                      for x in xs])


def test_identity_transform_keeps_raw_units(transform_output):
  out = transform_output.transform_raw_features(
      {"x": tf.constant([[0.0], [0.25], [1.0]]), "y": tf.constant([[1.0], [1.5], [3.0]])})
  np.testing.assert_array_equal(out["x_xf"].numpy().ravel(), [0.0, 0.25, 1.0])
  np.testing.assert_array_equal(out["y_xf"].numpy().ravel(), [1.0, 1.5, 3.0])


def test_within_tolerance_metric():
  metric = metrics.WithinTolerance()
  metric.update_state([[1.0], [2.0], [3.0], [4.0]], [[1.005], [2.02], [2.991], [4.0]])
  assert metric.result().numpy() == pytest.approx(0.75)


def test_linear_model_recovers_w_and_b_and_extrapolates(data, transform_output, tmp_path):
  x, y = data
  net = model.build_model(recipes.TrainingRecipe())
  assert net.count_params() == 2
  net.fit(x, y, epochs=30, batch_size=32, verbose=0)
  w, b = model.weights(net)
  assert w == pytest.approx(2.0, abs=1e-3) and b == pytest.approx(1.0, abs=1e-3)

  model.export_serving_model(net, transform_output, str(tmp_path))
  loaded = tf.saved_model.load(str(tmp_path))
  xs = [0.0, 0.5, 1.0, 1.5, 2.0, -1.0]
  from_examples = loaded.signatures["serving_default"](examples=_examples(xs))["predictions"].numpy()
  from_floats = loaded.signatures["predict_x"](x=tf.constant(xs))["predictions"].numpy()
  np.testing.assert_allclose(from_examples, from_floats, rtol=1e-6)
  regress = loaded.signatures[contract.REGRESS_SIGNATURE]
  assert list(regress.structured_input_signature[1]) == [signatures.REGRESS_INPUTS]
  from_regress = regress(**{signatures.REGRESS_INPUTS: _examples(xs)})[signatures.REGRESS_OUTPUTS]
  np.testing.assert_allclose(from_regress.numpy(), from_floats, rtol=1e-6)
  # Warmup: one request per signature, replayable against the model.
  logs = model.warmup_requests(_examples(xs).numpy().tolist())
  assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "predict_log", "regress_log"]
  x_request = logs[1].predict_log.request
  assert x_request.model_spec.signature_name == contract.PREDICT_X_SIGNATURE
  np.testing.assert_allclose(tf.make_ndarray(x_request.inputs[contract.PREDICT_X_INPUT]), xs)
  # Tutorial's extrapolation check, and no ReLU: x = -1 gives a negative prediction.
  np.testing.assert_allclose(from_floats, [2 * v + 1 for v in xs], atol=0.01)
  assert from_floats[-1] < 0
