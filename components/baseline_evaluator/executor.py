"""Executor of BaselineEvaluator: drops a baseline marked absent, then TFX's Evaluator.

It also copies the candidate's overall metrics onto the ModelEvaluation artefact as
`metric:<name>` custom properties, so run history (`mnist-tfx runs`) reads them from
ML Metadata without loading TFMA and TensorFlow.
"""

import json
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.types import standard_component_specs

from components import gate_result
from components.baseline_evaluator import FAILED_THRESHOLDS, METRIC_PREFIX


class Executor(evaluator_executor.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    key = standard_component_specs.BASELINE_MODEL_KEY
    baseline = input_dict.get(key) or []
    if baseline and not gate_result.baseline_present(baseline[0]):
      logging.info("No model is served yet: evaluating without a baseline.")
      input_dict = {k: v for k, v in input_dict.items() if k != key}
    super().Do(input_dict, output_dict, exec_properties)
    for evaluation in output_dict.get(standard_component_specs.EVALUATION_KEY, []):
      for name, value in overall_metrics(evaluation.uri).items():
        evaluation.set_float_custom_property(METRIC_PREFIX + name, value)
      evaluation.set_string_custom_property(FAILED_THRESHOLDS, json.dumps(failed_thresholds(evaluation.uri)))


def _slice_name(slice_key) -> str:
  """'' for the overall slice, 'label 3: ' for the slice of examples whose label is 3."""
  parts = []
  for key in slice_key.single_slice_keys:
    kind = key.WhichOneof("kind")
    value = getattr(key, kind) if kind else ""
    parts.append(f"{key.column} {value.decode() if isinstance(value, bytes) else value}")
  return (", ".join(parts) + ": ") if parts else ""


def failed_thresholds(evaluation_uri: str) -> List[str]:
  """Human-readable failures from TFMA's validation result, e.g. 'within_tolerance 0.01 < 0.99',
  each prefixed with its slice when it is not the overall one ('label 3: ...')."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  result = tfma.load_validation_result(evaluation_uri)
  failures = []
  for per_slice in result.metric_validations_per_slice:
    where = _slice_name(per_slice.slice_key)
    for failure in per_slice.failures:
      bound = failure.metric_threshold.value_threshold
      value = failure.metric_value.double_value.value
      if failure.metric_key.is_diff:
        allowed = failure.metric_threshold.change_threshold.absolute.value
        failures.append(f"{where}{failure.metric_key.name} changed by {value:+.4g} against the served "
                        f"model (allowed {allowed:+g}; short by {abs(value - allowed):.4g})")
      elif bound.HasField("lower_bound") and value < bound.lower_bound.value:
        failures.append(f"{where}{failure.metric_key.name} {value:.4g} < lower bound {bound.lower_bound.value:g} "
                        f"(short by {bound.lower_bound.value - value:.4g})")
      elif bound.HasField("upper_bound") and value > bound.upper_bound.value:
        failures.append(f"{where}{failure.metric_key.name} {value:.4g} > upper bound {bound.upper_bound.value:g} "
                        f"(over by {value - bound.upper_bound.value:.4g})")
      else:
        failures.append(f"{where}{failure.metric_key.name}: {failure.message or 'threshold not met'}")
  return failures


def overall_metrics(evaluation_uri: str) -> Dict[str, float]:
  """The candidate's overall-slice metrics; `<name>_diff` for the change against the baseline."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  metrics = {}
  for slice_metrics in tfma.load_metrics(evaluation_uri):
    if slice_metrics.slice_key.single_slice_keys:
      continue
    for kv in slice_metrics.metric_keys_and_values:
      if kv.key.model_name == "baseline":
        continue  # the served model's own figures; the candidate's diff is kept
      value = kv.value.double_value.value
      metrics[f"{kv.key.name}_diff" if kv.key.is_diff else kv.key.name] = value
  return metrics
