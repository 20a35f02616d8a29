"""Beam executor that turns the four MNIST IDX files into tf.Example splits.

The tutorial's `read_data_sets` split is reproduced exactly: `train` is the
first 55,000 records of the training file, `eval` the last 5,000 (the
tutorial's validation set) and `test` the 10,000 t10k records.
"""

import dataclasses
import functools
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import mnist_example_encoding, tfrecord_files
from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract

VALIDATION_SIZE = contract.VALIDATION_SIZE  # input_data.read_data_sets(validation_size=5000)
_CHUNK = 2000  # records per call of the C++ encoder


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


class WriteSplitFile(beam.DoFn):
  """Encodes one output file's records (tfx_bsl's C++ coder, _CHUNK at a time) and writes it
  (components/tfrecord_files.py): one Beam element per file, no per-record Beam work."""

  def __init__(self, pair: idx_reader.IdxPair, split_uri: str, temp_dir: str):
    self._pair, self._split_uri, self._temp_dir = pair, split_uri, temp_dir

  def process(self, shard: Tuple[int, int, int, int]) -> Iterator[str]:
    index, count, lo, hi = shard
    images, labels = _load(self._pair.images_path, self._pair.labels_path)
    blocks = (mnist_example_encoding.encode_examples(images[i:min(i + _CHUNK, hi)],
                                                     labels[i:min(i + _CHUNK, hi)])
              for i in range(lo, hi, _CHUNK))
    yield tfrecord_files.write_file(self._split_uri, self._temp_dir, index, count, blocks)


class Executor(base_beam_executor.BaseBeamExecutor):
  """Writes each MNIST split as gzipped TFRecords of tf.Example, as every ExampleGen does.

  Profiled on AVX2 (cProfile, the in-memory DirectRunner): TFX's generic ExampleGen path
  took 12.3 s for the 70,000 records, 10 s of it per record in Beam — the TFRecord sink
  (4.2 s, 2.6 s of that zlib called once a record) and write_split's Reshuffle. The
  regression ExampleGen's answer serves here too: a Beam element is a whole output file.

  Args (Do): input_base (the IDX files' folder) and input_config (the splits, from
  input_config()) in exec_properties; output_dict["examples"], the Examples artefact.
  """

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    del input_dict
    config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], config)
    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
    plan = []
    for split in config.splits:
      if split.name not in SPLITS:
        raise ValueError(f"unknown MNIST split '{split.name}', expected one of {list(SPLITS)}")
      src = SPLITS[split.name]
      pair = idx_reader.find_pair(input_base, src.prefix)
      # Validate eagerly so that a bad file fails before Beam starts, with its name.
      images, _ = _load(pair.images_path, pair.labels_path)
      start, stop, _ = slice(src.start, src.stop).indices(len(images))
      plan.append((split.name, pair, start, stop))
    examples.split_names = artifact_utils.encode_split_names([name for name, *_ in plan])
    # Temp files beside the splits, not in them: readers glob Split-<name>/*.
    temp_dir = FileSystems.join(examples.uri, f".temp-{uuid.uuid4().hex}")
    FileSystems.mkdirs(temp_dir)
    with self._make_beam_pipeline() as pipeline:
      for name, pair, start, stop in plan:
        split_uri = artifact_utils.get_split_uri([examples], name)
        FileSystems.mkdirs(split_uri)
        _ = (pipeline
             | f"Files[{name}]" >> beam.Create(tfrecord_files.shards(start, stop))
             | f"Write[{name}]" >> beam.ParDo(WriteSplitFile(pair, split_uri, temp_dir)))
    FileSystems.delete([temp_dir])
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    examples_utils.set_file_format(examples, write_split.to_file_format_str(
        example_gen_pb2.FORMAT_TFRECORDS_GZIP))
