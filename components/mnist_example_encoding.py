"""tf.Example encoding shared by every MNIST source (IDX files and TFDS).

Both ExampleGens must produce identical tf.Examples so that the schema,
Transform and the serving signature do not care where the data came from.
"""

from typing import List

import numpy as np
import pyarrow as pa
from tfx_bsl.coders import example_coder

from schemas.mnist.contract import IMAGE_KEY, LABEL_KEY, NUM_PIXELS


def _fixed_length_lists(values: np.ndarray, length: int) -> pa.ListArray:
  offsets = np.arange(0, values.size + 1, length, dtype=np.int32)
  return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.reshape(-1).astype(np.int64)))


def encode_examples(images: np.ndarray, labels: np.ndarray) -> List[bytes]:
  """Serialized tf.Examples for uint8 images [N, 28, 28] (or [N, 784]) and labels [N].

  tfx_bsl's C++ RecordBatch encoder writes the same tf.Examples as building
  them with protobuf in Python (encoding_test checks), 13x faster:
  the profiler put 6 of MnistIdxExampleGen's 12 s in the Python loop.
  """
  labels = np.asarray(labels)
  if len(images) != len(labels):
    raise ValueError(f"{len(images)} images but {len(labels)} labels")
  if not len(images):
    return []
  batch = pa.RecordBatch.from_arrays(
      [_fixed_length_lists(np.asarray(images).reshape(len(images), NUM_PIXELS), NUM_PIXELS),
       _fixed_length_lists(labels, 1)],
      [IMAGE_KEY, LABEL_KEY])
  return example_coder.RecordBatchToExamples(batch)
