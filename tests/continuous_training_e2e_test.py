"""Continuous training on real MNIST cut into spans: spans, a rolling window, warm start, watch.

One scenario on one home, run once (module fixture) and then only read by the tests. The
training file's two halves are two spans, each with its own eval part and the canonical
10,000 test images as its test split, published as a producer does (written under
`.incoming-span-N/`, then renamed):

  cold    span 1 published; `run` trains softmax from scratch on it and pushes
  warm    span 2 published; `run` trains on span 2 only, starting from the served weights
  window  `--span-window 2 --warm-start off`: from scratch on both, no span ingested again
  watch   `watch --max-runs 1` says nothing is new, then runs once when span 3 appears
"""

import dataclasses
import os
import re
import signal
import subprocess
import time
from typing import Any, Dict

import pytest

from components import pushed_model
from models.mnist import recipes
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]

BOUND = recipes.ACCURACY_BOUNDS["softmax"]


@dataclasses.dataclass
class Run:
  stdout: str
  summary: Dict[str, Any]

  @property
  def first_epoch_loss(self) -> float:
    return float(re.search(r"epoch 1/\d+\s+loss (\S+)", self.stdout).group(1))

  def seconds(self, prefix: str) -> float:
    return sum(s for n, s in self.summary["component_seconds"].items() if n.startswith(prefix))


@dataclasses.dataclass
class Scenario:
  home: str
  data: str
  cold: Run
  warm: Run
  window: Run
  watch_out: str
  watch_exit: int
  watch_before_span_3: str


def _run(home, data, *extra) -> Run:
  proc, summary = fixtures.run_pipeline(home, ["--pipeline", "mnist", "--model", "softmax",
                                               "--examples-dir", data, *extra])
  return Run(proc.stdout, summary)


def _wait_for(path_or_proc, text, timeout=120):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    with open(path_or_proc) as f:
      if text in f.read():
        return
    time.sleep(0.2)
  with open(path_or_proc) as f:
    raise AssertionError(f"{text!r} not in watch output after {timeout} s:\n{f.read()}")


@pytest.fixture(scope="module")
def spans(tmp_path_factory) -> Scenario:
  fixtures.require(fixtures.mnist_available(), "real MNIST (../shared/data/mnist)")
  root = tmp_path_factory.mktemp("continuous")
  home, data = str(root / "home"), str(root / "data")
  os.makedirs(data)
  fixtures.publish_mnist_span(data, 1, (0, 27500), (55000, 57500))
  cold = _run(home, data)
  fixtures.publish_mnist_span(data, 2, (27500, 55000), (57500, 60000))
  warm = _run(home, data)
  window = _run(home, data, "--span-window", "2", "--warm-start", "off")
  # watch: nothing is new at first (the served model was trained on span 2); span 3 arrives.
  out_path = str(root / "watch.out")
  with open(out_path, "w") as out:
    watch = subprocess.Popen(
        fixtures.CLI + ["watch", "--pipeline", "mnist", "--model", "softmax", "--examples-dir",
                        data, "--home", home, "--interval", "0.5", "--max-runs", "1",
                        "--train-steps", "50"], stdout=out, stderr=subprocess.STDOUT,
        cwd=fixtures.ROOT)
  try:
    _wait_for(out_path, "nothing new")
    time.sleep(1.5)  # three more polls: still nothing to do
    with open(out_path) as f:
      before = f.read()
    fixtures.publish_mnist_span(data, 3, (0, 5000), (55000, 56000))
    watch_exit = watch.wait(timeout=600)
  finally:
    if watch.poll() is None:
      watch.kill()
  with open(out_path) as f:
    return Scenario(home, data, cold, warm, window, f.read(), watch_exit, before)


