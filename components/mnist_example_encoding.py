"""tf.Example encoding shared by every MNIST source (IDX files and TFDS).

Both ExampleGens must produce byte-identical records so that the schema,
Transform and the serving signature do not care where the data came from.
"""

from typing import Iterator

import numpy as np
import tensorflow as tf

IMAGE_KEY = "image"  # 784 int64 pixel values 0..255, row-major
LABEL_KEY = "label"  # int64 0..9
NUM_PIXELS = 28 * 28


def encode_examples(images: np.ndarray, labels: np.ndarray) -> Iterator[bytes]:
  """Yields serialized tf.Examples for uint8 images [N, 28, 28] (or [N, 784]) and labels [N]."""
  # Python lists fill protobuf repeated fields ~25 % faster than numpy rows.
  flat = images.reshape(len(images), NUM_PIXELS).tolist()
  for pixels, label in zip(flat, np.asarray(labels).tolist()):
    example = tf.train.Example(features=tf.train.Features(feature={
        IMAGE_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=pixels)),
        LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }))
    yield example.SerializeToString()
