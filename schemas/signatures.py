"""TF Serving's signature conventions, as TensorFlow defines them (no imports).

TF Serving's Classify and Regress APIs run only on signatures shaped like these:
one input keyed `inputs` holding serialized tf.Examples, and outputs keyed
`classes`/`scores` (classify) or `outputs` (regress)
(tensorflow_serving/servables/tensorflow/classifier.cc, regressor.cc). The values
equal tf.saved_model's CLASSIFY_* / REGRESS_* constants; the contracts test checks.
"""

DEFAULT_SIGNATURE = "serving_default"

CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
CLASSIFY_INPUTS = "inputs"
CLASSIFY_OUTPUT_CLASSES = "classes"
CLASSIFY_OUTPUT_SCORES = "scores"

REGRESS_METHOD_NAME = "tensorflow/serving/regress"
REGRESS_INPUTS = "inputs"
REGRESS_OUTPUTS = "outputs"

PREDICT_METHOD_NAME = "tensorflow/serving/predict"
