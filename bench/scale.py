"""`make bench-scale`: how the regression pipeline's cost grows with the number of examples.

Runs `mnist-tfx run --pipeline regression --examples N --train-steps 200` in a fresh home for
each N (10^4 … 4·10^6 by default; a fixed number of training steps, so training cost does not
grow) and prints, per N: seconds per stage (the executions' own MLMD times), examples/s of the
data stages, process wall time, peak RSS, and which Beam mode the run chose. Then the three
figures issue 13 sets targets on, between the two largest sizes (10^6 and 4·10^6):
cost per example (≤ 1.2×), peak RSS (≤ 1.5×) and the marginal throughput of the whole
pipeline, ΔN / Δwall (≥ 100,000 examples/s). Writes bench/results/scale-<time>.json and
plots bench/results/scale.png (seconds vs N, log-log, per stage; peak RSS vs N).
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
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import cpu
from components.regression_example_gen.generator import GeneratorConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
PY = sys.executable
DEFAULT_SIZES = (10_000, 100_000, 1_000_000, 4_000_000)
TRAIN_STEPS = 200
# The stages the issue names, found in the summary by the component id's suffix.
STAGES = ("ExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator")
TARGETS = {"cost_per_example_ratio": 1.2, "peak_rss_ratio": 1.5, "marginal_examples_per_s": 100_000}


def timed(cmd: Sequence[str], log) -> Tuple[float, int, int]:
  """Runs cmd; (wall s, exit code, peak RSS MiB of it or any of its waited-for children).

  ru_maxrss from wait4 is the largest single process, so with multi-processing Beam it is
  the larger of the runner and its busiest worker, not their sum.
  """
  started = time.monotonic()
  proc = subprocess.Popen(list(cmd), cwd=ROOT, stdout=log, stderr=log)
  _, status, usage = os.wait4(proc.pid, 0)
  return time.monotonic() - started, os.waitstatus_to_exitcode(status), usage.ru_maxrss // 1024


def stage_seconds(component_seconds: Dict[str, float]) -> Dict[str, Optional[float]]:
  """{stage: seconds} from the summary's {component id: seconds} (e.g. RegressionExampleGen)."""
  found: Dict[str, Optional[float]] = {}
  for stage in STAGES:
    ids = [c for c in component_seconds if c.endswith(stage)]
    found[stage] = component_seconds[ids[0]] if ids else None
  return found


def examples_read(n: int) -> Dict[str, int]:
  """How many examples each data stage writes or reads at N (the generator's own split)."""
  sizes = {name: stop - start for name, start, stop in GeneratorConfig(num_examples=n).split_ranges()}
  # The Evaluator scores test; ExampleGen and StatisticsGen see all. Transform reads no data
  # here (identity, no analyzers), the Trainer a fixed number of steps and the eval split.
  return {"ExampleGen": n, "StatisticsGen": n, "Evaluator": sizes["test"]}


def one_run(n: int, train_steps: int, beam_args: Sequence[str], log) -> Dict[str, Any]:
  home = tempfile.mkdtemp(prefix=f"scale-{n}-")
  summary_path = os.path.join(home, "summary.json")
  cmd = [PY, "-m", "runners.cli", "run", "--pipeline", "regression", "--examples", str(n),
         "--train-steps", str(train_steps), "--home", os.path.join(home, "home"),
         "--summary-json", summary_path, *[f"--beam-arg={a}" for a in beam_args]]
  log.write(f"\n=== N={n}: {' '.join(cmd)}\n")
  log.flush()
  try:
    wall, code, rss = timed(cmd, log)
    result: Dict[str, Any] = {"n": n, "wall_s": round(wall, 2), "exit": code, "peak_rss_mib": rss}
    if os.path.exists(summary_path):
      with open(summary_path) as f:
        summary = json.load(f)
      result.update({
          "pipeline_s": summary["total_seconds"], "blessed": summary["blessed"],
          "pushed": summary["pushed_path"] is not None,
          "beam_mode": summary["details"].get("beam_mode"),
          "component_s": summary["component_seconds"],
          "stage_s": stage_seconds(summary["component_seconds"])})
    return result
  finally:
    shutil.rmtree(home, ignore_errors=True)


