"""Where a Deep-MNIST CNN training step goes, per precision, from oneDNN's own timings.

TensorFlow runs conv, matmul and pooling as oneDNN primitives; with ONEDNN_VERBOSE=1 oneDNN
prints every primitive it executes with its implementation (the ISA it dispatched: e.g.
`brgconv:avx512_core_bf16`, or `avx512_core_amx` on AMX) and its time in ms. A child process
trains --steps steps on in-memory tensors with that switch on; this script sums the times per
layer kind and direction and sets them against the child's measured step time. What oneDNN did
not run — the Adam update, dropout, casts, Keras's step bookkeeping, the input — is the rest.
The child runs one op at a time (inter-op threads 1; each oneDNN primitive still uses both
cores): with TF's default inter-op pool two primitives overlap and their wall times add up to
more than the step, so shares could not be read off.

  .venv/bin/python -m bench.profile_cnn [--steps 100] [--precision float32 mixed_bfloat16]

Prints a table per precision and writes bench/results/profile-cnn-<time>.json.
"""

import argparse
import collections
import datetime
import json
import os
import subprocess
import sys
from typing import Any, Dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = r"""
import models, dataclasses, json, sys, time
import numpy as np, tensorflow as tf
from models.mnist import model as mnist_model, recipes
precision, steps = sys.argv[1], int(sys.argv[2])
tf.config.threading.set_inter_op_parallelism_threads(1)
recipe = dataclasses.replace(recipes.default_recipe("cnn"), precision=precision)
net = mnist_model.build_model(recipe)
rng = np.random.default_rng(0)
x = rng.random((recipe.batch_size * 20, 784), dtype=np.float32)
y = rng.integers(0, 10, len(x))
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(recipe.batch_size).cache().repeat()
net.fit(data, epochs=1, steps_per_epoch=5, verbose=0)
print("PROFILE-START", flush=True)
started = time.perf_counter()
net.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
seconds = time.perf_counter() - started
print("PROFILE-END " + json.dumps({"seconds": seconds, "batch_size": recipe.batch_size}), flush=True)
"""


def kind_of(primitive: str, prop_kind: str, problem: str) -> str:
  """'conv1 forward', 'conv2 backward_weights', 'dense forward', 'pooling', 'reorder'."""
  if primitive == "convolution":
    layer = "conv1" if "ic1oc32" in problem else "conv2"
    return f"{layer} {prop_kind.replace('_training', '')}"
  if primitive in ("matmul", "inner_product", "gemm_api"):
    return "dense (fc1, logits) fwd+bwd"
  return primitive


def profile(precision: str, steps: int) -> Dict[str, Any]:
  env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
  proc = subprocess.run([sys.executable, "-c", _CHILD, precision, str(steps)], cwd=ROOT, env=env,
                        capture_output=True, text=True, check=True)
  inside, times, implementations, result = False, collections.Counter(), collections.Counter(), {}
  for line in proc.stdout.splitlines():
    if line.startswith("PROFILE-START"):
      inside = True
    elif line.startswith("PROFILE-END"):
      result = json.loads(line.split(" ", 1)[1])
      inside = False
    elif inside and line.startswith("onednn_verbose,primitive,exec,cpu,"):
      fields = line.split(",")
      primitive, implementation, prop_kind = fields[4], fields[5], fields[6]
      kind = kind_of(primitive, prop_kind, fields[-2])
      times[kind] += float(fields[-1]) / 1000
      implementations[f"{primitive}: {implementation}"] += 1
  step_seconds = result["seconds"] / steps
  onednn = sum(times.values())
  shares = {k: round(v / result["seconds"], 3) for k, v in times.most_common()}
  shares["other (Adam, dropout, casts, Keras, input)"] = round(1 - onednn / result["seconds"], 3)
  return {"precision": precision, "steps": steps, "step_ms": round(step_seconds * 1000, 2),
          "examples_per_s": round(result["batch_size"] / step_seconds, 1),
          "share_of_step": shares, "implementations": dict(implementations.most_common())}


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--precision", nargs="+", default=["float32", "mixed_bfloat16"])
  args = parser.parse_args()
  results = [profile(p, args.steps) for p in args.precision]
  for r in results:
    print(f"\n{r['precision']}: {r['step_ms']} ms/step, {r['examples_per_s']} examples/s")
    for kind, share in r["share_of_step"].items():
      print(f"  {share * 100:5.1f} %  {kind}")
    print("  kernels: " + "; ".join(r["implementations"]))
  os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  out = os.path.join(ROOT, "bench", "results", f"profile-cnn-{stamp}.json")
  with open(out, "w") as f:
    json.dump(results, f, indent=2)
  print(f"\nwrote {out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
