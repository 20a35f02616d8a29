"""Base for the exported serving modules: the model and the Transform graph, nothing else.

The module tracks the model's variables and the Transform graph's resources,
but not the Keras objects themselves. Saving a Keras model or TFT's Keras layer
makes `tf.saved_model.save` trace every layer's call for Keras metadata: 3.3 s
of the Trainer's 3.4 s export, for signatures that never use it.
"""

from typing import Dict

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras


class ServingModule(tf.Module):
  """Subclasses add `tf.function` signatures built on `transform` and `model`."""

  def __init__(self, model: keras.Model, tf_transform_output: tft.TFTransformOutput):
    super().__init__()
    tft_layer = tf_transform_output.transform_features_layer()
    self._variables = list(model.variables)
    # What TFT's own layer tracks for a TF2 transform graph (tables, assets); the
    # layer itself is the fallback, e.g. for a graph exported by TF1 TFT.
    resources = getattr(tft_layer, "_saved_model_loader_tracked_dict", None)
    self._transform_resources = resources if resources is not None else tft_layer
    # Stored past __setattr__ so that the checkpoint graph does not include them.
    self.__dict__["_keras_objects"] = (model, tft_layer)

  def transform(self, raw: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    return self.__dict__["_keras_objects"][1](raw)

  def model(self, inputs):
    """The model in inference mode (dropout off)."""
    return self.__dict__["_keras_objects"][0](inputs, training=False)
