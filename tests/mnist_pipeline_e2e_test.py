"""End to end on full real MNIST: `mnist-tfx run` as a user runs it, then the pushed model.

One full-data softmax run (~30 s) with its reruns, and the Deep-MNIST CNN once (~85 s) to
hold the 99.2 % claim; everything else in the suite uses small data.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from components import mnist_example_encoding
from components.mnist_idx_example_gen import idx_reader
from tests import fixtures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [sys.executable, "-m", "pipelines.cli", "run", "--pipeline", "mnist"]


def _run(home, summary_path, model="softmax"):
  proc = subprocess.run(
      CLI + ["--model", model, "--data-dir", fixtures.MNIST_DIR, "--home", home,
                  "--summary-json", summary_path],
      capture_output=True, text=True, cwd=ROOT, timeout=900)
  with open(summary_path) as f:
    return proc, json.load(f)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
  home = str(tmp_path_factory.mktemp("home"))
  proc, summary = _run(home, os.path.join(home, "summary1.json"))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  return home, proc, summary


@fixtures.needs_mnist
def test_run_is_quiet_blessed_and_pushes_a_tf_serving_layout(first_run):
  home, proc, summary = first_run
  # Quiet terminal: progress lines and a summary, no library noise.
  assert proc.stderr == ""
  for noise in ("Traceback", "AtomicFunction", "WARNING", "tensorflow/core"):
    assert noise not in proc.stdout
  assert "[9/9] Pusher" in proc.stdout and "blessed: yes" in proc.stdout
  assert summary["blessed"] is True and summary["anomalies"] == {}
  assert summary["metrics"]["example_count"] == 10000
  assert summary["metrics"]["sparse_categorical_accuracy"] >= 0.92
  assert set(summary["component_seconds"]) == {
      "MnistIdxExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator",
      "Transform", "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher"}
  assert summary["cached_components"] == []
  # TF Serving layout: <home>/serving/mnist/<integer version>/saved_model.pb
  serving = os.path.join(home, "serving", "mnist")
  versions = os.listdir(serving)
  assert len(versions) == 1 and versions[0].isdigit()
  assert summary["pushed_path"] == os.path.join(serving, versions[0])
  assert os.path.isfile(os.path.join(summary["pushed_path"], "saved_model.pb"))
  # Local Beam runs skip TFX's sdist-for-remote-workers step (3.3 s per run).
  log_name = sorted(os.listdir(os.path.join(home, "logs")))[0]  # this first run's log
  with open(os.path.join(home, "logs", log_name)) as f:
    log = f.read()
  assert "Component Trainer is finished" in log
  assert "Attempting to infer TFX Python dependency" not in log
  # TensorBoard logs were written by the Trainer.
  model_run = summary["model_uri"].replace("/model/", "/model_run/")
  assert any("events.out.tfevents" in f for _, _, fs in os.walk(model_run) for f in fs)


@fixtures.needs_mnist
def test_pushed_model_classifies_the_10000_test_images(first_run):
  _, _, summary = first_run
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  shown = subprocess.run([cli, "show", "--dir", summary["pushed_path"], "--tag_set", "serve",
                          "--signature_def", "serving_default"],
                         capture_output=True, text=True, check=True).stdout
  assert "inputs['examples'] tensor_info:" in shown and "dtype: DT_STRING" in shown
  assert "outputs['probabilities']" in shown and "outputs['classes']" in shown

  images, labels = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  serving = tf.saved_model.load(summary["pushed_path"]).signatures["serving_default"]
  # Serving clients do not send labels: encode with a dummy and drop it via the raw spec.
  examples = list(mnist_example_encoding.encode_examples(images, np.zeros_like(labels)))
  out = serving(examples=tf.constant(examples))
  probabilities, classes = out["probabilities"].numpy(), out["classes"].numpy()
  assert probabilities.shape == (10000, 10)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  accuracy = float((classes == labels).mean())
  assert accuracy >= 0.92
  # The Evaluator measured the same model on the same split.
  assert accuracy == pytest.approx(summary["metrics"]["sparse_categorical_accuracy"], abs=1e-6)


@fixtures.needs_mnist
def test_second_run_is_served_from_the_cache(first_run):
  home, _, first = first_run
  proc, summary = _run(home, os.path.join(home, "summary2.json"))
  assert proc.returncode == 0, proc.stdout + proc.stderr
  # Everything up to the Trainer is reused. The Evaluator runs once more because it now has a
  # baseline (the model of the first run, blessed since); the model is the same, so the
  # Pusher records the existing version instead of publishing a duplicate.
  assert {"ImportSchemaGen", "MnistIdxExampleGen", "StatisticsGen", "ExampleValidator",
          "Transform", "Trainer"} <= set(summary["cached_components"])
  assert summary["blessed"] and summary["metrics"]["sparse_categorical_accuracy_diff"] == 0
  assert summary["pushed_path"] == first["pushed_path"]
  assert summary["total_seconds"] < first["total_seconds"]
  assert len(os.listdir(os.path.join(home, "serving", "mnist"))) == 1


@fixtures.needs_mnist
def test_trainer_only_change_reruns_from_trainer_and_a_regression_is_not_pushed(first_run):
  home, _, first = first_run
  # One epoch instead of ten: the data components stay cached, the model gets worse.
  proc = subprocess.run(
      CLI + ["--model", "softmax", "--data-dir", fixtures.MNIST_DIR, "--home", home,
             "--epochs", "1",
             "--summary-json", os.path.join(home, "summary3.json")],
      capture_output=True, text=True, cwd=ROOT, timeout=900)
  with open(os.path.join(home, "summary3.json")) as f:
    summary = json.load(f)
  assert proc.returncode == 3, proc.stdout + proc.stderr
  assert sorted(set(summary["component_seconds"]) - set(summary["cached_components"])) == [
      "Evaluator", "Pusher", "Trainer", "latest_blessed_model_resolver"]
  assert summary["blessed"] is False and summary["pushed_path"] is None
  drop = summary["metrics"]["sparse_categorical_accuracy_diff"]
  assert drop < -0.001
  assert "FAILED threshold: sparse_categorical_accuracy changed by" in proc.stdout
  assert os.listdir(os.path.join(home, "serving", "mnist")) == [os.path.basename(first["pushed_path"])]


@fixtures.needs_mnist
def test_deep_mnist_cnn_reaches_its_bound_and_is_pushed(tmp_path):
  home = str(tmp_path)
  proc, summary = _run(home, os.path.join(home, "summary.json"), model="cnn")
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert summary["blessed"] is True
  assert summary["metrics"]["sparse_categorical_accuracy"] >= 0.992
  assert summary["pushed_path"].startswith(os.path.join(home, "serving", "mnist"))
  assert os.path.isfile(os.path.join(summary["pushed_path"], "saved_model.pb"))
