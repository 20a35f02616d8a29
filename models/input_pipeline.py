"""The Trainer input pipeline shared by the model modules.

Raw tf.Examples are read with the Trainer's DataAccessor (tfxio), the Transform
graph is applied in the tf.data pipeline, and the transformed split is cached
in memory after the first pass: later epochs cost what in-memory arrays cost.
"""

from typing import List

import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import DataAccessor
from tfx_bsl.tfxio import dataset_options


def transformed_dataset(file_pattern: List[str], data_accessor: DataAccessor,
                        tf_transform_output: tft.TFTransformOutput, label_key: str,
                        batch_size: int, shuffle_buffer: int = 0) -> tf.data.Dataset:
  """One epoch of (transformed features, label) batches; shuffled if shuffle_buffer > 0."""
  raw = data_accessor.tf_dataset_factory(
      file_pattern,
      dataset_options.TensorFlowDatasetOptions(batch_size=1000, num_epochs=1, shuffle=False),
      tf_transform_output.raw_metadata.schema)
  tft_layer = tf_transform_output.transform_features_layer()

  # Plain tracing, not AutoGraph: converting the TFT layer's Keras code cost ~3 s per run.
  @tf.autograph.experimental.do_not_convert
  def transform(features):
    transformed = tft_layer(features)
    label = transformed.pop(label_key)
    return transformed, label

  dataset = raw.map(transform, num_parallel_calls=tf.data.AUTOTUNE).unbatch().cache()
  if shuffle_buffer:
    dataset = dataset.shuffle(shuffle_buffer, seed=0, reshuffle_each_iteration=True)
  return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
