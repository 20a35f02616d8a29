"""Regression (y = 2x + 1): what the data, the trained model and its clients promise.

Dependency-free, beside the curated schema.pbtxt.
"""

from schemas import signatures

X_KEY = "x"  # float, U(0, 1)
Y_KEY = "y"  # float, 2x + 1 (+ noise)
TRUE_W = 2.0
TRUE_B = 1.0
X_MIN, X_MAX = 0.0, 1.0

TRAIN_SPLIT, EVAL_SPLIT, TEST_SPLIT = "train", "eval", "test"
SPLIT_FRACTIONS = ((TRAIN_SPLIT, 0.8), (EVAL_SPLIT, 0.1), (TEST_SPLIT, 0.1))

SERVING_MODEL_NAME = "regression"

# serving_default: serialized tf.Examples with `x` -> predictions [N].
PREDICT_SIGNATURE = signatures.DEFAULT_SIGNATURE
PREDICT_INPUT = "examples"
OUTPUT_PREDICTIONS = "predictions"
# predict_x: a plain float32 vector `x` -> predictions [N], for JSON clients.
PREDICT_X_SIGNATURE = "predict_x"
PREDICT_X_INPUT = X_KEY
# The TF Serving Regress API's signature: inputs -> outputs [N].
REGRESS_SIGNATURE = "regression"


def transformed_name(key: str) -> str:
  """The Transform output feature made from raw feature `key`."""
  return key + "_xf"
