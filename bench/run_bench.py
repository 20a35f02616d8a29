"""`make bench`: the pipeline's speed against named baselines, measured side by side.

P1  end-to-end wall time of `mnist-tfx run --model mlp|cnn` (fresh home) against the
    official TFX MNIST example (bench/official_tfx_mnist.py) on the same 70,000 images,
    timed both with its shipped Beam flags and with none; the faster median is the baseline.
P2  pipeline overhead: our cnn pipeline wall ÷ a bare Keras script training the same CNN
    with the same recipe and precision from numpy arrays (bench/bare_keras.py).
T   CNN training throughput: the Trainer's examples/s in our cnn run (epochs after the
    first, whose input is still decoded and cached) ÷ float32 Keras `fit` of the same model
    on in-memory tensors, next to the CPU's arithmetic limit (bench/cnn_throughput.py).
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
import re
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
  summary_path = os.path.join(os.path.dirname(home), f"summary-{time.time_ns()}.json")  # home: not yet made
  wall, code, out, rss = timed([PY, "-m", "runners.cli", "run", "--pipeline", "mnist", "--model",
                              model, "--data-dir", data_dir, "--home", home,
                              "--summary-json", summary_path, *extra], log)
  with open(summary_path) as f:
    summary = json.load(f)
  epochs = [float(rate.replace(",", "")) for rate in EPOCH_RATE.findall(out)]
  return {"wall_s": round(wall, 2), "exit": code, "peak_rss_mib": rss,
          "accuracy": summary["metrics"].get("sparse_categorical_accuracy"),
          "blessed": summary["blessed"], "component_s": summary["component_seconds"],
          "cached": summary["cached_components"], "epoch_examples_per_s": epochs,
          # epoch 1 also decodes, transforms and caches its input: steady state is the rest
          "trainer_examples_per_s": statistics.median(epochs[1:]) if len(epochs) > 1 else None}


# The runner's plain (non-TTY) epoch line: "      epoch 2/3  loss …  2,345 examples/s"
EPOCH_RATE = re.compile(r"^\s+epoch \d+/\d+ .* ([\d,]+) examples/s$", re.MULTILINE)


def json_of(cmd: List[str], log) -> Dict[str, Any]:
  """Runs a bench script printing one JSON line; its figures + process wall and peak RSS."""
  wall, code, out, rss = timed(cmd, log)
  if code != 0:
    return {"exit": code}
  return {**last_json(out), "process_wall_s": round(wall, 2), "peak_rss_mib": rss}


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
  result["bare_cnn"] = json_of([PY, "-m", "bench.bare_keras", "--model", "cnn",
                                "--data-dir", data_dir], log)
  result["cnn_throughput"] = json_of([PY, "-m", "bench.cnn_throughput"], log)
  if not skip_official:
    for key, flags in (("official_beam_flags", []), ("official_no_beam_flags", ["--no-beam-flags"])):
      result[key] = json_of([PY, "-m", "bench.official_tfx_mnist", "--data-dir", data_dir,
                             "--work-dir", os.path.join(work, key), "--converted", converted,
                             *flags], log)
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
  configurations = {key: m(key, "process_wall_s")
                    for key in ("official_beam_flags", "official_no_beam_flags")}
  timed_configurations = {k: v for k, v in configurations.items() if v}
  faster = min(timed_configurations, key=timed_configurations.get) if timed_configurations else None
  official = configurations.get(faster)
  rows = [
      ("P1 ours mlp, fresh (wall s)", m("mlp", "wall_s"), f"acc {m('mlp', 'accuracy')}"),
      ("P1 ours cnn, fresh (wall s)", m("cnn", "wall_s"),
       f"acc {m('cnn', 'accuracy')}"),
      ("P1 official, shipped Beam flags (s)", configurations["official_beam_flags"],
       f"acc {m('official_beam_flags', 'accuracy')}"),
      ("P1 official, no Beam flags (s)", configurations["official_no_beam_flags"],
       f"acc {m('official_no_beam_flags', 'accuracy')}"),
  ]
  if official:
    rows += [("P1 mlp ÷ official (target ≤ 0.25)", round(m("mlp", "wall_s") / official, 3),
              f"vs {faster}"),
             ("P1 cnn ÷ official (target ≤ 0.5)", round(m("cnn", "wall_s") / official, 3),
              f"vs {faster}")]
  float32_rate = m("cnn_throughput", "keras_examples_per_s", "float32")
  trainer_rate = m("cnn", "trainer_examples_per_s")
  rows += [
      ("P2 bare Keras cnn (wall s)", m("bare_cnn", "process_wall_s"),
       f"acc {m('bare_cnn', 'accuracy')}, {rounds[0]['bare_cnn'].get('precision')}"),
      ("P2 cnn pipeline ÷ bare (target ≤ 1.15)",
       round(m("cnn", "wall_s") / m("bare_cnn", "process_wall_s"), 3), "same recipe, precision"),
      ("T  CNN Trainer examples/s", trainer_rate, "our cnn run, epochs 2+"),
      ("T  CNN Keras float32 examples/s", float32_rate, "in-memory fit, same model and batch"),
      ("T  Trainer ÷ float32 (target ≥ 2.5)",
       round(trainer_rate / float32_rate, 3) if trainer_rate and float32_rate else None, ""),
      ("T  CNN Keras bf16 examples/s", m("cnn_throughput", "keras_examples_per_s", "mixed_bfloat16"),
       "in-memory fit"),
      ("T  arithmetic limit bf16 examples/s",
       m("cnn_throughput", "limit_examples_per_s", "mixed_bfloat16"),
       f"peak matmul {m('cnn_throughput', 'peak_gflops', 'mixed_bfloat16')} GFLOP/s ÷ "
       f"{m('cnn_throughput', 'flops_per_example')} FLOP/example"),
      ("T  arithmetic limit float32 examples/s",
       m("cnn_throughput", "limit_examples_per_s", "float32"),
       f"peak matmul {m('cnn_throughput', 'peak_gflops', 'float32')} GFLOP/s"),
      ("P3 rerun right after first (s)", m("mlp_rerun_after_first", "wall_s"), "Evaluator gains a baseline"),
      ("P3 cached rerun (s, target ≤ 15)", m("mlp_rerun_cached", "wall_s"), ""),
      ("P3 trainer-only change (s)", m("mlp_trainer_only_change", "wall_s"), "--epochs 9"),
      ("P4 input iterate ÷ memory (≥ 0.9)", m("p4", "iterate_ratio"), "cached epoch"),
      ("P4 first epoch ÷ memory", m("p4", "first_epoch_ratio"), "decode + transform, uncached"),
      ("P4 input fit ÷ memory (≥ 0.9)", m("p4", "fit_ratio"), "one fit epoch, mlp"),
      ("peak RSS ours cnn (MiB)", m("cnn", "peak_rss_mib"), ""),
      ("peak RSS official (MiB)", m(faster, "peak_rss_mib") if faster else None, ""),
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
