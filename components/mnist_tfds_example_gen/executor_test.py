"""The TFDS source, offline through tfds.testing.mock_data."""

import os

import numpy as np
import tensorflow_datasets as tfds
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.mnist_tfds_example_gen import component, executor
from tests import fixtures


def test_tfds_splits_have_the_idx_features(tmp_path):
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path)
  gen = component.MnistTfdsExampleGen()
  exec_properties = {
      "input_config": gen.exec_properties["input_config"],
      "output_config": proto_utils.proto_to_json(example_gen_pb2.Output()),
      "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
      "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
  }
  with tfds.testing.mock_data(num_examples=40):
    executor.Executor().Do({}, {"examples": [examples]}, exec_properties)

  assert sorted(os.listdir(tmp_path)) == ["Split-eval", "Split-test", "Split-train"]
  for split in ("train", "eval", "test"):
    records = fixtures.read_examples(os.path.join(tmp_path, f"Split-{split}", "*.gz"))
    assert records, split
    for record in records:
      feature = record.features.feature
      assert set(feature) == {"image", "label"}
      pixels = np.asarray(feature["image"].int64_list.value)
      assert pixels.shape == (784,) and pixels.min() >= 0 and pixels.max() <= 255
      assert 0 <= feature["label"].int64_list.value[0] <= 9
