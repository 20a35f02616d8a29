"""`mnist-tfx runs` and `mnist-tfx lineage` against the real metadata store of the MNIST scenario.

The session's MNIST scenario (tests/conftest.py) leaves five runs in one home: pushed,
pushed again (same version), a weak model not blessed, drifted data stopped by the gate,
broken records stopped by the gate. Both commands read ML Metadata alone, without
TensorFlow; they only read, so sharing the scenario's home is safe.
"""

import json
import os

import pytest

from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def scenario(mnist_scenario):
  """(home, first run summary, weak run summary)."""
  return mnist_scenario.home, mnist_scenario.first.summary, mnist_scenario.worse.summary


def test_runs_lists_every_run_newest_first_with_accuracy_blessing_and_version(mnist_scenario):
  s = mnist_scenario
  proc = fixtures.run_cli(["runs", "--home", s.home, "--json"], timeout=60)
  assert proc.returncode == 0 and proc.stderr == "", proc.stderr
  records = json.loads(proc.stdout)
  steps = [s.broken, s.drifted, s.worse, s.again, s.first]
  assert [r["run_id"] for r in records] == [step.summary["run_id"] for step in steps]
  broken, drifted, worse, again, first = records
  version = os.path.basename(s.first.summary["pushed_path"])
  assert first["status"] == "pushed" and first["blessed"] is True
  assert first["pushed_version"] == version and again["pushed_version"] == version
  assert first["metrics"]["sparse_categorical_accuracy"] == pytest.approx(
      s.first.summary["metrics"]["sparse_categorical_accuracy"])
  assert worse["blessed"] is False and worse["pushed_version"] is None
  assert worse["status"] == "not pushed" and worse["metrics"]["sparse_categorical_accuracy"] < 0.92
  for stopped in (drifted, broken):
    assert stopped["status"] == "stopped by ExampleGate" and stopped["blessed"] is None
  assert all(r["pipeline"] == "mnist_softmax" and r["seconds"] > 0 for r in records)
  table = fixtures.run_cli(["runs", "--home", s.home], timeout=60).stdout.splitlines()
  assert table[0].split()[:3] == ["run", "started", "(UTC)"] and len(table) == 6
  assert table[0].split()[-2:] == ["status", "spans"]
  # The first run pushed; it read the IDX files, not span-<N>/ folders.
  assert table[1].startswith(s.broken.summary["run_id"]) and table[5].split()[-2:] == ["pushed", "-"]
  assert all(r["spans"] == [] and r["warm_start_from"] is None for r in records)


def test_runs_does_not_load_tensorflow(scenario):
  home = scenario[0]
  code = ("import sys; from runners import cli; rc = cli.main(['runs', '--home', %r]); "
          "heavy = [m for m in ('tensorflow', 'tensorflow_model_analysis', 'tfx.dsl', 'tfx.components', "
          "'tfx.types') if m in sys.modules]; print('HEAVY', heavy); sys.exit(rc)" % home)
  proc = fixtures.run_python(code, timeout=60)
  assert proc.returncode == 0, proc.stderr
  assert "HEAVY []" in proc.stdout


def test_runs_pipeline_takes_runs_pipeline_names_and_the_tables(mnist_scenario):
  """`run --pipeline mnist` and the table's `mnist_softmax` name the same runs; before, only the
  latter worked for `runs --pipeline`."""
  home = mnist_scenario.home
  listed = []
  for args in (["--pipeline", "mnist"], ["--pipeline", "mnist", "--model", "softmax"],
               ["--pipeline", "mnist_softmax"]):
    proc = fixtures.run_cli(["runs", "--home", home, "--json", *args], timeout=60)
    assert proc.returncode == 0, proc.stderr
    listed.append([r["run_id"] for r in json.loads(proc.stdout)])
  assert listed[0] == listed[1] == listed[2] and len(listed[0]) == 5
  proc = fixtures.run_cli(["runs", "--home", home, "--json", "--pipeline", "regression"], timeout=60)
  assert proc.returncode == 0 and json.loads(proc.stdout) == []
  proc = fixtures.run_cli(["runs", "--home", home, "--pipeline", "mnist", "--model", "linear"],
                          timeout=60)
  assert proc.returncode == 2 and proc.stderr == (
      "mnist-tfx: error: --model linear: unknown mnist model, expected one of softmax, mlp, cnn\n")


def test_lineage_walks_from_the_pushed_version_back_to_the_input_files(scenario):
  home, blessed, _ = scenario
  version = os.path.basename(blessed["pushed_path"])
  for query in (version, blessed["pushed_path"]):
    proc = fixtures.run_cli(["lineage", query, "--home", home], timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("PushedModel #") and f"version {version}" in lines[0]
    text = proc.stdout
    for node in ("Pusher", "Trainer", "Transform", "Evaluator", "InfraValidator",
                 "StatisticsGen", "ImportSchemaGen", "MnistIdxExampleGen", "ServedBaseline"):
      assert f"<- {node} (execution #" in text, (node, text)
    for kind in ("Model #", "ModelBlessing #", "InfraBlessing #", "TransformGraph #", "Schema #",
                 "ExampleStatistics #", "Examples #"):
      assert kind in text, (kind, text)
    assert "blessed=True" in text and f"input_base={fixtures.MNIST_DIR}" in text
    assert "also wrote ModelEvaluation #" in text and "sparse_categorical_accuracy=0.92" in text


def test_history_errors_are_one_line(scenario, tmp_path):
  home = scenario[0]
  proc = fixtures.run_cli(["lineage", "123", "--home", home], timeout=60)
  assert proc.returncode == 2
  assert proc.stderr == "mnist-tfx: error: 123: no pushed model with this path or version is recorded\n"
  empty = tmp_path / "empty"
  proc = fixtures.run_cli(["runs", "--home", str(empty)], timeout=60)
  assert proc.returncode == 2 and "no metadata store here" in proc.stderr
  assert not empty.exists()  # reading history creates nothing