def summarise(n: int, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
  """Medians over the runs of one N, and the data stages' examples/s."""
  # Exit 3 (a gate said no, nothing pushed) still ran every data stage: its times count.
  ok = [r for r in runs if r["exit"] in (0, 3) and "stage_s" in r]

  def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return round(statistics.median(values), 2) if values else None

  stages = {s: med(r["stage_s"][s] for r in ok) for s in STAGES}
  rates = {s: round(count / stages[s]) for s, count in examples_read(n).items() if stages.get(s)}
  return {"n": n, "runs": len(runs), "ok_runs": len(ok), "wall_s": med(r["wall_s"] for r in ok),
          "pipeline_s": med(r["pipeline_s"] for r in ok),
          "peak_rss_mib": med(r["peak_rss_mib"] for r in ok), "stage_s": stages,
          "examples_per_s": rates, "beam_mode": ok[0]["beam_mode"] if ok else None}


def ratios(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
  """The targets' figures between the two largest sizes that ran (10^6 and 4·10^6 by default)."""
  done = sorted((r for r in rows if r["wall_s"]), key=lambda r: r["n"])
  if len(done) < 2:
    return {}
  small, large = done[-2], done[-1]
  return {
      "from_n": small["n"], "to_n": large["n"],
      "cost_per_example_ratio": round((large["wall_s"] / large["n"]) / (small["wall_s"] / small["n"]), 3),
      "pipeline_cost_per_example_ratio": round(
          (large["pipeline_s"] / large["n"]) / (small["pipeline_s"] / small["n"]), 3),
      "peak_rss_ratio": round(large["peak_rss_mib"] / small["peak_rss_mib"], 3),
      "marginal_examples_per_s": round((large["n"] - small["n"]) / max(large["wall_s"] - small["wall_s"], 1e-9)),
      "targets": TARGETS,
  }


def print_table(rows: List[Dict[str, Any]], figures: Dict[str, Any], out=None) -> None:
  out = out or sys.stdout
  head = f"{'N':>10} {'wall s':>7} " + " ".join(f"{s:>13}" for s in STAGES) + \
      f" {'RSS MiB':>8}  beam mode"
  out.write(head + "\n")
  for r in rows:
    cells = []
    for s in STAGES:
      sec, rate = r["stage_s"].get(s), r["examples_per_s"].get(s)
      per_s = "" if not rate else f" ({rate / 1000:.0f}k/s)" if rate >= 10_000 else f" ({rate}/s)"
      cell = "-" if sec is None else f"{sec:.1f}{per_s}"
      cells.append(f"{cell:>13}")
    out.write(f"{r['n']:>10,} {r['wall_s'] or 0:>7.1f} " + " ".join(cells) +
              f" {r['peak_rss_mib'] or 0:>8}  {(r['beam_mode'] or '?').split(' (')[0]}\n")
  out.write("(stage seconds from MLMD; /s: examples the stage wrote or read a second — all of N\n"
            " for ExampleGen and StatisticsGen, the test split for the Evaluator)\n")
  if figures:
    a, b = f"{figures['from_n']:,}", f"{figures['to_n']:,}"
    rows_out = [
        (f"cost per example, {b} ÷ {a} (wall)", figures["cost_per_example_ratio"],
         f"≤ {TARGETS['cost_per_example_ratio']}", figures["cost_per_example_ratio"] <= TARGETS["cost_per_example_ratio"]),
        (f"peak RSS, {b} ÷ {a}", figures["peak_rss_ratio"], f"≤ {TARGETS['peak_rss_ratio']}",
         figures["peak_rss_ratio"] <= TARGETS["peak_rss_ratio"]),
        (f"marginal examples/s, {a} → {b}", f"{figures['marginal_examples_per_s']:,}",
         f"≥ {TARGETS['marginal_examples_per_s']:,}",
         figures["marginal_examples_per_s"] >= TARGETS["marginal_examples_per_s"]),
    ]
    for name, value, target, met in rows_out:
      out.write(f"  {name:<42} {value!s:>9}  target {target:<9} {'met' if met else 'MISSED'}\n")
  out.flush()


def plot(rows: List[Dict[str, Any]], path: str) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = [r for r in rows if r["wall_s"]]
  if not rows:
    return
  ns = [r["n"] for r in rows]
  fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
  left.plot(ns, [r["wall_s"] for r in rows], "k-o", label="process wall")
  for stage in STAGES:
    points = [(r["n"], r["stage_s"][stage]) for r in rows if r["stage_s"].get(stage)]
    if points:
      left.plot(*zip(*points), "-o", markersize=4, label=stage)
  if len(ns) >= 2:  # what linear growth would be, drawn through the largest N's wall
    left.plot(ns, [rows[-1]["wall_s"] * n / ns[-1] for n in ns], "k:", linewidth=1,
              label="∝ N (through the largest)")
  left.set(xscale="log", yscale="log", xlabel="examples N", ylabel="seconds",
           title="regression pipeline, --train-steps 200")
  left.legend(fontsize=7)
  left.grid(True, which="both", alpha=0.3)
  right.plot(ns, [r["peak_rss_mib"] for r in rows], "-o", color="tab:red")
  right.set(xscale="log", xlabel="examples N", ylabel="MiB", title="peak RSS (largest process)")
  right.set_ylim(bottom=0, top=max(r["peak_rss_mib"] for r in rows) * 1.2)
  right.grid(True, which="both", alpha=0.3)
  for r in rows:
    mode = (r["beam_mode"] or "?").split(" ")[0]
    right.annotate(mode, (r["n"], r["peak_rss_mib"]), fontsize=7, textcoords="offset points",
                   xytext=(0, 6), ha="center")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default=",".join(str(n) for n in DEFAULT_SIZES),
                      help="comma-separated N (1e6 style accepted); default %(default)s")
  parser.add_argument("--runs", type=int, default=1, help="runs per N (median); default 1")
  parser.add_argument("--train-steps", type=int, default=TRAIN_STEPS)
  parser.add_argument("--beam-arg", action="append", default=[], metavar="FLAG",
                      help="passed to every run (overrides the automatic Beam mode)")
  parser.add_argument("--results-dir", default=RESULTS, help="JSON and log; default %(default)s")
  parser.add_argument("--plot", help="PNG path; default RESULTS_DIR/scale.png")
  args = parser.parse_args(argv)
  sizes = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()})
  plot_path = args.plot or os.path.join(args.results_dir, "scale.png")
  os.makedirs(args.results_dir, exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(args.results_dir, f"scale-{stamp}.log")
  runs: Dict[int, List[Dict[str, Any]]] = {}
  with open(log_path, "w") as log:
    for n in sizes:
      for i in range(args.runs):
        print(f"N={n:,} run {i + 1}/{args.runs} ...", flush=True)
        result = one_run(n, args.train_steps, args.beam_arg, log)
        if result["exit"] == 3:
          print(f"  not pushed (exit 3: a gate said no); its stage times still count", flush=True)
        elif result["exit"] != 0:
          print(f"  exit {result['exit']} (see {log_path})", flush=True)
        runs.setdefault(n, []).append(result)
  rows = [summarise(n, runs[n]) for n in sizes]
  figures = ratios(rows)
  print(f"\nregression pipeline, --train-steps {args.train_steps}, {cpu.line()}, "
        f"median of {args.runs} run(s)")
  print_table(rows, figures)
  out_path = os.path.join(args.results_dir, f"scale-{stamp}.json")
  with open(out_path, "w") as f:
    json.dump({"when": stamp, "cpu": cpu.describe(), "cores": len(os.sched_getaffinity(0)),
               "train_steps": args.train_steps,
               "beam_args": args.beam_arg, "sizes": sizes, "rows": rows, "figures": figures,
               "runs": runs}, f, indent=2, sort_keys=True)
  plot(rows, plot_path)
  print(f"wrote {out_path}, {plot_path} (run logs: {log_path})")
  return 0 if all(r["ok_runs"] == r["runs"] for r in rows) else 1


if __name__ == "__main__":
  sys.exit(main())
