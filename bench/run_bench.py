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
Writes bench/results/bench-<time>.json after every round and prints a table. A run that
fails is kept in the JSON as failed (which round, which run, its exit code) and counts in
no median; a ratio with a side no run measured prints as missing. Exit 1 if any run failed.
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
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench import cpu
from pipelines import mnist_pipeline
from runners import errors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PY = sys.executable
# A run that went to its end: exit 3 is a gate saying no, after every stage before the Pusher ran.
COMPLETED = (errors.EXIT_OK, errors.EXIT_NOT_PUSHED)


def timed(cmd: List[str], log) -> Tuple[float, int, str, int]:
  """Runs cmd; returns (wall s, exit code, stdout, peak RSS MiB of it and its waited children)."""
  started = time.monotonic()
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
  out = proc.stdout.read()
  _, status, usage = os.wait4(proc.pid, 0)
  proc.returncode = os.waitstatus_to_exitcode(status)
  return time.monotonic() - started, proc.returncode, out, usage.ru_maxrss // 1024


def last_json(text: str) -> Optional[Dict[str, Any]]:
  lines = [line for line in text.splitlines() if line.startswith("{")]
  return json.loads(lines[-1]) if lines else None


def failed(code: int, wall: float, rss: int, why: str) -> Dict[str, Any]:
  """A run that did not go to its end: kept in the JSON, left out of every median."""
  return {"failed": True, "exit": code, "why": why, "wall_s": round(wall, 2), "peak_rss_mib": rss}


def _summary(path: str) -> Optional[Dict[str, Any]]:
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def ours(model: str, home: str, data_dir: str, log, *extra: str) -> Dict[str, Any]:
  summary_path = os.path.join(os.path.dirname(home), f"summary-{time.time_ns()}.json")  # home: not yet made
  wall, code, out, rss = timed([PY, "-m", "runners.cli", "run", "--pipeline", "mnist", "--model",
                              model, "--data-dir", data_dir, "--home", home,
                              "--summary-json", summary_path, *extra], log)
  summary = _summary(summary_path) if code in COMPLETED else None
  if summary is None:
    return failed(code, wall, rss, "exit code" if code not in COMPLETED else "no run summary")
  epochs = [float(rate.replace(",", "")) for rate in EPOCH_RATE.findall(out)]
  return {"wall_s": round(wall, 2), "exit": code, "peak_rss_mib": rss,
          "accuracy": summary["metrics"].get("sparse_categorical_accuracy"),
          "blessed": summary["blessed"], "component_s": summary["component_seconds"],
          "cached": summary["cached_components"], "epoch_examples_per_s": epochs,
          # epoch 1 also decodes, transforms and caches its input: steady state is the rest
          "trainer_examples_per_s": statistics.median(epochs[1:]) if len(epochs) > 1 else None}


# The runner's plain (non-TTY) epoch line: "      epoch 2/3  loss …  2,345 examples/s"
EPOCH_RATE = re.compile(r"^\s+epoch \d+/\d+ .* ([\d,]+) examples/s$", re.MULTILINE)


def json_of(cmd: List[str], log, wall_key: str = "process_wall_s") -> Dict[str, Any]:
  """Runs a bench script printing one JSON line; its figures + process wall and peak RSS."""
  wall, code, out, rss = timed(cmd, log)
  figures = last_json(out) if code == 0 else None
  if figures is None:
    return failed(code, wall, rss, "exit code" if code else "no JSON line")
  return {**figures, wall_key: round(wall, 2), "peak_rss_mib": rss}


