"""Typed run configuration for the pipelines (no module globals)."""

import dataclasses
import os
from typing import List, Optional

# The shared real MNIST copy that sits beside the project in this workplace.
SHARED_MNIST_DIR = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist"))
SCHEMAS_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "schemas"))


def default_data_dir() -> Optional[str]:
  """../shared/data/mnist (from the project or the working dir) if it exists, else None (TFDS)."""
  for candidate in (os.path.join(os.getcwd(), "..", "shared", "data", "mnist"), SHARED_MNIST_DIR):
    if os.path.isdir(candidate):
      return os.path.normpath(candidate)
  return None


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  """Where a pipeline reads and writes, and how it runs."""
  pipeline_name: str
  serving_name: str  # <home>/serving/<serving_name>/<version>/, the TF Serving model name
  home: str = "tfx_home"
  enable_cache: bool = True
  # Empty = Beam's DirectRunner defaults (in_memory, 1 worker). Any flag here makes every
  # TFX Beam executor build an sdist of the project for remote workers (`setup.py sdist`
  # in a subprocess, 3.3 s of a local run); pass real flags only for a remote runner.
  beam_pipeline_args: List[str] = dataclasses.field(default_factory=list)

  @property
  def pipeline_root(self) -> str:
    return os.path.join(os.path.abspath(self.home), "pipelines", self.pipeline_name)

  @property
  def metadata_path(self) -> str:
    return os.path.join(os.path.abspath(self.home), "metadata.db")

  @property
  def serving_dir(self) -> str:
    """TF Serving model base path: <home>/serving/<name>/<version>/."""
    return os.path.join(os.path.abspath(self.home), "serving", self.serving_name)

  @property
  def log_dir(self) -> str:
    return os.path.join(os.path.abspath(self.home), "logs")


@dataclasses.dataclass(frozen=True)
class MnistConfig:
  """MNIST-specific inputs: the IDX directory (None = TFDS) and the schema."""
  data_dir: Optional[str]
  schema_dir: str = os.path.join(SCHEMAS_DIR, "mnist")