def test_a_run_trains_on_the_latest_span_and_records_it(spans):
  cold = spans.cold.summary
  assert cold["spans"] == [1] and cold["warm_start_from"] is None and cold["blessed"], cold
  assert "Trainer: cold start (nothing served yet)" in spans.cold.stdout
  warm = spans.warm.summary
  assert warm["spans"] == [2], warm
  # Span 1 is not read again: only span 2's data nodes are in the run.
  assert sorted(n for n in warm["component_seconds"] if ".span-" in n) == [
      "ExampleGate.span-2", "ImportExampleGen.span-2", "StatisticsGen.span-2"]
  runs = fixtures.run_cli(["runs", "--home", spans.home, "--json"])
  assert runs.returncode == 0, runs.stderr
  assert '"spans": [\n      2\n    ]' in runs.stdout or '"spans": [2]' in runs.stdout


def test_the_next_span_warm_starts_from_the_served_version(spans):
  warm, cold = spans.warm.summary, spans.cold.summary
  served = os.path.basename(cold["pushed_path"])
  assert warm["warm_start_from"] == served, warm
  assert f"Trainer: warm start from served version {served}" in spans.warm.stdout
  assert f"warm start from served version {served} (softmax, same layer shapes)" in spans.warm.stdout
  # It starts where the served model ended: its first epoch already has a far lower loss.
  assert spans.warm.first_epoch_loss < spans.cold.first_epoch_loss * 0.8, (
      spans.warm.first_epoch_loss, spans.cold.first_epoch_loss)
  assert warm["metrics"]["sparse_categorical_accuracy"] >= BOUND and warm["blessed"], warm
  # The pushed model's record says so too (what the next warm start reads).
  if warm["pushed_path"]:
    with open(os.path.join(warm["pushed_path"], pushed_model.TRAINING_RECORD)) as f:
      assert f'"warm_start_from": "{served}"' in f.read()


def test_a_window_of_two_trains_cold_on_both_and_ingests_no_span_again(spans):
  window = spans.window.summary
  assert window["spans"] == [1, 2] and window["warm_start_from"] is None, window
  assert "Trainer: cold start (--warm-start off)" in spans.window.stdout
  # Both spans were ingested by earlier runs: their ExampleGen and StatisticsGen are cached.
  data_nodes = [n for n in window["component_seconds"]
                if n.startswith(("ImportExampleGen.span-", "StatisticsGen.span-"))]
  assert sorted(data_nodes) == ["ImportExampleGen.span-1", "ImportExampleGen.span-2",
                                "StatisticsGen.span-1", "StatisticsGen.span-2"]
  assert set(data_nodes) <= set(window["cached_components"]), window["cached_components"]
  assert "Trainer" not in window["cached_components"]
  assert window["metrics"]["sparse_categorical_accuracy"] >= BOUND, window


def test_watch_waits_while_nothing_is_new_then_runs_once_for_the_new_span(spans):
  assert spans.watch_exit == 0, spans.watch_out
  assert "nothing new: latest span 2" in spans.watch_before_span_3
  assert spans.watch_before_span_3.count("nothing new") == 1  # one line per decision, not per poll
  assert "running" not in spans.watch_before_span_3
  lines = spans.watch_out.splitlines()
  assert any("span 3 is new" in line and line.endswith("running") for line in lines), lines
  assert any(re.search(r"run 1: (pushed|not pushed)", line) for line in lines), lines
  assert lines[-1].endswith("done: 1 run (--max-runs 1)"), lines
  runs = fixtures.run_cli(["runs", "--home", spans.home, "--json"])
  assert '"spans": [\n      3\n    ]' in runs.stdout, runs.stdout[:2000]


def test_watch_stops_cleanly_on_sigterm(tmp_path):
  out_path, empty = str(tmp_path / "watch.out"), tmp_path / "spans"
  empty.mkdir()  # nothing published yet: watch waits
  with open(out_path, "w") as out:
    watch = subprocess.Popen(fixtures.CLI + ["watch", "--examples-dir", str(empty), "--home",
                                             str(tmp_path / "home"), "--interval", "30"],
                             stdout=out, stderr=subprocess.STDOUT, cwd=fixtures.ROOT)
  try:
    _wait_for(out_path, "no span-<N>/ folders")
    watch.send_signal(signal.SIGTERM)
    assert watch.wait(timeout=20) == 0
  finally:
    if watch.poll() is None:
      watch.kill()
  with open(out_path) as f:
    text = f.read()
  assert text.splitlines()[-1].endswith(" stopped") and len(text.splitlines()) == 3, text


