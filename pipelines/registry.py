"""Pipelines by name. Adding a pipeline means adding its definition here, nowhere else."""

from typing import Dict, Optional

from pipelines.definition import PipelineDefinition
from pipelines.mnist_pipeline import MnistDefinition
from pipelines.regression_pipeline import RegressionDefinition

PIPELINES: Dict[str, PipelineDefinition] = {
    definition.name: definition for definition in (MnistDefinition(), RegressionDefinition())
}


def get(name: str) -> PipelineDefinition:
  return PIPELINES[name]


def owner_of(pipeline_name: str) -> Optional[PipelineDefinition]:
  """The definition whose TFX pipeline `pipeline_name` (e.g. mnist_cnn) is, if any."""
  return next((d for d in PIPELINES.values() if d.owns(pipeline_name)), None)
