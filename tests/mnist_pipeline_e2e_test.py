"""End to end on full real MNIST: `mnist-tfx run` as a user runs it, then the pushed model.

One scenario on one home, run once (module fixture) and then only read by the tests:
a fresh softmax run (~30 s), the same command again (cached), and a trainer-only change
that makes the model worse (refused). The Deep-MNIST CNN runs once on its own home
(~85 s) to hold the 99.2 % claim. Everything else in the suite uses small data.
"""

import dataclasses
import os
import subprocess
import sys
from typing import Any, Dict, List

import numpy as np
import pytest
import tensorflow as tf

from components import mnist_example_encoding
from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]


@dataclasses.dataclass
class Step:
  stdout: str
  stderr: str
  summary: Dict[str, Any]
  versions_after: List[str]  # serving/mnist/ listing right after this step


@dataclasses.dataclass
class Scenario:
  home: str
  first: Step
  again: Step
  worse: Step


def _step(home: str, extra: List[str], expect_exit: int) -> Step:
  proc, summary = fixtures.run_pipeline(
      home, ["--pipeline", "mnist", "--model", "softmax", "--data-dir", fixtures.MNIST_DIR, *extra],
      expect_exit=expect_exit)
  serving = os.path.join(home, "serving", contract.SERVING_MODEL_NAME)
  return Step(proc.stdout, proc.stderr, summary, sorted(os.listdir(serving)))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
  if not fixtures.mnist_available():
    pytest.skip("real MNIST missing")  # the marker turns this into a failure under CI=true
  home = str(tmp_path_factory.mktemp("home"))
  first = _step(home, [], expect_exit=0)
  again = _step(home, [], expect_exit=0)
  # One epoch instead of ten: the data components stay cached, the model gets worse.
  worse = _step(home, ["--epochs", "1"], expect_exit=3)
  return Scenario(home, first, again, worse)


def test_run_is_quiet_blessed_and_pushes_a_tf_serving_layout(scenario):
  first = scenario.first
  # Quiet terminal: progress lines and a summary, no library noise.
  assert first.stderr == ""
  for noise in ("Traceback", "AtomicFunction", "WARNING", "tensorflow/core"):
    assert noise not in first.stdout
  assert "[9/9] Pusher" in first.stdout and "blessed: yes" in first.stdout
  summary = first.summary
  assert summary["blessed"] is True and summary["anomalies"] == {}
  assert summary["metrics"]["example_count"] == contract.SPLIT_SIZES[contract.TEST_SPLIT]
  assert summary["metrics"]["sparse_categorical_accuracy"] >= 0.92
  # Per-component seconds come from MLMD: every node of the graph, each measured.
  assert set(summary["component_seconds"]) == {
      "MnistIdxExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator",
      "Transform", "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher"}
  assert summary["component_seconds"]["Trainer"] > 1
  assert summary["cached_components"] == []
  # TF Serving layout: <home>/serving/mnist/<integer version>/saved_model.pb
  serving = os.path.join(scenario.home, "serving", "mnist")
  assert len(first.versions_after) == 1 and first.versions_after[0].isdigit()
  assert summary["pushed_path"] == os.path.join(serving, first.versions_after[0])
  assert os.path.isfile(os.path.join(summary["pushed_path"], "saved_model.pb"))
  # Local Beam runs skip TFX's sdist-for-remote-workers step (3.3 s per run).
  logs = sorted(os.listdir(os.path.join(scenario.home, "logs")))
  with open(os.path.join(scenario.home, "logs", logs[0])) as f:  # this first run's log
    log = f.read()
  assert "Component Trainer is finished" in log
  assert "Attempting to infer TFX Python dependency" not in log
  # TensorBoard logs were written by the Trainer.
  model_run = summary["model_uri"].replace("/model/", "/model_run/")
  assert any("events.out.tfevents" in f for _, _, fs in os.walk(model_run) for f in fs)


def test_pushed_model_classifies_the_10000_test_images(scenario):
  summary = scenario.first.summary
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  shown = subprocess.run([cli, "show", "--dir", summary["pushed_path"], "--tag_set", "serve",
                          "--signature_def", contract.PREDICT_SIGNATURE],
                         capture_output=True, text=True, check=True).stdout
  assert f"inputs['{contract.PREDICT_INPUT}'] tensor_info:" in shown and "dtype: DT_STRING" in shown
  assert f"outputs['{contract.OUTPUT_PROBABILITIES}']" in shown
  assert f"outputs['{contract.OUTPUT_CLASSES}']" in shown

  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  serving = tf.saved_model.load(summary["pushed_path"]).signatures[contract.PREDICT_SIGNATURE]
  # Serving clients do not send labels: encode with a dummy and drop it via the raw spec.
  examples = list(mnist_example_encoding.encode_examples(images, np.zeros_like(labels)))
  out = serving(**{contract.PREDICT_INPUT: tf.constant(examples)})
  probabilities = out[contract.OUTPUT_PROBABILITIES].numpy()
  classes = out[contract.OUTPUT_CLASSES].numpy()
  assert probabilities.shape == (10000, 10)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  accuracy = float((classes == labels).mean())
  assert accuracy >= 0.92
  # The Evaluator measured the same model on the same split.
  assert accuracy == pytest.approx(summary["metrics"]["sparse_categorical_accuracy"], abs=1e-6)


def test_second_run_is_served_from_the_cache(scenario):
  first, again = scenario.first.summary, scenario.again.summary
  # Everything up to the Trainer is reused. The Evaluator runs once more because it now has a
  # baseline (the model of the first run, blessed since); the model is the same, so the
  # Pusher records the existing version instead of publishing a duplicate.
  assert {"ImportSchemaGen", "MnistIdxExampleGen", "StatisticsGen", "ExampleValidator",
          "Transform", "Trainer"} <= set(again["cached_components"])
  assert again["blessed"] and again["metrics"]["sparse_categorical_accuracy_diff"] == 0
  assert again["pushed_path"] == first["pushed_path"]
  assert again["total_seconds"] < first["total_seconds"]
  assert scenario.again.versions_after == scenario.first.versions_after


def test_trainer_only_change_reruns_from_trainer_and_a_regression_is_not_pushed(scenario):
  worse = scenario.worse.summary
  assert sorted(set(worse["component_seconds"]) - set(worse["cached_components"])) == [
      "Evaluator", "Pusher", "Trainer", "latest_blessed_model_resolver"]
  assert worse["blessed"] is False and worse["pushed_path"] is None
  assert worse["metrics"]["sparse_categorical_accuracy_diff"] < -0.001
  assert "FAILED threshold: sparse_categorical_accuracy changed by" in scenario.worse.stdout
  assert scenario.worse.versions_after == scenario.first.versions_after


def test_deep_mnist_cnn_reaches_its_bound_and_is_pushed(tmp_path):
  home = str(tmp_path / "home")
  _, summary = fixtures.run_pipeline(
      home, ["--pipeline", "mnist", "--model", "cnn", "--data-dir", fixtures.MNIST_DIR])
  assert summary["blessed"] is True
  assert summary["metrics"]["sparse_categorical_accuracy"] >= 0.992
  assert summary["pushed_path"].startswith(os.path.join(home, "serving", "mnist"))
  assert os.path.isfile(os.path.join(summary["pushed_path"], "saved_model.pb"))
