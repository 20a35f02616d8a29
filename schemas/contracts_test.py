"""The contracts: importable without TensorFlow or TFX, and consistent with the schemas and TF."""

import subprocess
import sys

import tensorflow as tf
import tensorflow_data_validation as tfdv

import schemas
from schemas import signatures
from schemas.mnist import contract as mnist
from schemas.regression import contract as regression


def test_contracts_import_without_tensorflow_or_tfx():
  code = ("import sys; import schemas.signatures, schemas.mnist.contract, schemas.regression.contract; "
          "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tensorflow', 'tfx', 'numpy', 'apache_beam', 'ml_metadata')); print(heavy)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "[]"


def test_signature_conventions_are_tensorflows():
  assert signatures.DEFAULT_SIGNATURE == tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
  assert signatures.CLASSIFY_METHOD_NAME == tf.saved_model.CLASSIFY_METHOD_NAME
  assert signatures.CLASSIFY_INPUTS == tf.saved_model.CLASSIFY_INPUTS
  assert signatures.CLASSIFY_OUTPUT_CLASSES == tf.saved_model.CLASSIFY_OUTPUT_CLASSES
  assert signatures.CLASSIFY_OUTPUT_SCORES == tf.saved_model.CLASSIFY_OUTPUT_SCORES
  assert signatures.REGRESS_METHOD_NAME == tf.saved_model.REGRESS_METHOD_NAME
  assert signatures.REGRESS_INPUTS == tf.saved_model.REGRESS_INPUTS
  assert signatures.REGRESS_OUTPUTS == tf.saved_model.REGRESS_OUTPUTS
  assert signatures.PREDICT_METHOD_NAME == tf.saved_model.PREDICT_METHOD_NAME


def test_mnist_contract_matches_its_schema():
  schema = tfdv.load_schema_text(schemas.schema_path("mnist"))
  image, label = tfdv.get_feature(schema, mnist.IMAGE_KEY), tfdv.get_feature(schema, mnist.LABEL_KEY)
  assert [d.size for d in image.shape.dim] == [mnist.NUM_PIXELS] == [mnist.IMAGE_ROWS * mnist.IMAGE_COLS]
  assert (image.int_domain.min, image.int_domain.max) == (0, mnist.PIXEL_MAX)
  assert (label.int_domain.min, label.int_domain.max) == (0, mnist.NUM_CLASSES - 1)
  assert sum(mnist.SPLIT_SIZES.values()) == 70_000
  assert mnist.SPLIT_SIZES[mnist.TRAIN_SPLIT] + mnist.SPLIT_SIZES[mnist.EVAL_SPLIT] == 60_000


def test_regression_contract_matches_its_schema():
  schema = tfdv.load_schema_text(schemas.schema_path("regression"))
  x, y = tfdv.get_feature(schema, regression.X_KEY), tfdv.get_feature(schema, regression.Y_KEY)
  assert (x.float_domain.min, x.float_domain.max) == (regression.X_MIN, regression.X_MAX)
  low, high = (regression.TRUE_W * v + regression.TRUE_B for v in (regression.X_MIN, regression.X_MAX))
  assert (y.float_domain.min, y.float_domain.max) == (low, high)
  assert abs(sum(f for _, f in regression.SPLIT_FRACTIONS) - 1) < 1e-12
