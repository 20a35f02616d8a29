"""The run summary read back from a real ML Metadata store after two small runs."""

import os

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipelines import metadata, run_summary
from tests import fixtures

pytestmark = [pytest.mark.e2e]
NODES = {"RegressionExampleGen", "StatisticsGen", "ImportSchemaGen", "ServedBaseline", "ExampleGate",
         "Transform", "Trainer", "Evaluator", "InfraValidator", "Pusher"}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
  home = str(tmp_path_factory.mktemp("summary") / "home")
  args = ["--pipeline", "regression", "--examples", "300", "--epochs", "10"]
  _, first = fixtures.run_pipeline(home, args)
  _, second = fixtures.run_pipeline(home, args)
  return home, first, second


def test_summary_of_the_latest_run_matches_what_the_cli_reported(two_runs):
  home, _, second = two_runs
  config = metadata.connection_config(os.path.join(home, "metadata.db"), read_only=True)
  summary = run_summary.latest_run(config, "regression_linear")
  assert summary.run_id == second["run_id"]
  assert summary.pushed_path == second["pushed_path"] and os.path.isdir(summary.pushed_path)
  assert summary.blessed is True and summary.infra_blessed is True and summary.anomalies == []
  assert summary.metrics["example_count"] == 30  # the test split of 300
  assert summary.metrics == pytest.approx(second["metrics"])
  assert set(summary.component_seconds) == NODES
  # The first run pushed a model, so the baseline changed: ServedBaseline and the gate (drift
  # against the served data) rerun. The regression Evaluator compares with no baseline, so
  # it and the Pusher stay cached.
  assert set(summary.cached_components) == NODES - {"ServedBaseline", "ExampleGate"}


def test_component_seconds_are_the_mlmd_execution_times(two_runs):
  home, first, _ = two_runs
  store = metadata_store.MetadataStore(
      metadata.connection_config(os.path.join(home, "metadata.db"), read_only=True))
  run = store.get_context_by_type_and_name("pipeline_run", first["run_id"])
  trainer = [e for e in store.get_executions_by_context(run.id)
             if e.type.endswith("Trainer")]
  assert len(trainer) == 1 and trainer[0].last_known_state == metadata_store_pb2.Execution.COMPLETE
  measured = (trainer[0].last_update_time_since_epoch - trainer[0].create_time_since_epoch) / 1000
  assert first["component_seconds"]["Trainer"] == pytest.approx(measured, abs=0.01)
  assert first["cached_components"] == []
  assert 0.5 < first["component_seconds"]["Trainer"] < first["total_seconds"]


def test_unknown_pipeline_is_an_error(two_runs):
  home = two_runs[0]
  config = metadata.connection_config(os.path.join(home, "metadata.db"), read_only=True)
  with pytest.raises(ValueError, match="no run of pipeline 'mnist_cnn' recorded"):
    run_summary.latest_run(config, "mnist_cnn")
