"""Which kind of CPU a benchmark ran on: every figure depends on it (docs/performance.md).

The machines this project meets differ: 2-core AMD EPYC with AVX-512 BF16 (bf16 training,
oneDNN on by default in TF 2.16) and 2-core AMD EPYC with AVX2 only (float32, Eigen kernels).
Each bench prints `line()` and records `describe()` in its JSON, so a result names its kind.
"""

import os
import subprocess
from typing import Any, Dict, FrozenSet

from models import precision as precisions

# The vector features that change TensorFlow's kernels, widest first.
KINDS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"), ("avx2", "AVX2"))


def kind(flags: FrozenSet[str]) -> str:
  """'AMX', 'AVX-512 BF16', 'AVX-512', 'AVX2' or 'pre-AVX2': the widest the flags show."""
  return next((name for flag, name in KINDS if flag in flags), "pre-AVX2")


def model_name() -> str:
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
  except OSError:
    out = ""
  return next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")),
              "unknown CPU")


def describe() -> Dict[str, Any]:
  flags = precisions.cpu_flags()
  return {"model": model_name(), "kind": kind(flags), "cores": len(os.sched_getaffinity(0)),
          "flags": sorted(f for f, _ in KINDS if f in flags) + sorted(
              {"fma"} & flags), "native_bf16": bool(precisions.native_bf16_flags(flags))}


def line(info: Dict[str, Any] = None) -> str:
  """e.g. "AMD EPYC, AVX-512 BF16, no AMX, 2 cores"."""
  info = info or describe()
  amx = "" if info["kind"] == "AMX" else ", no AMX"
  return f"{info['model']}, {info['kind']}{amx}, {info['cores']} cores"