def test_watch_retries_when_another_run_holds_the_home(tmp_path):
  """The child run finds the home locked (exit 75, EXIT_HOME_BUSY): watch counts no run and
  tries again at its next poll instead of giving up on the span. (The span is small: the
  child never gets past the lock.)"""
  from runners import local  # pylint: disable=import-outside-toplevel
  fixtures.require(fixtures.mnist_available(), "real MNIST (../shared/data/mnist)")
  data = str(tmp_path / "spans")
  fixtures.publish_mnist_span(data, 1, train=(0, 500), evaluation=(500, 600))
  home = local.LocalHome(str(tmp_path / "home"))
  home.prepare()
  out_path = str(tmp_path / "watch.out")
  with local.home_lock(home), open(out_path, "w") as out:
    watch = subprocess.Popen(fixtures.CLI + ["watch", "--examples-dir", data, "--home",
                                             home.root, "--interval", "1", "--max-runs", "1"],
                             stdout=out, stderr=subprocess.STDOUT, cwd=fixtures.ROOT)
    try:
      _wait_for(out_path, "the home is busy with another run; will retry")
      watch.send_signal(signal.SIGTERM)
      assert watch.wait(timeout=60) == 0
    finally:
      if watch.poll() is None:
        watch.kill()
  with open(out_path) as f:
    text = f.read()
  assert "run 1:" not in text and text.splitlines()[-1].endswith(" stopped"), text


def test_an_empty_or_missing_split_in_the_latest_span_is_refused_before_anything_runs(spans, tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  os.symlink(os.path.join(spans.data, "span-1"), data / "span-1")
  for split in ("train", "eval"):
    os.makedirs(data / "span-2" / split)
    os.symlink(os.path.join(spans.data, "span-1", split, "data.tfrecord.gz"),
               data / "span-2" / split / "data.tfrecord.gz")
  home = str(tmp_path / "home")
  out = fixtures.run_cli(["run", "--examples-dir", str(data), "--home", home], timeout=120)
  assert out.returncode == 2 and out.stdout == ""
  assert out.stderr == f"mnist-tfx: error: {data}/span-2: no test/ directory (expected train/, eval/, test/)\n"
  os.makedirs(data / "span-2" / "test")
  out = fixtures.run_cli(["run", "--examples-dir", str(data), "--home", home], timeout=120)
  assert out.returncode == 2, out.stderr
  assert out.stderr == (f"mnist-tfx: error: {data}/span-2/test: no *.tfrecord or *.tfrecord.gz "
                        "files (empty split)\n")
  assert not os.path.exists(os.path.join(home, "serving"))  # nothing trained or pushed


@pytest.mark.parametrize("args, message", [
    (["--span-window", "0"], "--span-window 0: the window must be at least 1 span"),
    (["--span-window", "4"], "--span-window 4: {data} has only 3 spans (1, 2, 3)"),
    (["--span-window", "two"], "--span-window: invalid int value: 'two'"),
    (["--warm-start", "always"], "--warm-start: invalid choice: 'always'"),
])
def test_bad_span_and_warm_start_values_are_refused(spans, args, message):
  message = message.format(data=spans.data)
  out = fixtures.run_cli(["run", "--examples-dir", spans.data, "--home", spans.home, *args],
                         timeout=120)
  assert out.returncode == 2 and message in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr


def test_watch_refuses_bad_flags_at_once(tmp_path):
  out = fixtures.run_cli(["watch", "--home", str(tmp_path / "h")], timeout=60)
  assert out.returncode == 2 and "watch needs --examples-dir DIR" in out.stderr
  out = fixtures.run_cli(["watch", "--examples-dir", str(tmp_path), "--home", str(tmp_path / "h"),
                          "--max-runs", "0"], timeout=60)
  assert out.returncode == 2 and "--max-runs 0: must be at least 1" in out.stderr
