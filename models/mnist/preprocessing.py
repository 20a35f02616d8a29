"""Transform's preprocessing_fn: pixels to [0, 1] floats, as read_data_sets does."""

import tensorflow as tf

from schemas.mnist import contract


def preprocessing_fn(inputs):
  """Scales the int64 `image` by 1/255 into float `image_xf`; label passes through."""
  image = tf.cast(inputs[contract.IMAGE_KEY], tf.float32) / float(contract.PIXEL_MAX)
  return {
      contract.transformed_name(contract.IMAGE_KEY): image,
      contract.transformed_name(contract.LABEL_KEY): inputs[contract.LABEL_KEY],
  }