def measurements(data_dir: str, work: str, converted: str, log,
                 skip_official: bool) -> List[Tuple[str, Callable[[], Dict[str, Any]]]]:
  """One round's runs, in order, by the name each has in the JSON."""
  mlp_home = os.path.join(work, "mlp")
  runs = [
      ("mlp", lambda: ours("mlp", mlp_home, data_dir, log)),
      ("mlp_rerun_after_first", lambda: ours("mlp", mlp_home, data_dir, log)),
      ("mlp_rerun_cached", lambda: ours("mlp", mlp_home, data_dir, log)),
      ("mlp_trainer_only_change", lambda: ours("mlp", mlp_home, data_dir, log, "--epochs", "9")),
      ("p4", lambda: json_of([PY, "-m", "bench.input_throughput", "--pipeline-root",
                              os.path.join(mlp_home, "pipelines", "mnist_mlp")], log, "wall_s")),
      ("cnn", lambda: ours("cnn", os.path.join(work, "cnn"), data_dir, log)),
      ("bare_cnn", lambda: json_of([PY, "-m", "bench.bare_keras", "--model", "cnn",
                                    "--data-dir", data_dir], log)),
      ("cnn_throughput", lambda: json_of([PY, "-m", "bench.cnn_throughput"], log)),
  ]
  if not skip_official:
    for key, flags in (("official_beam_flags", []), ("official_no_beam_flags", ["--no-beam-flags"])):
      runs.append((key, lambda key=key, flags=flags: json_of(
          [PY, "-m", "bench.official_tfx_mnist", "--data-dir", data_dir, "--work-dir",
           os.path.join(work, key), "--converted", converted, *flags], log)))
  return runs


MEASUREMENTS = [name for name, _ in measurements("", "", "", None, skip_official=False)]


def one_round(runs, only: Optional[List[str]]) -> Dict[str, Any]:
  result: Dict[str, Any] = {}
  for name, run in runs:
    if only is None or name in only:
      result[name] = run()
      if result[name].get("failed"):
        print(f"  {name} failed: exit {result[name]['exit']} ({result[name]['why']})", flush=True)
  return result


