"""MnistIdxExampleGen: a FileBasedExampleGen for the classic MNIST IDX files."""

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components.mnist_idx_example_gen import executor


class MnistIdxExampleGen(FileBasedExampleGen):
  """Reads `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` from a directory.

  Outputs gzipped TFRecords of tf.Example (`image`: 784 int64, `label`: int64)
  in the splits `train` (55,000), `eval` (5,000) and `test` (10,000). The
  FileBasedDriver fingerprints the files, so a rerun on unchanged data is
  served from the cache.
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, data_dir: str):
    super().__init__(input_base=data_dir, input_config=executor.input_config())
