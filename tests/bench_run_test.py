"""bench/run_bench.py keeps its rounds when a run fails: recorded as failed, out of the medians.

The failure is real: `mnist-tfx run` on a data directory without the IDX files exits 2 in
under a second, so a whole bench of such runs takes seconds, with no pipeline.
"""

import io
import json
import os
import signal
import subprocess
import sys

from bench import run_bench
from tests import fixtures


def _bench(tmp_path, *args):
  data = tmp_path / "no-mnist"
  data.mkdir(exist_ok=True)
  results = tmp_path / "results"
  command = [sys.executable, "-m", "bench.run_bench", "--skip-official", "--only", "mlp,cnn",
             "--data-dir", str(data), "--results-dir", str(results), *args]
  return command, results


def _env(tmp_path):
  """The bench's temporary work dirs under tmp_path: a killed bench leaves them there."""
  return {**os.environ, "TMPDIR": str(tmp_path)}


def _results(results):
  (path,) = [p for p in results.iterdir() if p.suffix == ".json"]
  return json.loads(path.read_text())


def test_failed_runs_are_recorded_and_the_table_says_missing(tmp_path):
  command, results = _bench(tmp_path, "--runs", "2")
  proc = subprocess.run(command, capture_output=True, text=True, cwd=fixtures.ROOT, timeout=300,
                        env=_env(tmp_path))
  assert proc.returncode == 1, proc.stdout + proc.stderr  # every round ran; some run failed
  data = _results(results)
  assert data["rounds_done"] == 2 and len(data["runs"]) == 2
  for one in data["runs"]:
    assert set(one) == {"mlp", "cnn"}
    assert all(r["failed"] and r["exit"] == 2 and r["why"] == "exit code" for r in one.values())
  assert [(f["round"], f["run"], f["exit"]) for f in data["failures"]] == [
      (1, "mlp", 2), (1, "cnn", 2), (2, "mlp", 2), (2, "cnn", 2)]
  rows = {name: value for name, value, _ in data["table"]}
  assert rows["P1 ours mlp, fresh (wall s)"] is None  # the failed runs' wall times are no figure
  assert rows["P2 cnn pipeline ÷ bare (target ≤ 1.15)"] is None
  lines = proc.stdout.splitlines()
  assert any(line.split() == ["P1", "ours", "mlp,", "fresh", "(wall", "s)", "missing", "acc", "None"]
             for line in lines), proc.stdout
  assert "  FAILED round 2 cnn: exit 2 (exit code)" in lines
  assert "  mlp failed: exit 2 (exit code)" in lines  # said as it happened, too
  # The log holds the CLI's own error for each.
  (log,) = [p for p in results.iterdir() if p.suffix == ".log"]
  assert log.read_text().count("train-images-idx3-ubyte.gz: file not found") == 4


def test_the_json_is_written_after_every_round(tmp_path):
  """Killed as round 2 starts, the bench has already written round 1."""
  command, results = _bench(tmp_path, "--runs", "3")
  proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          cwd=fixtures.ROOT, env=_env(tmp_path))
  try:
    for line in proc.stdout:
      if line.startswith("round 2/3"):
        proc.send_signal(signal.SIGKILL)
        break
  finally:
    proc.kill()
    proc.wait(timeout=60)
  assert proc.returncode == -signal.SIGKILL
  data = _results(results)
  assert data["rounds_planned"] == 3 and data["rounds_done"] in (1, 2), data
  assert data["runs"][0]["mlp"]["failed"] and data["table"] is None
  assert not [p for p in results.iterdir() if p.name.endswith(".tmp")]


def _ours(wall):
  return {"wall_s": wall, "exit": 0, "peak_rss_mib": 900, "accuracy": 0.98, "blessed": True,
          "component_s": {"Trainer": wall / 2}, "trainer_examples_per_s": 5000.0}


def test_medians_leave_failed_runs_out_and_a_ratio_with_a_missing_side_is_missing():
  crashed = run_bench.failed(1, 4.0, 300, "exit code")
  rounds = [{"mlp": _ours(100.0), "cnn": _ours(200.0), "bare_cnn": crashed},
            {"mlp": crashed, "cnn": _ours(220.0), "bare_cnn": crashed,
             "official_beam_flags": {"process_wall_s": 400.0, "peak_rss_mib": 2000}}]
  assert run_bench.median(rounds, "mlp", "wall_s") == 100.0  # not (100 + 4) / 2
  assert run_bench.median(rounds, "mlp", "peak_rss_mib") == 900
  assert run_bench.median(rounds, "bare_cnn", "wall_s") is None
  rows = {name: value for name, value, _ in run_bench.table(rounds)}
  assert rows["P1 mlp ÷ official (target ≤ 0.25)"] == 0.25
  assert rows["P1 cnn ÷ official (target ≤ 0.5)"] == 0.525
  assert rows["P2 cnn pipeline ÷ bare (target ≤ 1.15)"] is None
  assert rows["T  Trainer ÷ float32 (target ≥ 2.5)"] is None
  out = io.StringIO()
  run_bench.print_table(rounds, run_bench.table(rounds), out)
  text = out.getvalue()
  assert "medians of 2 rounds (0 without a failed run)" in text
  assert any(line.split()[-4:] == ["missing", "same", "recipe,", "precision"]
             for line in text.splitlines()), text
  assert "mlp per-component s: Trainer 50.0" in text
  assert "FAILED round 2 mlp: exit 1 (exit code)" in text
