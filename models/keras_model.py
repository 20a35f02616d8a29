"""A Keras functional model whose train/test steps are traced without AutoGraph.

Profiling the Trainer (py-spy on the first `fit` step) showed ~10 s of every run
spent in AutoGraph rewriting Keras's own Python (layer `__call__`, metrics,
optimizer) into graph code, once for the train step and again for the
validation step. Keras's steps have no tensor-dependent Python control flow
(`training` is a Python bool, conditions use `tf.cond`), so plain tracing gives
the same graph; the CNN's first step drops from 10.6 s to 0.8 s.
"""

import tensorflow as tf
import tf_keras as keras


class FastTracingModel(keras.Model):
  """Use as `FastTracingModel(inputs, outputs, name=...)`, like `keras.Model`."""

  @tf.autograph.experimental.do_not_convert
  def train_step(self, data):
    return super().train_step(data)

  @tf.autograph.experimental.do_not_convert
  def test_step(self, data):
    return super().test_step(data)

  @tf.autograph.experimental.do_not_convert
  def predict_step(self, data):
    return super().predict_step(data)
