"""Executor of BaselineEvaluator: drops a baseline marked absent, then TFX's Evaluator."""

from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.types import standard_component_specs

from components import gate_result


class Executor(evaluator_executor.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    key = standard_component_specs.BASELINE_MODEL_KEY
    baseline = input_dict.get(key) or []
    if baseline and not gate_result.baseline_present(baseline[0]):
      logging.info("No model is served yet: evaluating without a baseline.")
      input_dict = {k: v for k, v in input_dict.items() if k != key}
    super().Do(input_dict, output_dict, exec_properties)
