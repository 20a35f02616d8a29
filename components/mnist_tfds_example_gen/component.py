"""MnistTfdsExampleGen: MNIST from tensorflow-datasets, same records as the IDX source."""

from typing import Dict

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.mnist_tfds_example_gen import executor
from schemas.mnist import contract


def tfds_splits() -> Dict[str, str]:
  """The tutorial split as TFDS split expressions over TFDS's 60,000/10,000 MNIST.

  train = the first 55,000 training images, eval = the rest of them, test = the test set.
  """
  train = contract.SPLIT_SIZES[contract.TRAIN_SPLIT]
  return {contract.TRAIN_SPLIT: f"train[:{train}]",
          contract.EVAL_SPLIT: f"train[{train}:]",
          contract.TEST_SPLIT: "test"}


class MnistTfdsExampleGen(QueryBasedExampleGen):
  """Downloads (once, into the TFDS data dir) and encodes MNIST via `tfds.load`."""

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self):
    super().__init__(input_config=example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=name, pattern=pattern)
        for name, pattern in tfds_splits().items()
    ]))
