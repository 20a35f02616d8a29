"""Pipelines by name. Adding a pipeline means adding its definition here, nowhere else."""

from typing import Dict

from pipelines.definition import PipelineDefinition
from pipelines.mnist_pipeline import MnistDefinition
from pipelines.regression_pipeline import RegressionDefinition

PIPELINES: Dict[str, PipelineDefinition] = {
    definition.name: definition for definition in (MnistDefinition(), RegressionDefinition())
}


def get(name: str) -> PipelineDefinition:
  return PIPELINES[name]
