"""Transform's preprocessing_fn: pixels to [0, 1] floats, as read_data_sets does."""

import tensorflow as tf

from models.mnist import features


def preprocessing_fn(inputs):
  """Scales the int64 `image` by 1/255 into float `image_xf`; label passes through."""
  image = tf.cast(inputs[features.IMAGE_KEY], tf.float32) / 255.0
  return {
      features.transformed_name(features.IMAGE_KEY): image,
      features.transformed_name(features.LABEL_KEY): inputs[features.LABEL_KEY],
  }
