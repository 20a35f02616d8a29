"""bench/scale.py: the stage table, the target figures and the plot from run results, and
(slow) the real thing on two small sizes."""

import json
import os
import subprocess
import sys

import pytest

from bench import scale

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(n, wall, rss, beam="in_memory DirectRunner, no Beam flags (…)"):
  component_s = {"ImportSchemaGen": 0.1, "RegressionExampleGen": n / 200_000, "StatisticsGen": n / 50_000,
                 "ExampleGate": 0.1, "Transform": 0.3, "Trainer": 6.0, "Evaluator": 40.0}
  return {"n": n, "wall_s": wall, "exit": 0, "peak_rss_mib": rss, "pipeline_s": wall - 3,
          "beam_mode": beam, "component_s": component_s, "stage_s": scale.stage_seconds(component_s)}


def test_stages_are_found_by_their_component_ids():
  found = scale.stage_seconds({"RegressionExampleGen": 4.2, "StatisticsGen": 20.0, "Trainer": 7.0})
  assert found == {"ExampleGen": 4.2, "StatisticsGen": 20.0, "Transform": None, "Trainer": 7.0,
                   "Evaluator": None}


def test_examples_per_stage_follow_the_generators_splits():
  assert scale.examples_read(4_000_000) == {
      "ExampleGen": 4_000_000, "StatisticsGen": 4_000_000, "Evaluator": 100_000}


def test_target_figures_between_the_two_largest_sizes():
  rows = [scale.summarise(n, [_run(n, wall, rss)])
          for n, wall, rss in [(10_000, 30.0, 800), (1_000_000, 80.0, 1000), (4_000_000, 200.0, 1200)]]
  assert rows[2]["examples_per_s"]["StatisticsGen"] == 50_000
  figures = scale.ratios(rows)
  assert figures["from_n"] == 1_000_000 and figures["to_n"] == 4_000_000
  assert figures["cost_per_example_ratio"] == pytest.approx((200 / 4) / 80, abs=1e-3)
  assert figures["peak_rss_ratio"] == 1.2
  assert figures["marginal_examples_per_s"] == 25_000  # 3e6 / (200 - 80)
  assert scale.ratios(rows[:1]) == {}


def test_table_names_each_target_met_or_missed_and_the_plot_is_a_png(tmp_path, capsys):
  rows = [scale.summarise(n, [_run(n, wall, rss)])
          for n, wall, rss in [(1_000_000, 80.0, 1000), (4_000_000, 100.0, 1600)]]
  scale.print_table(rows, scale.ratios(rows))
  out = capsys.readouterr().out
  assert "4,000,000" in out and "in_memory" in out
  assert "cost per example" in out and "met" in out  # 0.3125 ≤ 1.2
  assert "MISSED" in out  # RSS 1.6 > 1.5
  path = tmp_path / "scale.png"
  scale.plot(rows, str(path))
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failed_run_is_left_out_of_the_medians_and_a_gated_one_counts():
  failed = {"n": 1000, "wall_s": 5.0, "exit": 1, "peak_rss_mib": 500}
  gated = {**_run(1000, 40.0, 700), "exit": 3}  # not blessed: every data stage still ran
  row = scale.summarise(1000, [failed, _run(1000, 30.0, 700), gated])
  assert row["ok_runs"] == 2 and row["wall_s"] == 35.0


@pytest.mark.slow
@pytest.mark.e2e
def test_bench_scale_runs_the_pipeline_at_two_sizes_and_writes_json_and_plot(tmp_path):
  proc = subprocess.run(
      [sys.executable, "-m", "bench.scale", "--sizes", "1000,3000", "--train-steps", "200",
       "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert "marginal examples/s, 1,000 → 3,000" in proc.stdout
  [result] = [f for f in os.listdir(tmp_path) if f.endswith(".json")]
  with open(tmp_path / result) as f:
    data = json.load(f)
  assert [r["n"] for r in data["rows"]] == [1000, 3000]
  for row in data["rows"]:
    assert row["beam_mode"].startswith("in_memory")  # small: no Beam flags
    assert all(row["stage_s"][s] is not None for s in scale.STAGES)
  assert (tmp_path / "scale.png").stat().st_size > 10_000
