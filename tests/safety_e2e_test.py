"""Faults and what the pipeline does about them: bad data, crashes, concurrent runs, full disks.

Each test is a row of docs/safety.md's "fault → behaviour" table. They use the regression
pipeline (a full run takes ~20 s) unless the fault is about MNIST data; the MNIST gates
(drift, broken records, weak model) run in tests/mnist_pipeline_e2e_test.py's scenario.
No fault may leave a new or partial version in serving/.
"""

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipelines import metadata
from runners import errors
from tests import fixtures

pytestmark = [pytest.mark.e2e]
REGRESSION = ["--pipeline", "regression", "--examples", "2000", "--epochs", "10"]


def _example(x, y):
  return tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y]))})).SerializeToString()


def _integrity_ok(home: str) -> bool:
  with sqlite3.connect(os.path.join(home, "metadata.db")) as db:
    return db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_data_gate_regression_x_out_of_range_nan_and_inf(tmp_path):
  clean = [_example(i / 300, 2 * i / 300 + 1) for i in range(300)]
  bad = [_example(1.5, 4.0), _example(math.nan, 2.0), _example(math.inf, 2.0)]
  data = fixtures.write_examples_dir(str(tmp_path / "data"), {
      "train": clean + bad, "eval": clean[:50], "test": clean[:50]})
  home = str(tmp_path / "home")
  proc, summary = fixtures.run_pipeline(home, ["--pipeline", "regression", "--examples-dir", data],
                                        expect_exit=3)
  assert summary["stopped_by"] == "ExampleGate"
  (x_line,) = [l for l in summary["anomalies"] if l.startswith("split train, feature x: ")]
  for words in ("Unexpectedly high value", "NaN", "Inf"):
    assert words.lower() in x_line.lower(), x_line
  assert not any(l.startswith(("split eval", "split test")) for l in summary["anomalies"])
  assert "Trainer" not in summary["component_seconds"] and "Transform" not in summary["component_seconds"]
  assert fixtures.served_versions(home, "regression") == []
  assert f"ANOMALY {x_line}" in proc.stdout


def _start(home, *extra):
  return subprocess.Popen(fixtures.CLI + ["run", *REGRESSION, "--home", home, *extra],
                          cwd=fixtures.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when_running(proc, home: str, component: str, timeout: float = 300) -> None:
  """SIGKILL `proc` as soon as its log says `component` is running."""
  deadline = time.monotonic() + timeout
  needle = f"Component {component} is running."
  while time.monotonic() < deadline:
    logs = os.path.join(home, "logs")
    for name in os.listdir(logs) if os.path.isdir(logs) else []:
      with open(os.path.join(logs, name), errors="replace") as f:
        if needle in f.read():
          time.sleep(0.05)  # inside the component: ExampleGen of 2,000 examples takes < 0.5 s
          proc.send_signal(signal.SIGKILL)
          proc.wait()
          return
    if proc.poll() is not None:
      pytest.fail(f"run ended before {component} started: {proc.stdout.read()}")
    time.sleep(0.05)
  pytest.fail(f"{component} never started")


@pytest.mark.slow
@pytest.mark.parametrize("component, cached_after", [
    ("RegressionExampleGen", {"ImportSchemaGen"}),
    ("Trainer", {"ImportSchemaGen", "ServedBaseline", "RegressionExampleGen", "StatisticsGen",
                 "ExampleGate", "Transform"}),
])
def test_sigkill_then_the_same_command_completes_from_the_cache(tmp_path, component, cached_after):
  home = str(tmp_path / "home")
  _kill_when_running(_start(home), home, component)
  assert _integrity_ok(home)
  assert fixtures.served_versions(home, "regression") == []
  _, summary = fixtures.run_pipeline(home, REGRESSION)
  assert summary["pushed_path"] and summary["blessed"]
  assert cached_after <= set(summary["cached_components"]), summary["cached_components"]
  assert component not in summary["cached_components"]
  assert _integrity_ok(home)
  # No half-written artefact is consumed: every input of the resumed run was published by
  # an execution that completed.
  store = metadata_store.MetadataStore(metadata.connection_config(os.path.join(home, "metadata.db")))
  run = store.get_context_by_type_and_name("pipeline_run", summary["run_id"])
  executions = store.get_executions_by_context(run.id)
  inputs = [e.artifact_id for e in store.get_events_by_execution_ids([x.id for x in executions])
            if e.type == metadata_store_pb2.Event.INPUT]
  producers = [e.execution_id for e in store.get_events_by_artifact_ids(inputs)
               if e.type == metadata_store_pb2.Event.OUTPUT]
  states = {x.last_known_state for x in store.get_executions_by_id(producers)}
  assert states <= {metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED}, states
  assert len(fixtures.served_versions(home, "regression")) == 1


def test_two_runs_on_one_home_the_second_fails_at_once(tmp_path):
  home = str(tmp_path / "home")
  first, second = _start(home), _start(home)
  outputs = [p.communicate(timeout=600) for p in (first, second)]
  codes = sorted(p.returncode for p in (first, second))
  assert codes == [0, errors.EXIT_HOME_BUSY], outputs  # 75: busy, try again (sysexits EX_TEMPFAIL)
  loser = outputs[[first.returncode, second.returncode].index(errors.EXIT_HOME_BUSY)]
  assert loser[1].strip().startswith(f"mnist-tfx: error: --home {home}: another mnist-tfx run (pid ")
  assert len(loser[1].strip().splitlines()) == 1
  assert _integrity_ok(home)
  assert len(fixtures.served_versions(home, "regression")) == 1


def _mount_tmpfs(path: str, size: str) -> str:
  """Mounts a tmpfs of `size` at path; '' or why it could not."""
  os.makedirs(path)
  proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                        capture_output=True, text=True)
  return "" if proc.returncode == 0 else proc.stderr.strip() or f"mount exited {proc.returncode}"


