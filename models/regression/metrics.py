"""The tutorial's own regression metric, usable by Keras and TFMA.

TFMA loads it by module and class name (MetricConfig(module=..., class_name=...)),
computes it from labels and predictions on the Evaluator's test split, and
applies the blessing threshold to it.
"""

import tensorflow as tf
import tf_keras as keras

TOLERANCE = 0.01


def _within(y_true, y_pred, tolerance):
  y_true = tf.reshape(tf.cast(y_true, tf.float32), [-1])
  y_pred = tf.reshape(tf.cast(y_pred, tf.float32), [-1])
  return tf.cast(tf.abs(y_pred - y_true) <= tolerance, tf.float32)


@keras.utils.register_keras_serializable(package="mnist_tfx")
class WithinTolerance(keras.metrics.MeanMetricWrapper):
  """Fraction of predictions within `tolerance` (default 0.01) of the truth."""

  def __init__(self, name: str = "within_tolerance", tolerance: float = TOLERANCE, dtype=None):
    super().__init__(_within, name=name, dtype=dtype, tolerance=tolerance)
    self.tolerance = tolerance

  def get_config(self):
    return {"name": self.name, "tolerance": self.tolerance, "dtype": self.dtype}
