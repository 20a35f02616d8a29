"""ServingModule saves the model's variables and the Transform graph's resources, not Keras."""

import os
import shutil

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from models import serving_export
from tests import fixtures

_SCHEMA = """
feature { name: "word" type: BYTES presence { min_fraction: 1 } shape { dim { size: 1 } } }
feature { name: "x" type: FLOAT presence { min_fraction: 1 } shape { dim { size: 1 } } }
"""


def _preprocessing_fn(inputs):
  # A vocabulary is an asset file and a lookup table: resources the export must carry.
  return {"word_id": tft.compute_and_apply_vocabulary(inputs["word"]),
          "x_scaled": tft.scale_to_0_1(inputs["x"])}


class _Module(serving_export.ServingModule):

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="word"),
                                tf.TensorSpec([None], tf.float32, name="x")], autograph=False)
  def serve(self, word, x):
    transformed = self.transform({"word": tf.reshape(word, [-1, 1]), "x": tf.reshape(x, [-1, 1])})
    return {"word_id": transformed["word_id"], "y": self.model(transformed["x_scaled"])}


def test_saved_model_carries_vocabulary_and_weights_without_keras(tmp_path):
  schema = tmp_path / "schema.pbtxt"
  schema.write_text(_SCHEMA)
  words = [b"b", b"a", b"b", b"c", b"b", b"a"]
  instances = [{"word": np.array([w]), "x": np.array([float(i)], np.float32)}
               for i, w in enumerate(words)]
  transform_dir = str(tmp_path / "transform")
  output = fixtures.analyze_transform(_preprocessing_fn, str(schema), instances, transform_dir)

  inputs = keras.Input(shape=(1,))
  model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
  model.set_weights([np.array([[3.0]], np.float32), np.array([0.5], np.float32)])
  export_dir = str(tmp_path / "export")
  module = _Module(model, output)
  tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})
  shutil.rmtree(transform_dir)  # the export must not point back at Transform's output

  assert not os.path.exists(os.path.join(export_dir, "keras_metadata.pb"))
  loaded = tf.saved_model.load(export_dir)
  out = loaded.signatures["serving_default"](word=tf.constant([b"b", b"a", b"c", b"zzz"]),
                                             x=tf.constant([0.0, 5.0, 2.5, 5.0]))
  # Vocabulary by frequency: b (3) -> 0, a (2) -> 1, c (1) -> 2; unknown -> -1.
  np.testing.assert_array_equal(out["word_id"].numpy().ravel(), [0, 1, 2, -1])
  # x scaled by the analyzed range [0, 5], then y = 3 * x + 0.5.
  np.testing.assert_allclose(out["y"].numpy().ravel(), [0.5, 3.5, 2.0, 3.5], rtol=1e-6)
  saved_variables = sorted(v.numpy().ravel().tolist()[0] for v in loaded._variables)
  assert saved_variables == [0.5, 3.0]
