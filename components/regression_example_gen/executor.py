"""Beam executor of the regression ExampleGen: writes generator.py's data as tf.Examples."""

from typing import Any, Dict, Iterator, List, Tuple

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import write_split
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.components.util import examples_utils

from components.regression_example_gen.generator import CHUNK, GeneratorConfig, generate_chunk
from schemas.regression.contract import X_KEY, Y_KEY


def encode_range(bounds: Tuple[int, int], config: GeneratorConfig) -> Iterator[bytes]:
  start, stop = bounds
  for chunk in range(start // CHUNK, (stop - 1) // CHUNK + 1):
    x, y = generate_chunk(config, chunk)
    lo = max(start, chunk * CHUNK) - chunk * CHUNK
    hi = min(stop, (chunk + 1) * CHUNK) - chunk * CHUNK
    for xi, yi in zip(x[lo:hi], y[lo:hi]):
      yield tf.train.Example(features=tf.train.Features(feature={
          X_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=[xi])),
          Y_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=[yi])),
      })).SerializeToString()


class Executor(base_beam_executor.BaseBeamExecutor):
  """Writes each split as gzipped TFRecords of tf.Example, like every ExampleGen."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    config = GeneratorConfig.from_json(exec_properties["generator_config"])
    examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
    ranges = config.split_ranges()
    examples.split_names = artifact_utils.encode_split_names([name for name, _, _ in ranges])
    with self._make_beam_pipeline() as pipeline:
      for name, start, stop in ranges:
        bounds = [(i, min(i + CHUNK, stop)) for i in range(start, stop, CHUNK)]
        _ = (pipeline
             | f"Ranges[{name}]" >> beam.Create(bounds)
             | f"Generate[{name}]" >> beam.FlatMap(encode_range, config)
             | f"WriteSplit[{name}]" >> write_split.WriteSplit(
                 artifact_utils.get_split_uri([examples], name),
                 example_gen_pb2.FORMAT_TFRECORDS_GZIP, exec_properties))
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    examples_utils.set_file_format(examples, write_split.to_file_format_str(
        example_gen_pb2.FORMAT_TFRECORDS_GZIP))
