"""The curated MNIST schema accepts real MNIST and flags what the IDX reader cannot see."""

import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv

from components import mnist_example_encoding
import schemas

SCHEMA = schemas.schema_path("mnist")


def _stats(tmp_path, serialized):
  path = str(tmp_path / "data.tfrecord")
  with tf.io.TFRecordWriter(path) as writer:
    for record in serialized:
      writer.write(record)
  return tfdv.generate_statistics_from_tfrecord(path, pipeline_options=None)


def test_real_mnist_has_no_anomalies(mnist_small, tmp_path):
  images, labels = mnist_small[0][:500], mnist_small[1][:500]
  stats = _stats(tmp_path, mnist_example_encoding.encode_examples(images, labels))
  anomalies = tfdv.validate_statistics(stats, tfdv.load_schema_text(SCHEMA))
  assert not anomalies.anomaly_info, anomalies


def test_out_of_domain_values_and_wrong_shapes_are_anomalies(tmp_path):
  schema = tfdv.load_schema_text(SCHEMA)
  bad = []
  for pixels, label in ((np.full(784, 300), 3), (np.zeros(784), 12)):
    bad.append(tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(int64_list=tf.train.Int64List(value=pixels.astype(int))),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString())
  # A 10x10 image and no label at all.
  bad.append(tf.train.Example(features=tf.train.Features(feature={
      "image": tf.train.Feature(int64_list=tf.train.Int64List(value=[0] * 100)),
  })).SerializeToString())
  anomalies = tfdv.validate_statistics(_stats(tmp_path, bad), schema)
  assert set(anomalies.anomaly_info) == {"image", "label"}
  image_issue = anomalies.anomaly_info["image"].description
  assert "value lengths vary" in image_issue and "Unexpectedly large value: 300" in image_issue
  assert "Unexpectedly large value: 12" in anomalies.anomaly_info["label"].description


def test_label_is_not_required_when_serving():
  schema = tfdv.load_schema_text(SCHEMA)
  label = tfdv.get_feature(schema, "label")
  assert list(label.not_in_environment) == ["SERVING"]
  assert tfdv.get_domain(schema, "image").max == 255
