"""Runs the MnistIdxExampleGen executor on a small real-MNIST directory."""

import os

import numpy as np
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.mnist_idx_example_gen import executor, idx_reader
from tests import fixtures


def _run_executor(data_dir, out_dir):
  examples = standard_artifacts.Examples()
  examples.uri = out_dir
  exec_properties = {
      "input_base": data_dir,
      "input_config": proto_utils.proto_to_json(executor.input_config()),
      "output_config": proto_utils.proto_to_json(example_gen_pb2.Output()),
      "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
      "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
  }
  executor.Executor().Do({}, {"examples": [examples]}, exec_properties)
  return examples


@fixtures.needs_mnist
def test_splits_follow_the_tutorial_and_records_match_the_idx_files(tmp_path):
  data_dir, out_dir = str(tmp_path / "idx"), str(tmp_path / "out")
  os.makedirs(data_dir)
  n_train, n_test = executor.VALIDATION_SIZE + 700, 300
  fixtures.write_mnist_subset(data_dir, n_train, n_test)
  artifact = _run_executor(data_dir, out_dir)

  assert sorted(os.listdir(out_dir)) == ["Split-eval", "Split-test", "Split-train"]
  train_images, train_labels = idx_reader.read_pair(idx_reader.find_pair(data_dir, "train"))
  test_images, test_labels = idx_reader.read_pair(idx_reader.find_pair(data_dir, "t10k"))
  expected = {
      "train": (train_images[:700], train_labels[:700]),
      "eval": (train_images[700:], train_labels[700:]),
      "test": (test_images, test_labels),
  }
  for split, (images, labels) in expected.items():
    records = fixtures.read_examples(os.path.join(out_dir, f"Split-{split}", "*.gz"))
    assert len(records) == len(labels), split
    # Beam may reorder records: compare as sorted (label, pixels) rows.
    rows = sorted((r.features.feature["label"].int64_list.value[0],
                   bytes(np.asarray(r.features.feature["image"].int64_list.value, np.uint8)))
                  for r in records)
    want = sorted((int(l), img.reshape(-1).tobytes()) for img, l in zip(images, labels))
    assert rows == want, split
    assert set(records[0].features.feature) == {"image", "label"}
    assert len(records[0].features.feature["image"].int64_list.value) == 784
  assert artifact.split_names == '["train", "eval", "test"]'
