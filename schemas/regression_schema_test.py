"""The curated regression schema: noise-free data passes, out-of-range y is flagged."""

import tensorflow as tf
import tensorflow_data_validation as tfdv

from components.regression_example_gen.executor import encode_range
from components.regression_example_gen.generator import GeneratorConfig
import schemas

SCHEMA = schemas.schema_path("regression")


def _anomalies(tmp_path, config):
  path = str(tmp_path / "data.tfrecord")
  with tf.io.TFRecordWriter(path) as writer:
    for record in encode_range((0, 1000), config):
      writer.write(record)
  stats = tfdv.generate_statistics_from_tfrecord(path)
  return tfdv.validate_statistics(stats, tfdv.load_schema_text(SCHEMA))


def test_noise_free_data_matches_the_schema(tmp_path):
  assert not _anomalies(tmp_path, GeneratorConfig(seed=5)).anomaly_info


def test_noisy_y_leaves_its_domain(tmp_path):
  anomalies = _anomalies(tmp_path, GeneratorConfig(seed=5, noise_stddev=0.5))
  assert set(anomalies.anomaly_info) == {"y"}
  assert "Unexpectedly" in anomalies.anomaly_info["y"].description
