"""The regression generator: determinism, distribution, split sizes, and its TFX output."""

import os

import numpy as np
import pytest
from tfx.types import standard_artifacts

from components.regression_example_gen import executor
from components.regression_example_gen import generator, writer
from components.regression_example_gen.generator import GeneratorConfig
from tests import fixtures


def _xy(records):
  return (np.array([r.features.feature["x"].float_list.value[0] for r in records]),
          np.array([r.features.feature["y"].float_list.value[0] for r in records]))


def _run(tmp_path, config):
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path)
  executor.Executor().Do({}, {"examples": [examples]}, {"generator_config": config.to_json()})
  return examples, {
      name: _xy(fixtures.read_examples(os.path.join(tmp_path, f"Split-{name}", "*.gz")))
      for name, _, _ in config.split_ranges()}


def test_split_sizes_follow_the_fractions():
  config = GeneratorConfig(num_examples=2501, split_fractions=(("train", 0.6), ("eval", 0.2), ("test", 0.2)))
  assert config.split_ranges() == [("train", 0, 1501), ("eval", 1501, 2001), ("test", 2001, 2501)]


@pytest.mark.parametrize("n", range(3, 21))
def test_small_data_sets_leave_no_split_empty(n):
  ranges = GeneratorConfig(num_examples=n).split_ranges()
  assert [name for name, _, _ in ranges] == ["train", "eval", "test"]
  assert ranges[0][1] == 0 and ranges[-1][2] == n
  for (_, _, stop), (_, start, _) in zip(ranges, ranges[1:]):
    assert stop == start  # contiguous, no overlap
  assert all(stop > start for _, start, stop in ranges), ranges


def test_noise_free_data_lies_on_the_line_with_uniform_x():
  x, y = generator.generate_chunk(GeneratorConfig(seed=3), chunk=0)
  np.testing.assert_allclose(y, 2 * x + 1, rtol=0, atol=1e-6)
  assert x.min() >= 0 and x.max() < 1
  # U(0,1): mean 1/2, variance 1/12, each decile about a tenth.
  assert abs(x.mean() - 0.5) < 0.03 and abs(x.var() - 1 / 12) < 0.01
  assert np.all(np.abs(np.histogram(x, bins=10, range=(0, 1))[0] - 100) < 40)


def test_noise_has_the_requested_stddev():
  x, y = generator.generate_chunk(GeneratorConfig(noise_stddev=0.5, seed=1), chunk=2)
  residual = y - (2 * x + 1)
  assert abs(residual.std() - 0.5) < 0.05 and abs(residual.mean()) < 0.05


def test_held_out_splits_stop_growing_at_the_cap_and_train_takes_the_rest():
  # Up to 10^6 the cap does not bind: the 80/10/10 layout (and cached data) is unchanged.
  assert GeneratorConfig(num_examples=1_000_000).split_ranges() == [
      ("train", 0, 800_000), ("eval", 800_000, 900_000), ("test", 900_000, 1_000_000)]
  assert GeneratorConfig(num_examples=4_000_000).split_ranges() == [
      ("train", 0, 3_800_000), ("eval", 3_800_000, 3_900_000), ("test", 3_900_000, 4_000_000)]
  assert GeneratorConfig(num_examples=1000, holdout_cap=50).split_ranges() == [
      ("train", 0, 900), ("eval", 900, 950), ("test", 950, 1000)]
  # Configs written before the cap existed still load (the default applies).
  old = '{"num_examples": 10, "noise_stddev": 0.0, "seed": 0, "split_fractions": [["train", 1.0]]}'
  assert GeneratorConfig.from_json(old).holdout_cap == generator.HOLDOUT_CAP


@pytest.mark.parametrize("bad, message", [
    (dict(num_examples=2), "num_examples must be at least 3"),
    (dict(noise_stddev=-1.0), "noise_stddev must be >= 0"),
    (dict(split_fractions=(("train", 0.9), ("test", 0.2))), "sum to 1"),
    (dict(holdout_cap=0), "holdout_cap must be at least 1"),
])
def test_bad_configs_are_rejected(bad, message):
  with pytest.raises(ValueError, match=message):
    GeneratorConfig(**bad)


