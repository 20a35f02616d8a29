"""Executor of ExampleGate (see component.py).

A gate failure is not a crash: the executor returns an ExecutorOutput whose
execution result has code GATE_FAILED and, as its message, a JSON object
{"gate": ..., "problems": [one line per anomaly]} (components/gate_result.failed).
TFX's launcher then marks the execution FAILED, keeps that result in ML Metadata
(`__execution_result__`) and stops the pipeline; the CLI reads it back and exits 3
(nothing pushed) printing the lines. The project's Kubeflow entrypoint turns the
same result into a failed task.
"""

import os
from typing import Any, Dict, List, Optional

import tensorflow_data_validation as tfdv
from absl import logging
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2
from tfx import types
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.proto.orchestration import execution_result_pb2
from tfx.types import artifact_utils
from tfx.utils import io_utils, writer_utils

from components import gate_result

SCHEMA_DIFF_FILE = "SchemaDiff.pb"  # ExampleValidator's file name, so readers need not care
DRIFT_SPLIT = "train"  # the data the next model learns from


def anomaly_lines(split: str, anomalies: anomalies_pb2.Anomalies) -> List[str]:
  """One line per anomalous feature: split, feature, and TFDV's own description."""
  lines = []
  for feature, info in sorted(anomalies.anomaly_info.items()):
    reasons = "; ".join(r.description or r.short_description for r in info.reason)
    lines.append(f"split {split}, feature {feature}: {reasons or info.description}")
  if anomalies.HasField("dataset_anomaly_info"):
    reasons = "; ".join(r.description for r in anomalies.dataset_anomaly_info.reason)
    lines.append(f"split {split}, dataset: {reasons}")
  return lines


def _baseline(input_dict) -> Optional[statistics_pb2.DatasetFeatureStatisticsList]:
  artifacts = input_dict.get("baseline_statistics") or []
  if not artifacts or not gate_result.baseline_present(artifacts[0]):
    return None  # nothing served yet: no drift to measure
  return stats_artifact_utils.load_statistics(artifacts[0], DRIFT_SPLIT).proto()


class Executor(base_executor.BaseExecutor):
  """Validates each split; returns a failed result if any anomaly is found."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> execution_result_pb2.ExecutorOutput:
    del exec_properties
    statistics = artifact_utils.get_single_instance(input_dict["statistics"])
    schema = io_utils.SchemaReader().read(
        io_utils.get_only_uri_in_dir(artifact_utils.get_single_uri(input_dict["schema"])))
    anomalies_artifact = artifact_utils.get_single_instance(output_dict["anomalies"])
    splits = artifact_utils.decode_split_names(statistics.split_names)
    anomalies_artifact.split_names = artifact_utils.encode_split_names(splits)
    baseline = _baseline(input_dict)
    lines = []
    for split in splits:
      stats = stats_artifact_utils.load_statistics(statistics, split).proto()
      previous = baseline if split == DRIFT_SPLIT else None
      anomalies = tfdv.validate_statistics(stats, schema, previous_statistics=previous)
      writer_utils.write_anomalies(
          os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split), SCHEMA_DIFF_FILE),
          anomalies)
      lines += anomaly_lines(split, anomalies)
    drift = "against the served model's training data" if baseline else "no served model yet"
    if lines:
      logging.error("ExampleGate: %d anomalies (%s):\n%s", len(lines), drift, "\n".join(lines))
      return gate_result.failed("ExampleGate", lines)
    logging.info("ExampleGate: no anomalies in %s (drift: %s)", ", ".join(splits), drift)
    return None
