"""MNIST: what the data, the trained model and its clients promise each other.

Dependency-free, beside the curated schema.pbtxt that encodes the same facts for
TFDV: ExampleGens write these features, the Trainer reads them, the exported
SavedModel answers with these signature and output names, and serving clients
build requests from them without importing TensorFlow or TFX.
"""

from schemas import signatures

# tf.Example features written by every MNIST source (IDX files, TFDS).
IMAGE_KEY = "image"  # 784 int64 pixel values 0..255, row-major
LABEL_KEY = "label"  # int64 0..9
IMAGE_ROWS = IMAGE_COLS = 28
NUM_PIXELS = IMAGE_ROWS * IMAGE_COLS
PIXEL_MAX = 255
NUM_CLASSES = 10

# The tutorial's read_data_sets split: train = the first 55,000 records of the training
# file, eval = its last 5,000 (validation_size=5000), test = the 10,000 t10k records.
TRAIN_SPLIT, EVAL_SPLIT, TEST_SPLIT = "train", "eval", "test"
SPLIT_SIZES = {TRAIN_SPLIT: 55_000, EVAL_SPLIT: 5_000, TEST_SPLIT: 10_000}
TRAIN_EXAMPLES = SPLIT_SIZES[TRAIN_SPLIT]
VALIDATION_SIZE = SPLIT_SIZES[EVAL_SPLIT]

# TF Serving model name: <serving base>/mnist/<version>/.
SERVING_MODEL_NAME = "mnist"

# serving_default: serialized raw tf.Examples (no label) -> probabilities and classes.
PREDICT_SIGNATURE = signatures.DEFAULT_SIGNATURE
PREDICT_INPUT = "examples"
OUTPUT_PROBABILITIES = "probabilities"  # float32 [N, 10]
OUTPUT_CLASSES = "classes"  # int64 [N]

# The TF Serving Classify API's signature: inputs -> scores [N, 10], classes [N, 10]
# (the digit labels as strings, TF Serving's classification convention).
CLASSIFY_SIGNATURE = "classification"


def transformed_name(key: str) -> str:
  """The Transform output feature made from raw feature `key`."""
  return key + "_xf"
