"""Beam executor that turns the four MNIST IDX files into tf.Example splits.

The tutorial's `read_data_sets` split is reproduced exactly: `train` is the
first 55,000 records of the training file, `eval` the last 5,000 (the
tutorial's validation set) and `test` the 10,000 t10k records.
"""

import dataclasses
import functools
import os
from typing import Any, Dict, Iterator, Optional, Tuple

import apache_beam as beam
from tfx.components.example_gen import base_example_gen_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import mnist_example_encoding
from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract

VALIDATION_SIZE = contract.VALIDATION_SIZE  # input_data.read_data_sets(validation_size=5000)
_CHUNK = 2000  # records per Beam element: big enough to amortise, small enough to spread


@dataclasses.dataclass(frozen=True)
class SplitSource:
  """Which IDX pair an output split reads, and which records of it."""
  prefix: str
  start: int = 0
  stop: Optional[int] = None


SPLITS: Dict[str, SplitSource] = {
    contract.TRAIN_SPLIT: SplitSource("train", 0, -VALIDATION_SIZE),
    contract.EVAL_SPLIT: SplitSource("train", -VALIDATION_SIZE, None),
    contract.TEST_SPLIT: SplitSource("t10k"),
}


def input_config() -> example_gen_pb2.Input:
  """Input config whose patterns let FileBasedDriver fingerprint the files."""
  return example_gen_pb2.Input(splits=[
      example_gen_pb2.Input.Split(name=name, pattern=f"{src.prefix}-*-ubyte*")
      for name, src in SPLITS.items()
  ])


@functools.lru_cache(maxsize=4)
def _load(images_path: str, labels_path: str):
  """Reads a pair once per worker process; all chunks of a split share it."""
  return idx_reader.read_pair(idx_reader.IdxPair(images_path, labels_path))


def _encode_chunk(bounds: Tuple[int, int], pair: idx_reader.IdxPair) -> Iterator[bytes]:
  images, labels = _load(pair.images_path, pair.labels_path)
  start, stop = bounds
  yield from mnist_example_encoding.encode_examples(images[start:stop], labels[start:stop])


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
  """Generic ExampleGen executor for IDX input, one PCollection per split."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    raise NotImplementedError("MNIST IDX splits are built in GenerateExamplesByBeam")

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]) -> Dict[str, beam.PCollection]:
    config = example_gen_pb2.Input()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY], config)
    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    result = {}
    for split in config.splits:
      if split.name not in SPLITS:
        raise ValueError(f"unknown MNIST split '{split.name}', expected one of {list(SPLITS)}")
      src = SPLITS[split.name]
      pair = idx_reader.find_pair(input_base, src.prefix)
      # Validate eagerly so that a bad file fails before Beam starts, with its name.
      images, _ = _load(pair.images_path, pair.labels_path)
      start, stop, _ = slice(src.start, src.stop).indices(len(images))
      chunks = [(i, min(i + _CHUNK, stop)) for i in range(start, stop, _CHUNK)]
      result[split.name] = (
          pipeline
          | f"Chunks[{split.name}]" >> beam.Create(chunks)
          | f"Encode[{split.name}]" >> beam.FlatMap(_encode_chunk, pair))
    return result
