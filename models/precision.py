"""Training precision: float32, or bfloat16 compute with float32 weights where the CPU has it.

Measured on these 2-core AVX-512 BF16 machines (issue 13, bench/cnn_throughput.py): the
Deep-MNIST CNN trains ~1.8x faster under Keras's `mixed_bfloat16` policy, with oneDNN's
`avx512_core_bf16` kernels for every conv, matmul and pooling (ONEDNN_VERBOSE). On a CPU
without native BF16 the same policy is emulated and slower than float32, so `auto` never
picks it there. No TensorFlow here: the CLI resolves `auto` before TF loads.
"""

import functools
from typing import FrozenSet

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
