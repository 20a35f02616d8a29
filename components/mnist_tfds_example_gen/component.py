"""MnistTfdsExampleGen: MNIST from tensorflow-datasets, same records as the IDX source."""

from tfx.components.example_gen.component import QueryBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.mnist_tfds_example_gen import executor

# The tutorial split: 55,000 train, the last 5,000 training images as eval, the test set.
TFDS_SPLITS = {"train": "train[:55000]", "eval": "train[55000:]", "test": "test"}


class MnistTfdsExampleGen(QueryBasedExampleGen):
  """Downloads (once, into the TFDS data dir) and encodes MNIST via `tfds.load`."""

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self):
    super().__init__(input_config=example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=name, pattern=pattern)
        for name, pattern in TFDS_SPLITS.items()
    ]))
