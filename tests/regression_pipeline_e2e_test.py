"""End to end: the regression pipeline is blessed at σ = 0; at σ = 0.5 the data gate stops it."""

import os
import re

import pytest
import tensorflow as tf

from schemas.regression import contract
from tests import fixtures

pytestmark = [pytest.mark.e2e]
ARGS = ["--pipeline", "regression", "--model", "linear"]


def test_noise_free_run_is_blessed_and_pushed_model_learns_2x_plus_1(tmp_path):
  home = str(tmp_path / "home")
  proc, summary = fixtures.run_pipeline(home, ARGS + ["--examples", "1000", "--seed", "3", "--report"])
  assert proc.stderr == "" and "blessed: yes" in proc.stdout
  assert summary["blessed"] and summary["anomalies"] == []
  assert summary["metrics"]["within_tolerance"] >= 0.99
  assert summary["metrics"]["mean_squared_error"] < 1e-4
  assert summary["component_seconds"]["Trainer"] < 60
  pushed = summary["pushed_path"]
  assert os.path.dirname(pushed) == os.path.join(home, "serving", contract.SERVING_MODEL_NAME)
  xs = [0.0, 0.5, 1.0, 1.5, 2.0]
  predict = tf.saved_model.load(pushed).signatures[contract.PREDICT_X_SIGNATURE]
  ys = predict(**{contract.PREDICT_X_INPUT: tf.constant(xs)})[contract.OUTPUT_PREDICTIONS].numpy()
  for x, y in zip(xs, ys):
    assert abs(y - (2 * x + 1)) < 0.01, (x, y)
  assert abs(summary["details"]["w"] - 2) < 0.01 and abs(summary["details"]["b"] - 1) < 0.01
  # --report: the regression page shows the fitted line, w and b, and the extrapolation.
  report_path = os.path.join(home, "reports", summary["run_id"].replace(":", "_") + ".html")
  assert f"report: {os.path.abspath(report_path)}" in proc.stdout
  with open(report_path) as f:
    page = f.read()
  w, b = (float(v) for v in re.search(r"learned w = ([-\d.]+), b = ([-\d.]+)", page).groups())
  assert abs(w - summary["details"]["w"]) < 1e-4 and abs(b - summary["details"]["b"]) < 1e-4
  assert "<h3>Extrapolation</h3>" in page and page.count('src="data:image/png;base64,') >= 3


def test_noisy_data_is_stopped_before_training_and_nothing_is_pushed(tmp_path):
  home = str(tmp_path / "home")
  proc, summary = fixtures.run_pipeline(home, ARGS + ["--noise", "0.5", "--verbose"], expect_exit=3)
  # --verbose streams the run's log (absl, TFX, Beam) to stderr; stdout stays the summary.
  assert "Component ExampleGate is running." in proc.stderr
  assert "Component ExampleGate is running." not in proc.stdout
  assert "stopped by ExampleGate before training: nothing was trained or pushed" in proc.stdout
  assert summary["stopped_by"] == "ExampleGate" and summary["pushed_path"] is None
  # y = 2x + 1 + N(0, 0.5) leaves the schema's [1, 3] in every split.
  splits = sorted(line.split(",")[0] for line in summary["anomalies"])
  assert splits == ["split eval", "split test", "split train"], summary["anomalies"]
  assert all(", feature y: " in line for line in summary["anomalies"])
  assert "Trainer" not in summary["component_seconds"]
  assert not os.path.exists(os.path.join(home, "serving", contract.SERVING_MODEL_NAME))
