"""What the regression ExampleGen generates: y = 2x + 1 (+ noise), deterministically.

Records are generated in fixed-size chunks of the global index, each from its
own RNG stream seeded by (seed, chunk), so the data set is the same for a
seed whatever the runner, worker count or split sizes. numpy only, so the CLI
can validate a config before TensorFlow loads.
"""

import dataclasses
import json
from typing import List, Tuple

import numpy as np

from schemas.regression.contract import SPLIT_FRACTIONS, TRUE_B, TRUE_W

CHUNK = 1000
# Held-out splits (eval, test) stop growing here; train takes the rest. Measured: TFMA scores
# ~2,300 test examples/s (its per-example Python, bench/scale.py), so a 10 % test split of
# 4·10^6 would be 170 s of Evaluator; 100,000 examples already put the standard error of
# the 0.99 within-tolerance gate near 0.0003. Below 10^6 examples the cap never binds.
HOLDOUT_CAP = 100_000


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
  """What to generate; validated here so bad values fail with one clear line."""
  num_examples: int = 1000
  noise_stddev: float = 0.0
  seed: int = 0
  split_fractions: Tuple[Tuple[str, float], ...] = SPLIT_FRACTIONS
  holdout_cap: int = HOLDOUT_CAP  # most records of any split after the first

  def __post_init__(self):
    if self.num_examples < len(self.split_fractions):
      raise ValueError(f"num_examples must be at least {len(self.split_fractions)}, "
                       f"got {self.num_examples}")
    if not self.noise_stddev >= 0:
      raise ValueError(f"noise_stddev must be >= 0, got {self.noise_stddev}")
    fractions = [f for _, f in self.split_fractions]
    if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
      raise ValueError(f"split fractions must be positive and sum to 1, got {dict(self.split_fractions)}")
    if self.holdout_cap < 1:
      raise ValueError(f"holdout_cap must be at least 1, got {self.holdout_cap}")

  def split_ranges(self) -> List[Tuple[str, int, int]]:
    """(name, start, stop) over the global index; no split is empty.

    Each split gets round(fraction * N) records but at least one, and never so many
    that a later split would get none; the last split takes the remainder. Then a split
    after the first larger than holdout_cap gives its excess to the first (train).
    """
    sizes = [stop - start for _, start, stop in self._fraction_ranges()]
    for i in range(1, len(sizes)):
      excess = max(0, sizes[i] - self.holdout_cap)
      sizes[i] -= excess
      sizes[0] += excess
    ranges, start = [], 0
    for (name, _), size in zip(self.split_fractions, sizes):
      ranges.append((name, start, start + size))
      start += size
    return ranges

  def _fraction_ranges(self) -> List[Tuple[str, int, int]]:
    ranges, start = [], 0
    count = len(self.split_fractions)
    for i, (name, fraction) in enumerate(self.split_fractions):
      if i == count - 1:
        stop = self.num_examples
      else:
        later = count - 1 - i  # splits after this one, each needing a record
        size = min(max(1, round(fraction * self.num_examples)), self.num_examples - start - later)
        stop = start + size
      ranges.append((name, start, stop))
      start = stop
    return ranges

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self))

  @classmethod
  def from_json(cls, text: str) -> "GeneratorConfig":
    raw = json.loads(text)
    raw["split_fractions"] = tuple(tuple(p) for p in raw["split_fractions"])
    return cls(**raw)


def generate_chunk(config: GeneratorConfig, chunk: int) -> Tuple[np.ndarray, np.ndarray]:
  """x ~ U(0, 1) and y = 2x + 1 + N(0, σ) for global indices [chunk*CHUNK, (chunk+1)*CHUNK)."""
  rng = np.random.default_rng([config.seed, chunk])
  x = rng.uniform(0.0, 1.0, CHUNK).astype(np.float32)
  noise = rng.normal(0.0, 1.0, CHUNK).astype(np.float32) * np.float32(config.noise_stddev)
  return x, (np.float32(TRUE_W) * x + np.float32(TRUE_B) + noise).astype(np.float32)
