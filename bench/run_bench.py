"""`make bench`: the pipeline's speed against named baselines, measured side by side.

P1  end-to-end wall time of `mnist-tfx run --model mlp|cnn` (fresh home) against the
    official TFX MNIST example (bench/official_tfx_mnist.py) on the same 70,000 images.
P2  pipeline overhead: our cnn pipeline wall ÷ a bare Keras script training the same CNN
    with the same recipe from numpy arrays (bench/bare_keras.py).
P3  reruns of the mlp pipeline: right after the first run (the Evaluator re-runs once, now
    with a baseline), steady-state with nothing changed, and a trainer-only change.
P4  Trainer input pipeline examples/s ÷ in-memory baseline (bench/input_throughput.py).
Every figure is the median of --runs runs; per-component seconds and peak RSS are kept.
Writes bench/results/bench-<time>.json and prints a table.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

from pipelines import mnist_pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PY = sys.executable


def timed(cmd: List[str], log) -> Tuple[float, int, str, int]:
  """Runs cmd; returns (wall s, exit code, stdout, peak RSS MiB of it and its waited children)."""
  started = time.monotonic()
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
  out = proc.stdout.read()
  _, status, usage = os.wait4(proc.pid, 0)
  proc.returncode = os.waitstatus_to_exitcode(status)
  return time.monotonic() - started, proc.returncode, out, usage.ru_maxrss // 1024


def last_json(text: str) -> Dict[str, Any]:
  return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def ours(model: str, home: str, data_dir: str, log, *extra: str) -> Dict[str, Any]:
  summary_path = os.path.join(home, f"summary-{time.time_ns()}.json")
  wall, code, _, rss = timed([PY, "-m", "runners.cli", "run", "--pipeline", "mnist", "--model",
                              model, "--data-dir", data_dir, "--home", home,
                              "--summary-json", summary_path, *extra], log)
  with open(summary_path) as f:
    summary = json.load(f)
  return {"wall_s": round(wall, 2), "exit": code, "peak_rss_mib": rss,
          "accuracy": summary["metrics"].get("sparse_categorical_accuracy"),
          "blessed": summary["blessed"], "component_s": summary["component_seconds"],
          "cached": summary["cached_components"]}


def one_round(data_dir: str, work: str, converted: str, log, skip_official: bool) -> Dict[str, Any]:
  result: Dict[str, Any] = {}
  mlp_home = os.path.join(work, "mlp")
  result["mlp"] = ours("mlp", mlp_home, data_dir, log)
  result["mlp_rerun_after_first"] = ours("mlp", mlp_home, data_dir, log)
  result["mlp_rerun_cached"] = ours("mlp", mlp_home, data_dir, log)
  result["mlp_trainer_only_change"] = ours("mlp", mlp_home, data_dir, log, "--epochs", "9")
  wall, code, out, rss = timed([PY, "-m", "bench.input_throughput", "--pipeline-root",
                                os.path.join(mlp_home, "pipelines", "mnist_mlp")], log)
  result["p4"] = {**last_json(out), "wall_s": round(wall, 2)} if code == 0 else {"exit": code}
  result["cnn"] = ours("cnn", os.path.join(work, "cnn"), data_dir, log)
  wall, code, out, rss = timed([PY, "-m", "bench.bare_keras", "--model", "cnn", "--data-dir", data_dir], log)
  result["bare_cnn"] = {**last_json(out), "process_wall_s": round(wall, 2), "peak_rss_mib": rss}
  if not skip_official:
    wall, code, out, rss = timed([PY, "-m", "bench.official_tfx_mnist", "--data-dir", data_dir,
                                  "--work-dir", os.path.join(work, "official"),
                                  "--converted", converted], log)
    result["official"] = ({**last_json(out), "process_wall_s": round(wall, 2), "peak_rss_mib": rss}
                          if code == 0 else {"exit": code})
  return result


def median(rounds: List[Dict[str, Any]], *path: str):
  values = []
  for r in rounds:
    v = r
    for key in path:
      v = v.get(key) if isinstance(v, dict) else None
    if isinstance(v, (int, float)):
      values.append(v)
  return round(statistics.median(values), 4) if values else None


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--data-dir", default=mnist_pipeline.default_data_dir())
  parser.add_argument("--skip-official", action="store_true")
  args = parser.parse_args()
  if not args.data_dir:
    print("bench: needs MNIST IDX files (--data-dir or ../shared/data/mnist)", file=sys.stderr)
    return 2
  os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(ROOT, "bench", "results", f"bench-{stamp}.log")
  converted = tempfile.mkdtemp(prefix="official-data-")
  rounds = []
  with open(log_path, "w") as log:
    if not args.skip_official:
      subprocess.run([PY, "-c", "from bench.official_tfx_mnist "
                      f"import convert; convert({args.data_dir!r}, {converted!r})"],
                     cwd=ROOT, check=True, stdout=log, stderr=log)
    for i in range(args.runs):
      work = tempfile.mkdtemp(prefix=f"bench-{i}-")
      print(f"round {i + 1}/{args.runs} ...", flush=True)
      rounds.append(one_round(args.data_dir, work, converted, log, args.skip_official))
      shutil.rmtree(work, ignore_errors=True)
  shutil.rmtree(converted, ignore_errors=True)

  m = lambda *p: median(rounds, *p)  # noqa: E731
  official = m("official", "process_wall_s")
  rows = [
      ("P1 ours mlp, fresh (wall s)", m("mlp", "wall_s"), f"acc {m('mlp', 'accuracy')}"),
      ("P1 ours cnn, fresh (wall s)", m("cnn", "wall_s"), f"acc {m('cnn', 'accuracy')}"),
      ("P1 official TFX example (wall s)", official, f"acc {m('official', 'accuracy')}"),
  ]
  if official:
    rows += [("P1 mlp ÷ official (target ≤ 0.5)", round(m("mlp", "wall_s") / official, 3), ""),
             ("P1 cnn ÷ official (target ≤ 1.0)", round(m("cnn", "wall_s") / official, 3), "")]
  rows += [
      ("P2 bare Keras cnn (wall s)", m("bare_cnn", "process_wall_s"), f"acc {m('bare_cnn', 'accuracy')}"),
      ("P2 cnn pipeline ÷ bare (target ≤ 1.3)",
       round(m("cnn", "wall_s") / m("bare_cnn", "process_wall_s"), 3), ""),
      ("P3 rerun right after first (s)", m("mlp_rerun_after_first", "wall_s"), "Evaluator gains a baseline"),
      ("P3 cached rerun (s, target ≤ 15)", m("mlp_rerun_cached", "wall_s"), ""),
      ("P3 trainer-only change (s)", m("mlp_trainer_only_change", "wall_s"), "--epochs 9"),
      ("P4 input iterate ÷ memory (≥ 0.9)", m("p4", "iterate_ratio"), "cached epoch"),
      ("P4 first epoch ÷ memory", m("p4", "first_epoch_ratio"), "decode + transform, uncached"),
      ("P4 input fit ÷ memory (≥ 0.9)", m("p4", "fit_ratio"), "one fit epoch, mlp"),
      ("peak RSS ours cnn (MiB)", m("cnn", "peak_rss_mib"), ""),
      ("peak RSS official (MiB)", m("official", "peak_rss_mib"), ""),
  ]
  print(f"\nmedians of {args.runs} runs on {os.cpu_count()} cores")
  for name, value, note in rows:
    print(f"  {name:<40} {value!s:>10}  {note}")
  for model in ("mlp", "cnn"):
    components = sorted(rounds[0][model]["component_s"])
    print(f"  {model} per-component s: " + ", ".join(
        f"{c} {m(model, 'component_s', c)}" for c in components))
  out_path = os.path.join(ROOT, "bench", "results", f"bench-{stamp}.json")
  with open(out_path, "w") as f:
    json.dump({"runs": rounds, "table": rows}, f, indent=2)
  print(f"\nwrote {out_path} (log {log_path})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
