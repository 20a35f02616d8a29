"""oneDNN on or off, on this CPU: training throughput, single-image latency, the matmul limit.

    python -m bench.onednn [--models cnn,mlp] [--runs 3] [--batches 40]

TensorFlow 2.16 turns its oneDNN kernels on by default only on CPUs with AVX-512 and newer
(tensorflow/core/util/util.cc IsMKLEnabled); `TF_ENABLE_ONEDNN_OPTS=0|1` decides instead, and
only before TensorFlow loads. So each figure is a fresh process per setting, the settings
alternating run by run (so drift of the machine hits both alike); medians of --runs:

- `bench.cnn_throughput` per model: steady-state Keras `fit` examples/s (float32, recipe batch),
  and the CPU's peak float32 matmul GFLOP/s (the arithmetic limit) under that setting;
- single-image latency: the model's forward pass on one image (`model(x, training=False)` in a
  tf.function, what a served Predict of one example runs), p50 over 2,000 calls after warmup.

JSON goes to bench/results/onednn-<cpu kind>-<stamp>.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench import cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_LATENCY = r"""
import models, os, time, json, statistics
import numpy as np, tensorflow as tf
from models.mnist import model as m, recipes
from tensorflow.python.util import _pywrap_util_port
net = m.build_model(recipes.default_recipe("{model}"))
x = tf.constant(np.random.rand(1, 784).astype("float32"))
f = tf.function(lambda x: net(x, training=False))
for _ in range(200): f(x)
t = []
for _ in range(2000):
  s = time.perf_counter(); f(x).numpy(); t.append(time.perf_counter() - s)
print(json.dumps({{"p50_ms": statistics.median(t) * 1e3, "mkl": _pywrap_util_port.IsMklEnabled()}}))
"""


def _python(args, setting: str, code: str = None):
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting, TF_CPP_MIN_LOG_LEVEL="3")
  command = [sys.executable, "-c", code] if code else [sys.executable, "-m", *args]
  out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="bench.onednn", description=__doc__.splitlines()[0])
  parser.add_argument("--models", default="cnn,mlp")
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--batches", type=int, default=40)
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  info = cpu.describe()
  print(cpu.line(info), flush=True)
  results = {}
  for model in args.models.split(","):
    samples = {"0": [], "1": []}
    for _ in range(args.runs):
      for setting in ("0", "1"):
        fit = _python(["bench.cnn_throughput", "--model", model, "--batches", str(args.batches)], setting)
        latency = _python(None, setting, _LATENCY.format(model=model))
        samples[setting].append({"fit_examples_per_s": fit["keras_examples_per_s"]["float32"],
                                 "peak_gflops_float32": fit["peak_gflops"]["float32"],
                                 "single_image_p50_ms": latency["p50_ms"], "mkl": latency["mkl"]})
    row = {}
    for setting, runs in samples.items():
      row[f"onednn_{setting}"] = {k: round(statistics.median(r[k] for r in runs), 3)
                                  for k in ("fit_examples_per_s", "peak_gflops_float32",
                                            "single_image_p50_ms")}
      row[f"onednn_{setting}"]["mkl_enabled"] = runs[0]["mkl"]
      row[f"onednn_{setting}"]["runs"] = runs
    on, off = row["onednn_1"], row["onednn_0"]
    row["fit_ratio_on_over_off"] = round(on["fit_examples_per_s"] / off["fit_examples_per_s"], 2)
    row["latency_ratio_on_over_off"] = round(on["single_image_p50_ms"] / off["single_image_p50_ms"], 2)
    results[model] = row
    print(f"{model}: fit {off['fit_examples_per_s']:,.0f} -> {on['fit_examples_per_s']:,.0f} "
          f"examples/s with oneDNN ({row['fit_ratio_on_over_off']}x); single image p50 "
          f"{off['single_image_p50_ms']:.3f} -> {on['single_image_p50_ms']:.3f} ms "
          f"({row['latency_ratio_on_over_off']}x); peak float32 {off['peak_gflops_float32']:.0f} -> "
          f"{on['peak_gflops_float32']:.0f} GFLOP/s (median of {args.runs})", flush=True)
  os.makedirs(args.out_dir, exist_ok=True)
  path = os.path.join(args.out_dir, f"onednn-{info['kind']}-{time.strftime('%Y%m%d-%H%M%S')}.json")
  with open(path, "w") as f:
    json.dump({"cpu": info, "models": results}, f, indent=2)
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
