"""How a gate component says "stop" (and how a baseline says "nothing served yet").

A gate that finds a problem returns an ExecutorOutput whose execution result
has code GATE_FAILED and a JSON message naming the gate and listing one line
per problem. TFX's launcher marks the execution FAILED, stores that result in
ML Metadata (custom property `__execution_result__`) and stops the pipeline:
nothing downstream runs. `read_failure` gets it back for the CLI and reports.
"""

import json
from typing import TYPE_CHECKING, List, Optional, Tuple

from ml_metadata.proto import metadata_store_pb2
# The proto module only: `read_failure` serves run history and reports, which must not
# pay for importing TFX (and TensorFlow) to read a line out of ML Metadata.
from tfx.proto.orchestration import execution_result_pb2

if TYPE_CHECKING:
  from tfx import types

GATE_FAILED = 3  # any non-zero code fails the execution; 3 mirrors the CLI's "nothing pushed"
_EXECUTION_RESULT = "__execution_result__"  # where TFX's launcher keeps the result in MLMD

BASELINE_PRESENT = "baseline_present"  # custom property on ServedBaseline outputs


def failed(gate: str, lines: List[str]) -> execution_result_pb2.ExecutorOutput:
  return execution_result_pb2.ExecutorOutput(execution_result=execution_result_pb2.ExecutionResult(
      code=GATE_FAILED, result_message=json.dumps({"gate": gate, "problems": lines})))


def read_failure(execution: metadata_store_pb2.Execution) -> Optional[Tuple[str, List[str]]]:
  """(gate, problem lines) if `execution` is a gate that stopped the run, else None."""
  value = execution.custom_properties.get(_EXECUTION_RESULT)
  if value is None or not value.string_value:
    return None
  result = execution_result_pb2.ExecutionResult()
  from google.protobuf import json_format  # pylint: disable=import-outside-toplevel
  json_format.Parse(value.string_value, result, ignore_unknown_fields=True)
  if result.code != GATE_FAILED:
    return None
  try:
    message = json.loads(result.result_message)
    return message["gate"], list(message["problems"])
  except (ValueError, KeyError, TypeError):
    return None


def baseline_present(artifact: "types.Artifact") -> bool:
  return bool(artifact.get_int_custom_property(BASELINE_PRESENT))
