"""Training precision: float32, or bfloat16 compute with float32 weights where the CPU has it.

Measured on these 2-core AVX-512 BF16 machines (issue 13, bench/cnn_throughput.py): the
Deep-MNIST CNN trains ~1.8x faster under Keras's `mixed_bfloat16` policy, with oneDNN's
`avx512_core_bf16` kernels for every conv, matmul and pooling (ONEDNN_VERBOSE). On a CPU
without native BF16 the same policy is emulated and slower than float32, so `auto` never
picks it there. No TensorFlow here: the CLI resolves `auto` before TF loads.
"""

import functools
from typing import FrozenSet, Optional, Tuple

FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
AUTO = "auto"
CHOICES = (AUTO, FLOAT32, MIXED_BFLOAT16)

# lscpu / /proc/cpuinfo flags of native BF16 arithmetic (AVX-512 BF16 on AMD Zen 4 and Intel
# Cooper Lake+, AMX-BF16 on Intel Sapphire Rapids+). oneDNN dispatches bf16 kernels on either.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.lru_cache(maxsize=None)
def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> FrozenSet[str]:
  """The first processor's flags (empty where /proc/cpuinfo is absent: not Linux x86)."""
  try:
    with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
      for line in f:
        key, _, value = line.partition(":")
        if key.strip() == "flags":
          return frozenset(value.split())
  except OSError:
    pass
  return frozenset()


def native_bf16_flags(flags: FrozenSet[str]) -> FrozenSet[str]:
  return flags & NATIVE_BF16_FLAGS


def resolve(requested: str, flags: FrozenSet[str]) -> str:
  """`auto` becomes mixed_bfloat16 where flags show native BF16, else float32."""
  if requested not in CHOICES:
    raise ValueError(f"--precision {requested}: expected one of {', '.join(CHOICES)}")
  if requested != AUTO:
    return requested
  return MIXED_BFLOAT16 if native_bf16_flags(flags) else FLOAT32


def describe(precision: str, flags: FrozenSet[str]) -> str:
  """'bf16 (avx512_bf16)', 'float32', or a warning that bf16 would be emulated here."""
  if precision != MIXED_BFLOAT16:
    return precision
  native = native_bf16_flags(flags)
  if native:
    return f"mixed bf16 ({', '.join(sorted(native))})"
  return "mixed bf16 (emulated: this CPU has no native BF16, float32 is faster)"


# --- oneDNN ---------------------------------------------------------------------------------
# TensorFlow 2.16 runs its oneDNN kernels by default only on x86 CPUs with the newer vector
# features (tensorflow/core/util/util.cc IsMKLEnabled: AVX-512 VNNI/BF16, AVX-VNNI or AMX);
# `TF_ENABLE_ONEDNN_OPTS=0|1` decides instead, read once when TensorFlow loads. Where TF turns
# it on (the Zen 4 machines: avx512_vnni, avx512_bf16) we leave it. Where it does not (AVX2
# EPYC), measured (`python -m bench.onednn`, 2 cores, medians of 3): the CNN's fit 665 -> 1,144
# examples/s with it (1.72x; single-image CNN inference 2.45 -> 2.02 ms), the MLP's 28,262 ->
# 26,527 (0.94x; single-image 0.62 -> 0.70 ms). So a run that trains the CNN turns it on; the
# softmax/MLP runs and the model server keep TensorFlow's default.
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
TF_ONEDNN_DEFAULT_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile",
                                     "amx_bf16", "amx_int8"})
ONEDNN_TRAINING_MODELS = frozenset({"cnn"})  # measured faster with oneDNN where TF leaves it off


def onednn_for_training(model: str, flags: FrozenSet[str], environ) -> Tuple[Optional[str], str]:
  """(the TF_ENABLE_ONEDNN_OPTS value a run training `model` sets, or None to leave it; the
  words for the run's first line). A value already in the environment wins."""
  given = environ.get(ONEDNN_ENV)
  if given is not None:
    return None, f"oneDNN {'on' if given.strip() == '1' else 'off'} ({ONEDNN_ENV}={given} given)"
  if flags & TF_ONEDNN_DEFAULT_FLAGS:
    return None, "oneDNN on (TensorFlow's default on this CPU)"
  if model in ONEDNN_TRAINING_MODELS:
    return "1", "oneDNN on (measured 1.7x for the CNN on AVX2; TensorFlow's default is off here)"
  return None, "oneDNN off (TensorFlow's default on this CPU; measured no faster for this model)"
