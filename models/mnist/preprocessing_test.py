"""preprocessing_fn through real tf.Transform (Beam analysis) on real MNIST pixels."""

import numpy as np
import tensorflow as tf

from schemas.mnist import contract


def test_pixels_scaled_to_unit_interval_and_label_passes_through(mnist_small, mnist_transform):
  images, labels = mnist_small[0], mnist_small[1]
  out = mnist_transform.transform_raw_features(
      {"image": tf.constant(images, tf.int64), "label": tf.constant(labels[:, None], tf.int64)})
  got = out[contract.transformed_name("image")].numpy()
  assert got.dtype == np.float32 and got.shape == (len(images), 784)
  np.testing.assert_allclose(got, images / 255.0, rtol=1e-6)
  assert got.min() == 0.0 and got.max() == 1.0
  np.testing.assert_array_equal(out[contract.transformed_name("label")].numpy().reshape(-1), labels)


def test_transformed_schema_has_fixed_shapes(mnist_transform):
  spec = mnist_transform.transformed_feature_spec()
  assert spec["image_xf"].shape == [784] and spec["image_xf"].dtype == tf.float32
  assert spec["label_xf"].shape == [1] and spec["label_xf"].dtype == tf.int64
