"""ExampleGate on real MNIST records: clean data passes, every kind of bad record stops it."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tfx.types import standard_artifacts

import schemas
from components import gate_result, mnist_example_encoding
from components.example_gate import executor
from schemas.mnist import contract


def _example(image, label=None) -> bytes:
  feature = {}
  if image is not None:
    feature[contract.IMAGE_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(
        value=np.asarray(image).astype(int).tolist()))
  if label is not None:
    feature[contract.LABEL_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _statistics(tmp_path, name, splits, dataset="mnist"):
  """An ExampleStatistics artifact as StatisticsGen (given the schema) writes it, per split."""
  artifact = standard_artifacts.ExampleStatistics()
  artifact.uri = str(tmp_path / name)
  artifact.split_names = json.dumps(sorted(splits))
  for split, records in splits.items():
    data = str(tmp_path / f"{name}-{split}.tfrecord")
    with tf.io.TFRecordWriter(data) as writer:
      for record in records:
        writer.write(record)
    stats = tfdv.generate_statistics_from_tfrecord(data, stats_options=tfdv.StatsOptions(
        schema=tfdv.load_schema_text(schemas.schema_path(dataset))))
    os.makedirs(os.path.join(artifact.uri, f"Split-{split}"))
    with open(os.path.join(artifact.uri, f"Split-{split}", "FeatureStats.pb"), "wb") as f:
      f.write(stats.SerializeToString())  # StatisticsGen's binary format
  return artifact


def _schema(tmp_path):
  artifact = standard_artifacts.Schema()
  artifact.uri = str(tmp_path / "schema")
  os.makedirs(artifact.uri, exist_ok=True)
  with open(schemas.schema_path("mnist")) as f, open(os.path.join(artifact.uri, "schema.pbtxt"), "w") as g:
    g.write(f.read())
  return artifact


def _run(tmp_path, statistics, baseline=None):
  anomalies = standard_artifacts.ExampleAnomalies()
  anomalies.uri = str(tmp_path / f"anomalies-{statistics.uri.rsplit('/', 1)[-1]}")
  inputs = {"statistics": [statistics], "schema": [_schema(tmp_path)]}
  if baseline is not None:
    inputs["baseline_statistics"] = [baseline]
  result = executor.Executor().Do(inputs, {"anomalies": [anomalies]}, {})
  return result, anomalies


def _lines(result):
  assert result is not None and result.execution_result.code == gate_result.GATE_FAILED
  message = json.loads(result.execution_result.result_message)
  assert message["gate"] == "ExampleGate"
  return message["problems"]


@pytest.fixture(scope="module")
def clean(mnist_small):
  images, labels = mnist_small[0][:600], mnist_small[1][:600]
  return mnist_example_encoding.encode_examples(images, labels)


def test_real_mnist_passes_and_anomalies_are_written_per_split(tmp_path, clean):
  statistics = _statistics(tmp_path, "stats", {"train": clean[:400], "test": clean[400:]})
  result, anomalies = _run(tmp_path, statistics)
  assert result is None
  for split in ("train", "test"):
    assert os.path.isfile(os.path.join(anomalies.uri, f"Split-{split}", "SchemaDiff.pb"))


@pytest.mark.parametrize("bad, feature, words", [
    (lambda img: _example(np.where(np.arange(784) == 400, 300, img), 3), "image", "Unexpectedly large value: 300"),
    (lambda img: _example(img, 11), "label", "Unexpectedly large value: 11"),
    (lambda img: _example(None, 4), "image", "present in fewer examples than expected"),
    (lambda img: _example(img[:783], 5), "image", "value lengths vary"),
])
def test_each_kind_of_bad_record_stops_the_run(tmp_path, clean, mnist_small, bad, feature, words):
  record = bad(mnist_small[0][0])
  statistics = _statistics(tmp_path, "stats", {"train": clean[:300] + [record], "eval": clean[300:400]})
  result, _ = _run(tmp_path, statistics)
  lines = _lines(result)
  assert any(line.startswith(f"split train, feature {feature}: ") and words.lower() in line.lower()
             for line in lines), lines
  assert not any(line.startswith("split eval") for line in lines)


def test_label_drift_against_the_served_models_data(tmp_path, clean, mnist_small):
  labels = mnist_small[1][:600]
  baseline = _statistics(tmp_path, "baseline", {"train": clean})
  baseline.set_int_custom_property(gate_result.BASELINE_PRESENT, 1)
  low_digits = [r for r, label in zip(clean, labels) if label <= 4]
  drifted = _statistics(tmp_path, "drifted", {"train": low_digits})
  lines = _lines(_run(tmp_path, drifted, baseline)[0])
  assert len(lines) == 1 and lines[0].startswith("split train, feature label: ")
  assert "The Linfty distance between current and previous is" in lines[0]
  assert "above the threshold 0.05" in lines[0]
  # The same sample again does not drift; an absent baseline (nothing served) is not compared.
  same = _statistics(tmp_path, "same", {"train": clean})
  assert _run(tmp_path, same, baseline)[0] is None
  baseline.set_int_custom_property(gate_result.BASELINE_PRESENT, 0)
  assert _run(tmp_path, drifted, baseline)[0] is None


def _regression_example(x, y=2.0) -> bytes:
  return tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y]))})).SerializeToString()


@pytest.mark.parametrize("bad_x, words", [
    (1.5, "Unexpectedly high value"),
    (-0.25, "Unexpectedly low value"),
    (float("nan"), "NaN"),
    (float("inf"), "Inf"),
])
def test_regression_x_outside_its_domain_nan_and_inf(tmp_path, bad_x, words):
  clean = [_regression_example(x, 2 * x + 1) for x in np.linspace(0.0, 1.0, 200)]
  anomalies = standard_artifacts.ExampleAnomalies()
  anomalies.uri = str(tmp_path / "anomalies")
  statistics = _statistics(tmp_path, "stats", {"train": clean + [_regression_example(bad_x)]},
                           dataset="regression")
  schema = standard_artifacts.Schema()
  schema.uri = str(tmp_path / "schema")
  os.makedirs(schema.uri)
  with open(schemas.schema_path("regression")) as f, open(os.path.join(schema.uri, "schema.pbtxt"), "w") as g:
    g.write(f.read())
  result = executor.Executor().Do({"statistics": [statistics], "schema": [schema]},
                                  {"anomalies": [anomalies]}, {})
  lines = _lines(result)
  assert any(line.startswith("split train, feature x: ") and words.lower() in line.lower()
             for line in lines), lines