def test_executor_is_deterministic_per_seed_and_writes_every_split(tmp_path):
  config = GeneratorConfig(num_examples=2500, seed=7)
  artifact, first = _run(tmp_path / "a", config)
  _, again = _run(tmp_path / "b", config)
  _, other = _run(tmp_path / "c", GeneratorConfig(num_examples=2500, seed=8))
  assert artifact.split_names == '["train", "eval", "test"]'
  assert {k: len(v[0]) for k, v in first.items()} == {"train": 2000, "eval": 250, "test": 250}
  for split in first:
    # Beam may reorder records within a split: compare sorted.
    np.testing.assert_array_equal(np.sort(first[split][0]), np.sort(again[split][0]))
    assert not np.array_equal(np.sort(first[split][0]), np.sort(other[split][0]))
    x, y = first[split]
    np.testing.assert_allclose(y, 2 * x + 1, atol=1e-6)
  # Splits do not overlap: 2,500 distinct x values.
  assert len(np.unique(np.concatenate([v[0] for v in first.values()]))) == 2500


def _python_example(x, y):
  """The encoding the executor used before it was vectorized: one protobuf per record."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y])),
  }))


def test_vectorized_encoding_has_the_same_content_as_the_protobuf_loop():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  x, y = generator.generate_chunk(GeneratorConfig(seed=5, noise_stddev=0.1), chunk=3)
  encoded = writer.encode_examples(x, y)
  assert len(encoded) == len(x) == 1000
  for record, xi, yi in zip(encoded, x, y):
    assert tf.train.Example.FromString(record) == _python_example(xi, yi)
  assert writer.encode_examples(x[:0], y[:0]) == []


def test_ranges_that_cut_chunks_yield_exactly_their_records():
  # Content, not bytes: the C++ coder writes the feature map in no fixed order.
  config = GeneratorConfig(num_examples=5000, seed=2)
  whole = _xy_pairs(writer.encode_range((0, 3000), config))
  parts = _xy_pairs(r for bounds in [(0, 999), (999, 1001), (1001, 3000)]
                    for r in writer.encode_range(bounds, config))
  assert parts == whole and len(whole) == 3000


def _xy_pairs(records):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return [(e.features.feature["x"].float_list.value[0], e.features.feature["y"].float_list.value[0])
          for e in map(tf.train.Example.FromString, records)]


def test_framed_records_read_back_with_checksums_verified(tmp_path):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  records = [b"", b"a", b"\x00" * 300] + writer.encode_examples(
      *generator.generate_chunk(GeneratorConfig(), chunk=0))
  path = str(tmp_path / "f.tfrecord")
  with open(path, "wb") as f:
    f.write(writer.frame_tfrecords(records))
  # TF's reader checks both CRCs of every record (a wrong one raises DataLossError).
  read = [r.numpy() for r in tf.data.TFRecordDataset(path)]
  assert read == records
  with open(path, "r+b") as f:
    f.seek(-1, 2)
    last = f.read(1)
    f.seek(-1, 2)
    f.write(bytes([last[0] ^ 1]))
  with pytest.raises(tf.errors.DataLossError):
    list(tf.data.TFRecordDataset(path))


def test_files_keep_the_name_every_example_gen_writes():
  from tfx.components.example_gen import write_split  # pylint: disable=import-outside-toplevel
  assert writer.FILE_NAME == write_split.DEFAULT_TF_RECORD_FILE_NAME


def test_the_worker_module_does_not_import_tensorflow():
  import subprocess, sys  # pylint: disable=import-outside-toplevel,multiple-imports
  code = ("import sys, components.regression_example_gen.writer; "
          "sys.exit(int(any(m in sys.modules for m in ('tensorflow', 'tfx'))))")
  assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_shards_cover_a_split_in_files_of_at_most_the_shard_size():
  assert writer.shards(0, 120_000) == [(0, 3, 0, 50_000), (1, 3, 50_000, 100_000), (2, 3, 100_000, 120_000)]
  assert writer.shards(10, 20) == [(0, 1, 10, 20)]
  assert list(writer.chunk_bounds(999, 3001)) == [(999, 1000), (1000, 2000), (2000, 3000), (3000, 3001)]