@pytest.mark.needs_mnist
def test_a_full_disk_fails_naming_the_component_and_pushes_nothing(tmp_path):
  home = str(tmp_path / "small")
  why = _mount_tmpfs(home, "6m")
  fixtures.require(not why, f"mounting a tmpfs is not permitted here: {why}")
  try:
    proc = fixtures.run_cli(["run", "--pipeline", "mnist", "--data-dir", fixtures.MNIST_DIR,
                             "--home", home], timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("mnist-tfx: error: pipeline failed in MnistIdxExampleGen: ")
    assert "No space left on device under " in lines[0], lines[0]
    assert fixtures.served_versions(home, "mnist") == []
  finally:
    subprocess.run(["umount", home], check=False)


@pytest.mark.needs_mnist
def test_unreadable_data_files_are_one_line(tmp_path):
  """The IDX file is mode 000. Root reads it anyway, so the CLI runs without the capabilities
  that let root bypass file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)."""
  drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
          "--bounding-set=-dac_override,-dac_read_search"]
  if os.geteuid() == 0:
    fixtures.require(subprocess.run(drop + ["true"], capture_output=True).returncode == 0,
                     "setpriv cannot drop capabilities here")
  data = tmp_path / "data"
  data.mkdir()
  for name in os.listdir(fixtures.MNIST_DIR):
    if "ubyte" in name:
      (data / name).write_bytes(open(os.path.join(fixtures.MNIST_DIR, name), "rb").read())
  (data / "t10k-labels-idx1-ubyte.gz").chmod(0)
  home = tmp_path / "home"
  prefix = drop if os.geteuid() == 0 else []
  proc = subprocess.run(prefix + [sys.executable, "-m", "runners.cli", "run", "--pipeline", "mnist",
                                  "--data-dir", str(data), "--home", str(home)],
                        cwd=fixtures.ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2, proc.stdout + proc.stderr
  assert proc.stderr.strip() == (f"mnist-tfx: error: {data / 't10k-labels-idx1-ubyte.gz'}: "
                                 "cannot be read (Permission denied)")
  assert not os.path.exists(home / "serving")
