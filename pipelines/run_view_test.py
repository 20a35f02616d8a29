"""The run view read back from a real ML Metadata store after two small runs, and its projections.

Two regression runs on one home: the first pushes a model, the second sees it served.
The summary the CLI printed for each run, `runs`, and the report are all read from the
one view (pipelines/run_view.py), each run found by its own id.
"""

import os
import re

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipelines import metadata, registry, report, run_summary, run_view
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
  config = metadata.connection_config(os.path.join(home, "metadata.db"), read_only=True)
  return home, config, first, second


def test_each_runs_summary_is_found_by_its_own_id_not_as_the_newest_run(two_runs):
  """The runner reads back the run it started: the first run's summary is still the first's
  although a newer run of the same pipeline is in the store (as another machine's run can be
  with a shared --metadata mysql://...)."""
  _, config, first, second = two_runs
  for cli_summary in (first, second):
    summary = run_summary.of_run(config, cli_summary["run_id"])
    assert summary.run_id == cli_summary["run_id"]
    assert summary.pushed_path == cli_summary["pushed_path"] and os.path.isdir(summary.pushed_path)
    assert summary.metrics == pytest.approx(cli_summary["metrics"])
    assert summary.component_seconds == pytest.approx(cli_summary["component_seconds"])
    assert summary.blessed is True and summary.infra_blessed is True and summary.anomalies == []
  first_summary = run_summary.of_run(config, first["run_id"])
  assert first_summary.cached_components == [] and first_summary.metrics["example_count"] == 30
  # The first run pushed a model, so the baseline changed: ServedBaseline and the gate (drift
  # against the served data) rerun. The regression Evaluator compares with no baseline, so
  # it and the Pusher stay cached.
  second_summary = run_summary.of_run(config, second["run_id"])
  assert set(second_summary.cached_components) == NODES - {"ServedBaseline", "ExampleGate"}
  assert set(second_summary.component_seconds) == NODES


def test_component_seconds_are_the_mlmd_execution_times(two_runs):
  _, config, first, _ = two_runs
  store = metadata_store.MetadataStore(config)
  run = store.get_context_by_type_and_name("pipeline_run", first["run_id"])
  trainer = [e for e in store.get_executions_by_context(run.id) if e.type.endswith("Trainer")]
  assert len(trainer) == 1 and trainer[0].last_known_state == metadata_store_pb2.Execution.COMPLETE
  measured = (trainer[0].last_update_time_since_epoch - trainer[0].create_time_since_epoch) / 1000
  assert first["component_seconds"]["Trainer"] == pytest.approx(measured, abs=0.01)
  assert 0.5 < first["component_seconds"]["Trainer"] < first["total_seconds"]


def test_runs_newest_first_with_what_each_run_saw_served(two_runs):
  _, config, first, second = two_runs
  view = run_view.MetadataView(config)
  newer, older = view.runs()
  assert (newer.run_id, older.run_id) == (second["run_id"], first["run_id"])
  assert view.latest().run_id == second["run_id"]
  assert older.served_version is None  # nothing was served before the first run
  assert newer.served_version == os.path.basename(first["pushed_path"])
  # The regression Evaluator has value thresholds only: it never compares with the served model.
  assert not newer.compared_with_served and not older.compared_with_served
  for run in (newer, older):
    assert run.status == "pushed" and run.pipeline == "regression_linear"
    assert run.record()["pushed_version"] == os.path.basename(run.pushed_path)
  assert view.runs("mnist_cnn") == []


def test_an_unknown_run_is_one_line(two_runs):
  _, config, _, _ = two_runs
  with pytest.raises(run_view.RunNotFound, match="run 2001-01-01T00:00:00: no such run"):
    run_view.MetadataView(config).run("2001-01-01T00:00:00")


def test_the_view_and_the_summary_load_neither_tensorflow_nor_tfma(two_runs):
  _, config, first, _ = two_runs
  code = ("import sys; from pipelines import metadata, run_summary; "
          f"s = run_summary.of_run(metadata.connection_config({config.sqlite.filename_uri!r}, "
          f"read_only=True), {first['run_id']!r}); "
          "print('HEAVY', [m for m in ('tensorflow', 'tensorflow_model_analysis', 'tfx.dsl', "
          "'tfx.components') if m in sys.modules], s.blessed)")
  proc = fixtures.run_python(code)
  assert proc.returncode == 0, proc.stderr
  assert "HEAVY [] True" in proc.stdout


def test_regression_report_says_what_was_served_and_draws_the_summarys_line(two_runs, tmp_path):
  """Before, the regression report always said "no served model yet" (it looked for *_diff
  metrics, which a pipeline with value thresholds only never has)."""
  _, config, first, second = two_runs
  page = report.render(report.find_run(config, second["run_id"]), registry.get("regression"))
  version = os.path.basename(first["pushed_path"])
  assert f"version {version} was served; this pipeline&#x27;s gate does not compare with it" in page
  w, b = second["details"]["w"], second["details"]["b"]
  assert f"learned w = {w:.6f}, b = {b:.6f}" in page  # the summary's figures, not recomputed
  alts = re.findall(r'<img alt="([^"]+)"', page)
  assert alts and all(alt != "plot" for alt in alts)
  assert any(alt.startswith(f"the fitted line y = {w:.4f}x") for alt in alts)
  assert page.count("<figcaption>") == len(alts)
