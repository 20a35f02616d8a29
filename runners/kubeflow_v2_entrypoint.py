"""The container entrypoint a compiled Kubeflow spec calls (`python -m runners.kubeflow_v2_entrypoint`).

TFX's own entrypoint, `tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`,
was written for Vertex AI Pipelines. On the open-source KFP v2 backend two things
break, and this wrapper mends both without changing TFX:

1. KFP's launcher passes upstream artifacts with an empty `instanceSchema`
   (tensorflow/tfx#7768); TFX then reads the artifact class from it and fails
   (`AttributeError: 'NoneType' object has no attribute 'get'`). The compiled
   spec carries each input's type in `--json_serialized_inputs_spec_args`, so
   an input artifact with no type gets it back from there.
2. TFX's entrypoint ignores what `Executor.Do` returns, so a gate that stops
   the run by returning a failed ExecutorOutput (components/gate_result.py)
   would look like success to KFP and training would go on. Here such a result
   ends the task with exit code 3 and the gate's lines on stderr: KFP marks the
   task failed and runs nothing downstream.
"""

import models  # noqa: F401  (first: the Keras 2 switch, before anything imports TensorFlow)

import json
import sys
from typing import Any, Dict, List, Optional

from absl import app

EXIT_GATE_STOPPED = 3
_WRAPPED_NAME = "GateAwareExecutor"


def restore_input_types(executor_input: Dict[str, Any], inputs_spec: Dict[str, Any]) -> int:
  """Fills each input artifact's empty type from the component's inputs spec; returns how many."""
  fixed = 0
  declared = inputs_spec.get("artifacts", {})
  for name, artifact_list in executor_input.get("inputs", {}).get("artifacts", {}).items():
    artifact_type = declared.get(name, {}).get("artifactType")
    if not artifact_type:
      continue
    for artifact in artifact_list.get("artifacts", []):
      current = artifact.get("type") or {}
      if not (current.get("instanceSchema") or current.get("schemaTitle")):
        artifact["type"] = dict(artifact_type)
        fixed += 1
  return fixed


class GateStopped(SystemExit):
  """A gate returned a failed execution result."""


def _gate_aware(executor_cls):
  """A subclass whose Do turns a failed ExecutorOutput into GateStopped."""

  class GateAwareExecutor(executor_cls):  # pylint: disable=too-few-public-methods

    def Do(self, input_dict, output_dict, exec_properties):  # pylint: disable=invalid-name
      result = super().Do(input_dict, output_dict, exec_properties)
      code = getattr(getattr(result, "execution_result", None), "code", 0)
      if code:
        message = result.execution_result.result_message
        try:
          parsed = json.loads(message)
          lines = [f"{parsed['gate']} stopped the run:"] + [f"  {p}" for p in parsed["problems"]]
        except (ValueError, KeyError, TypeError):
          lines = [message]
        sys.stderr.write("\n".join(lines) + "\n")
        raise GateStopped(EXIT_GATE_STOPPED)
      return result

  GateAwareExecutor.__name__ = GateAwareExecutor.__qualname__ = _WRAPPED_NAME
  return GateAwareExecutor


def _flag(argv: List[str], name: str) -> Optional[int]:
  return argv.index(name) + 1 if name in argv and argv.index(name) + 1 < len(argv) else None


def prepare_argv(argv: List[str]) -> List[str]:
  """The arguments for TFX's entrypoint: input types restored, executor wrapped."""
  from tfx.utils import import_utils  # pylint: disable=import-outside-toplevel
  argv = list(argv)
  invocation, spec = _flag(argv, "--json_serialized_invocation_args"), _flag(
      argv, "--json_serialized_inputs_spec_args")
  if invocation is not None and spec is not None:
    executor_input = json.loads(argv[invocation])
    if restore_input_types(executor_input, json.loads(argv[spec])):
      argv[invocation] = json.dumps(executor_input)
  executor = _flag(argv, "--executor_class_path")
  if executor is not None:
    setattr(sys.modules[__name__], _WRAPPED_NAME,
            _gate_aware(import_utils.import_class_by_path(argv[executor])))
    argv[executor] = f"{__name__}.{_WRAPPED_NAME}"
  return argv


def main() -> None:
  from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor  # pylint: disable=import-outside-toplevel
  argv = [sys.argv[0]] + prepare_argv(sys.argv[1:])
  app.run(kubeflow_v2_run_executor.main, argv=argv, flags_parser=kubeflow_v2_run_executor._parse_flags)  # pylint: disable=protected-access


if __name__ == "__main__":
  main()
