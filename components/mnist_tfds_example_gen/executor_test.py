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


def test_tfds_split_expressions_select_the_same_records_as_the_idx_source():
  """mock_data returns the same records for every split, so check the split arithmetic itself.

  TFDS's own parser resolves each expression against MNIST's 60,000/10,000 TFDS splits;
  the ranges must be exactly the ones the IDX ExampleGen reads from the same files.
  """
  from components.mnist_idx_example_gen import executor as idx_executor  # pylint: disable=import-outside-toplevel
  from schemas.mnist import contract  # pylint: disable=import-outside-toplevel
  sizes = {"train": 60_000, "test": 10_000}
  infos = {name: tfds.core.SplitInfo(name=name, shard_lengths=[n], num_bytes=0)
           for name, n in sizes.items()}
  idx_file_of = {"train": "train", "t10k": "test"}
  for split, expression in component.tfds_splits().items():
    (instruction,) = tfds.core.ReadInstruction.from_spec(expression).to_absolute(infos)
    got = (instruction.splitname, range(*slice(instruction.from_, instruction.to).indices(
        sizes[instruction.splitname])))
    source = idx_executor.SPLITS[split]
    want = (idx_file_of[source.prefix], range(*slice(source.start, source.stop).indices(
        sizes[idx_file_of[source.prefix]])))
    assert got == want, split
    assert len(got[1]) == contract.SPLIT_SIZES[split]
