"""What each Beam worker of the regression ExampleGen runs: generate, encode, frame, write.

Kept free of TensorFlow and TFX imports: a multi-processing DirectRunner worker imports this
module to unpickle the DoFn, and importing TFX (which imports TensorFlow) cost each worker
~5 s of a 14 s ExampleGen at 10^6 examples.
"""

from typing import Iterator, List, Tuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
from tfx_bsl.coders import example_coder

from components import tfrecord_files
from components.regression_example_gen.generator import CHUNK, GeneratorConfig, generate_chunk
from schemas.regression.contract import X_KEY, Y_KEY

# The TFRecord framing, file names and sharding every ExampleGen of the project writes.
FILE_NAME, SHARD_RECORDS = tfrecord_files.FILE_NAME, tfrecord_files.SHARD_RECORDS
frame_tfrecords, shards = tfrecord_files.frame_tfrecords, tfrecord_files.shards


def _one_per_row(values: np.ndarray) -> pa.ListArray:
  """[v0, v1, ...] as the list column [[v0], [v1], ...]: one float per tf.Example feature."""
  offsets = pa.array(np.arange(values.size + 1, dtype=np.int32))
  return pa.ListArray.from_arrays(offsets, pa.array(values.astype(np.float32, copy=False)))


def encode_examples(x: np.ndarray, y: np.ndarray) -> List[bytes]:
  """Serialized tf.Examples {x: [xi], y: [yi]} (float_list), built in C++ in one call.

  Same content as building tf.train.Example in Python (executor_test checks); the
  Python loop cost ~11 µs a record, 11 s of ExampleGen's ~25 s at 10^6.
  """
  if not len(x):
    return []
  batch = pa.RecordBatch.from_arrays([_one_per_row(x), _one_per_row(y)], [X_KEY, Y_KEY])
  return example_coder.RecordBatchToExamples(batch)


def encode_range(bounds: Tuple[int, int], config: GeneratorConfig) -> Iterator[bytes]:
  """Serialized records of global indices [start, stop), chunk by chunk (chunks fix the RNG)."""
  start, stop = bounds
  for chunk in range(start // CHUNK, (stop - 1) // CHUNK + 1):
    x, y = generate_chunk(config, chunk)
    lo = max(start, chunk * CHUNK) - chunk * CHUNK
    hi = min(stop, (chunk + 1) * CHUNK) - chunk * CHUNK
    yield from encode_examples(x[lo:hi], y[lo:hi])


def chunk_bounds(lo: int, hi: int) -> Iterator[Tuple[int, int]]:
  """[lo, hi) cut at chunk boundaries, so each chunk's RNG stream is drawn once."""
  while lo < hi:
    step = min(hi, (lo // CHUNK + 1) * CHUNK)
    yield lo, step
    lo = step


class WriteShard(beam.DoFn):
  """Generates one file's records and writes it: to a temp file, then renamed into place.

  No grouping anywhere: each worker generates, encodes and compresses its files from the
  index range alone. The final name is a function of the range and the content a function
  of the seed, so a retried bundle rewrites the same file.
  """

  def __init__(self, config: GeneratorConfig, split_uri: str, temp_dir: str):
    self._config, self._split_uri, self._temp_dir = config, split_uri, temp_dir

  def process(self, shard: Tuple[int, int, int, int]) -> Iterator[str]:
    index, count, lo, hi = shard
    yield tfrecord_files.write_file(
        self._split_uri, self._temp_dir, index, count,
        (list(encode_range(bounds, self._config)) for bounds in chunk_bounds(lo, hi)))
