"""The Arrow-based encoder writes the same tf.Examples protobuf would.

Compared parsed, not as bytes: both protobuf and tfx_bsl serialize the feature map in
an unspecified order (it varies between processes).
"""

import numpy as np
import pytest
import tensorflow as tf

from components import mnist_example_encoding as encoding


def _protobuf_encoding(images, labels):
  return [tf.train.Example(features=tf.train.Features(feature={
      encoding.IMAGE_KEY: tf.train.Feature(int64_list=tf.train.Int64List(
          value=image.reshape(-1).tolist())),
      encoding.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
  })).SerializeToString() for image, label in zip(images, labels)]


def test_same_examples_as_protobuf_on_real_mnist(mnist_small):
  train_x, train_y, _, _ = mnist_small
  images, labels = train_x[:1000].reshape(-1, 28, 28).astype(np.uint8), train_y[:1000]
  got = [tf.train.Example.FromString(r) for r in encoding.encode_examples(images, labels)]
  want = [tf.train.Example.FromString(r) for r in _protobuf_encoding(images, labels)]
  assert len(got) == 1000 and got == want


def test_round_trips_through_parse_example(mnist_small):
  train_x, train_y, _, _ = mnist_small
  images, labels = train_x[:50].astype(np.uint8), train_y[:50]
  parsed = tf.io.parse_example(encoding.encode_examples(images, labels), {
      encoding.IMAGE_KEY: tf.io.FixedLenFeature([784], tf.int64),
      encoding.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64)})
  np.testing.assert_array_equal(parsed[encoding.IMAGE_KEY].numpy(), images.reshape(50, 784))
  np.testing.assert_array_equal(parsed[encoding.LABEL_KEY].numpy(), labels)


def test_empty_and_mismatched_inputs():
  assert encoding.encode_examples(np.zeros((0, 784), np.uint8), np.zeros(0, np.uint8)) == []
  with pytest.raises(ValueError, match="3 images but 2 labels"):
    encoding.encode_examples(np.zeros((3, 784), np.uint8), np.zeros(2, np.uint8))
