"""End to end: the regression pipeline is blessed at σ = 0 and refused at σ = 0.5."""

import json
import os
import subprocess
import sys

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [sys.executable, "-m", "pipelines.cli", "run", "--pipeline", "regression", "--model", "linear"]


def _run(home, *extra):
  summary_path = os.path.join(home, "summary.json")
  proc = subprocess.run(CLI + ["--home", home, "--summary-json", summary_path, *extra],
                        capture_output=True, text=True, cwd=ROOT, timeout=600)
  with open(summary_path) as f:
    return proc, json.load(f)


def test_noise_free_run_is_blessed_and_pushed_model_learns_2x_plus_1(tmp_path):
  proc, summary = _run(str(tmp_path), "--examples", "1000", "--seed", "3")
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert proc.stderr == "" and "blessed: yes" in proc.stdout
  assert summary["blessed"] and summary["anomalies"] == {}
  assert summary["metrics"]["within_tolerance"] >= 0.99
  assert summary["metrics"]["mean_squared_error"] < 1e-4
  assert summary["component_seconds"]["Trainer"] < 60
  pushed = summary["pushed_path"]
  assert os.path.dirname(pushed) == os.path.join(str(tmp_path), "serving", "regression")
  xs = [0.0, 0.5, 1.0, 1.5, 2.0]
  predict = tf.saved_model.load(pushed).signatures["predict_x"]
  ys = predict(x=tf.constant(xs))["predictions"].numpy()
  for x, y in zip(xs, ys):
    assert abs(y - (2 * x + 1)) < 0.01, (x, y)
  assert abs(summary["details"]["w"] - 2) < 0.01 and abs(summary["details"]["b"] - 1) < 0.01


def test_noisy_run_is_not_blessed_and_nothing_is_pushed(tmp_path):
  proc, summary = _run(str(tmp_path), "--noise", "0.5")
  assert proc.returncode == 3, proc.stdout + proc.stderr
  assert "blessed: NO" in proc.stdout and "nothing was pushed" in proc.stdout
  assert "FAILED threshold: within_tolerance" in proc.stdout
  assert summary["blessed"] is False and summary["pushed_path"] is None
  assert set(summary["anomalies"]) == {"train", "eval", "test"}  # y leaves [1, 3]
  assert not os.path.exists(os.path.join(str(tmp_path), "serving", "regression"))
