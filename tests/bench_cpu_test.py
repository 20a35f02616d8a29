"""The CPU kind a bench records, from real /proc/cpuinfo flag sets of the machines here."""

from bench import cpu

ZEN4 = frozenset("fpu sse4_2 avx avx2 fma avx512f avx512dq avx512_bf16 avx512_vnni".split())
AVX2_EPYC = frozenset("fpu sse4_2 avx avx2 fma".split())


def test_kind_is_the_widest_feature():
  assert cpu.kind(ZEN4) == "AVX-512 BF16"
  assert cpu.kind(AVX2_EPYC) == "AVX2"
  assert cpu.kind(ZEN4 - {"avx512_bf16"}) == "AVX-512"
  assert cpu.kind(ZEN4 | {"amx_bf16"}) == "AMX"
  assert cpu.kind(frozenset({"sse4_2"})) == "pre-AVX2"


def test_this_machine_is_described_in_one_line():
  info = cpu.describe()
  assert info["kind"] in ("AMX", "AVX-512 BF16", "AVX-512", "AVX2", "pre-AVX2") and info["cores"] >= 1
  text = cpu.line(info)
  assert text.startswith(info["model"]) and info["kind"] in text and f"{info['cores']} cores" in text
