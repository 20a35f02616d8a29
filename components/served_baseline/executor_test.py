"""ServedBaseline copies the highest pushed version and its training statistics, or marks absence."""

import os

import tensorflow as tf
from tfx.types import standard_artifacts

from components import gate_result, pushed_model
from components.served_baseline import executor


def _push(base, version, value, with_statistics=True):
  module = tf.Module()
  module.v = tf.Variable(value)
  module.f = tf.function(lambda: module.v + 0.0, input_signature=[])
  path = os.path.join(base, str(version))
  tf.saved_model.save(module, path)
  if with_statistics:
    stats = pushed_model.statistics_dir(path)
    os.makedirs(os.path.join(stats, "Split-train"))
    with open(os.path.join(stats, "Split-train", "FeatureStats.pb"), "wb") as f:
      f.write(str(version).encode())


def _run(tmp_path, base):
  model, statistics = standard_artifacts.Model(), standard_artifacts.ExampleStatistics()
  model.uri, statistics.uri = str(tmp_path / "model"), str(tmp_path / "statistics")
  executor.Executor().Do({}, {"model": [model], "statistics": [statistics]},
                         {"serving_dir": base, "served_version": ""})
  return model, statistics


def test_nothing_served_marks_both_outputs_absent(tmp_path):
  model, statistics = _run(tmp_path, str(tmp_path / "serving"))
  assert not gate_result.baseline_present(model) and not gate_result.baseline_present(statistics)


def test_the_highest_version_is_the_baseline(tmp_path):
  base = str(tmp_path / "serving")
  _push(base, 9, 1.0)
  _push(base, 10, 2.0)
  os.makedirs(os.path.join(base, ".incoming-11-123"))  # a push in progress is not served
  model, statistics = _run(tmp_path, base)
  assert gate_result.baseline_present(model) and gate_result.baseline_present(statistics)
  assert model.get_string_custom_property("served_version") == "10"
  loaded = tf.saved_model.load(os.path.join(model.uri, "Format-Serving"))
  assert float(loaded.f()) == 2.0
  assert statistics.split_names == '["train"]'
  with open(os.path.join(statistics.uri, "Split-train", "FeatureStats.pb"), "rb") as f:
    assert f.read() == b"10"


def test_a_version_without_statistics_is_still_the_model_baseline(tmp_path):
  base = str(tmp_path / "serving")
  _push(base, 3, 1.0, with_statistics=False)
  model, statistics = _run(tmp_path, base)
  assert gate_result.baseline_present(model) and not gate_result.baseline_present(statistics)
