"""Beam executor that reads MNIST through tensorflow-datasets (for online users).

Each split's pattern is a TFDS split expression; the records are encoded
exactly as the IDX ExampleGen encodes them.
"""

from typing import Any, Dict, Iterator

import apache_beam as beam
import numpy as np
from tfx.components.example_gen import base_example_gen_executor

from components import mnist_example_encoding

TFDS_NAME = "mnist"


def _load_and_encode(split: str) -> Iterator[bytes]:
  import tensorflow_datasets as tfds  # heavy import, only where this source is used
  dataset = tfds.load(TFDS_NAME, split=split, shuffle_files=False).batch(2000)
  for batch in tfds.as_numpy(dataset):
    yield from mnist_example_encoding.encode_examples(
        np.asarray(batch["image"], dtype=np.uint8), np.asarray(batch["label"]))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(bytes)
def _TfdsToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],
                   split_pattern: str) -> beam.PCollection:
  del exec_properties
  return (pipeline
          | "Split" >> beam.Create([split_pattern])
          | "LoadAndEncode" >> beam.FlatMap(_load_and_encode))


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
  """ExampleGen executor whose split patterns are TFDS split expressions."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    return _TfdsToExample
