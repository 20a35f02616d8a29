"""`auto` picks bf16 only where the CPU has native BF16; the flags come from /proc/cpuinfo."""

import subprocess

import pytest

from models import precision

ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
SAPPHIRE_RAPIDS = frozenset({"avx512f", "amx_tile", "amx_bf16", "amx_int8"})
SKYLAKE = frozenset({"avx2", "avx512f", "avx512bw"})


@pytest.mark.parametrize("flags,expected", [
    (ZEN4, precision.MIXED_BFLOAT16), (SAPPHIRE_RAPIDS, precision.MIXED_BFLOAT16),
    (SKYLAKE, precision.FLOAT32), (frozenset(), precision.FLOAT32)])
def test_auto_is_bf16_only_with_native_bf16(flags, expected):
  assert precision.resolve(precision.AUTO, flags) == expected


def test_an_explicit_choice_wins_and_says_when_it_is_emulated():
  assert precision.resolve(precision.FLOAT32, ZEN4) == precision.FLOAT32
  assert precision.resolve(precision.MIXED_BFLOAT16, SKYLAKE) == precision.MIXED_BFLOAT16
  assert "emulated" in precision.describe(precision.MIXED_BFLOAT16, SKYLAKE)
  assert precision.describe(precision.MIXED_BFLOAT16, ZEN4) == "mixed bf16 (avx512_bf16)"
  with pytest.raises(ValueError, match="--precision bf16: expected one of auto, float32"):
    precision.resolve("bf16", ZEN4)


def test_flags_are_read_from_cpuinfo(tmp_path):
  cpuinfo = tmp_path / "cpuinfo"
  cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                     "flags\t\t: fpu avx2 avx512f avx512_bf16 clzero\n\nprocessor\t: 1\n")
  assert precision.cpu_flags(str(cpuinfo)) == frozenset(
      {"fpu", "avx2", "avx512f", "avx512_bf16", "clzero"})
  assert precision.cpu_flags(str(tmp_path / "absent")) == frozenset()


def test_this_machines_flags_agree_with_lscpu():
  """lscpu is util-linux (essential on Debian): no skip, a missing one is a failure."""
  lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
  flags_line = [l for l in lscpu.splitlines() if l.startswith("Flags:")][0]
  assert precision.cpu_flags() == frozenset(flags_line.split(":", 1)[1].split())


def test_onednn_is_turned_on_for_the_cnn_only_where_tensorflow_leaves_it_off():
  avx2 = frozenset({"avx2", "fma"})
  zen4 = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"})
  assert precision.onednn_for_training("cnn", avx2, {})[0] == "1"
  assert precision.onednn_for_training("mlp", avx2, {})[0] is None
  assert precision.onednn_for_training("softmax", avx2, {})[1].startswith("oneDNN off")
  assert precision.onednn_for_training("cnn", zen4, {}) == (
      None, "oneDNN on (TensorFlow's default on this CPU)")
  # The user's own setting wins, and is named.
  assert precision.onednn_for_training("cnn", avx2, {"TF_ENABLE_ONEDNN_OPTS": "0"}) == (
      None, "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0 given)")