def failures(rounds: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
  """Which run of which round (1-based) failed, and its exit code."""
  return [{"round": i + 1, "run": name, "exit": r["exit"], "why": r["why"]}
          for i, one in enumerate(rounds) for name, r in one.items() if r.get("failed")]


def median(rounds: List[Dict[str, Any]], *path: str):
  """The median over rounds of the figure at path; failed runs count for none."""
  values = []
  for r in rounds:
    v = r
    for key in path:
      v = v.get(key) if isinstance(v, dict) and not v.get("failed") else None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
      values.append(v)
  return round(statistics.median(values), 4) if values else None


def ratio(numerator, denominator, digits: int = 3):
  """numerator ÷ denominator, None (printed "missing") if either side is."""
  return round(numerator / denominator, digits) if numerator is not None and denominator else None


def _first(rounds: List[Dict[str, Any]], run: str, key: str):
  """`key` of the first round where `run` did not fail."""
  for one in rounds:
    if run in one and not one[run].get("failed"):
      return one[run].get(key)
  return None


def table(rounds: List[Dict[str, Any]]) -> List[Tuple[str, Any, str]]:
  """(figure, median or ratio, note) rows; a figure no run produced is None."""
  m = lambda *p: median(rounds, *p)  # noqa: E731
  configurations = {key: m(key, "process_wall_s")
                    for key in ("official_beam_flags", "official_no_beam_flags")}
  timed_configurations = {k: v for k, v in configurations.items() if v}
  faster = min(timed_configurations, key=timed_configurations.get) if timed_configurations else None
  official = configurations.get(faster)
  float32_rate = m("cnn_throughput", "keras_examples_per_s", "float32")
  trainer_rate = m("cnn", "trainer_examples_per_s")
  return [
      ("P1 ours mlp, fresh (wall s)", m("mlp", "wall_s"), f"acc {m('mlp', 'accuracy')}"),
      ("P1 ours cnn, fresh (wall s)", m("cnn", "wall_s"), f"acc {m('cnn', 'accuracy')}"),
      ("P1 official, shipped Beam flags (s)", configurations["official_beam_flags"],
       f"acc {m('official_beam_flags', 'accuracy')}"),
      ("P1 official, no Beam flags (s)", configurations["official_no_beam_flags"],
       f"acc {m('official_no_beam_flags', 'accuracy')}"),
      ("P1 mlp ÷ official (target ≤ 0.25)", ratio(m("mlp", "wall_s"), official), f"vs {faster}"),
      ("P1 cnn ÷ official (target ≤ 0.5)", ratio(m("cnn", "wall_s"), official), f"vs {faster}"),
      ("P2 bare Keras cnn (wall s)", m("bare_cnn", "process_wall_s"),
       f"acc {m('bare_cnn', 'accuracy')}, {_first(rounds, 'bare_cnn', 'precision')}"),
      ("P2 cnn pipeline ÷ bare (target ≤ 1.15)",
       ratio(m("cnn", "wall_s"), m("bare_cnn", "process_wall_s")), "same recipe, precision"),
      ("T  CNN Trainer examples/s", trainer_rate, "our cnn run, epochs 2+"),
      ("T  CNN Keras float32 examples/s", float32_rate, "in-memory fit, same model and batch"),
      ("T  Trainer ÷ float32 (target ≥ 2.5)", ratio(trainer_rate, float32_rate), ""),
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


def print_table(rounds: List[Dict[str, Any]], rows, out=None) -> None:
  out = out or sys.stdout
  ok = len(rounds) - len({f["round"] for f in failures(rounds)})
  print(f"\nmedians of {len(rounds)} rounds ({ok} without a failed run) on {cpu.line()}",
        file=out)
  for name, value, note in rows:
    shown = "missing" if value is None else value
    print(f"  {name:<40} {shown!s:>10}  {note}", file=out)
  for model in ("mlp", "cnn"):
    components = sorted({c for one in rounds if model in one and not one[model].get("failed")
                         for c in one[model]["component_s"]})
    if components:
      print(f"  {model} per-component s: " + ", ".join(
          f"{c} {median(rounds, model, 'component_s', c)}" for c in components), file=out)
  for f in failures(rounds):
    print(f"  FAILED round {f['round']} {f['run']}: exit {f['exit']} ({f['why']})", file=out)


def write_json(path: str, rounds: List[Dict[str, Any]], planned: int, rows=None) -> None:
  """The results so far, replaced whole (a reader never sees half a file)."""
  with open(path + ".tmp", "w") as f:
    json.dump({"cpu": cpu.describe(), "rounds_planned": planned, "rounds_done": len(rounds), "runs": rounds,
               "failures": failures(rounds), "table": rows}, f, indent=2)
  os.replace(path + ".tmp", path)


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--data-dir", default=mnist_pipeline.default_data_dir())
  parser.add_argument("--skip-official", action="store_true")
  parser.add_argument("--only", metavar="NAMES", help="only these runs of each round, "
                      f"comma-separated, of: {', '.join(MEASUREMENTS)}")
  parser.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  if not args.data_dir:
    print("bench: needs MNIST IDX files (--data-dir or ../shared/data/mnist)", file=sys.stderr)
    return 2
  only = args.only.split(",") if args.only else None
  if only and set(only) - set(MEASUREMENTS):
    print(f"bench: --only {args.only}: unknown {', '.join(sorted(set(only) - set(MEASUREMENTS)))}",
          file=sys.stderr)
    return 2
  os.makedirs(args.results_dir, exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(args.results_dir, f"bench-{stamp}.log")
  out_path = os.path.join(args.results_dir, f"bench-{stamp}.json")
  official = not args.skip_official and (only is None or any(n.startswith("official") for n in only))
  converted = tempfile.mkdtemp(prefix="official-data-") if official else ""
  rounds: List[Dict[str, Any]] = []
  with open(log_path, "w") as log:
    if official:
      subprocess.run([PY, "-c", "from bench.official_tfx_mnist "
                      f"import convert; convert({args.data_dir!r}, {converted!r})"],
                     cwd=ROOT, check=True, stdout=log, stderr=log)
    for i in range(args.runs):
      work = tempfile.mkdtemp(prefix=f"bench-{i}-")
      print(f"round {i + 1}/{args.runs} ...", flush=True)
      rounds.append(one_round(measurements(args.data_dir, work, converted, log, not official), only))
      shutil.rmtree(work, ignore_errors=True)
      write_json(out_path, rounds, args.runs)  # an interrupted bench keeps its finished rounds
  if converted:
    shutil.rmtree(converted, ignore_errors=True)

  rows = table(rounds)
  print_table(rounds, rows)
  write_json(out_path, rounds, args.runs, rows)
  print(f"\nwrote {out_path} (log {log_path})")
  return 1 if failures(rounds) else 0


if __name__ == "__main__":
  sys.exit(main())
