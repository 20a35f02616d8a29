"""A test tool: runs a compiled KFP v2 PipelineSpec here, task by task, as KFP's v2 launcher does.

Not an orchestrator for users. It exists to prove that what `mnist-tfx compile
--target kubeflow` writes really runs: every task's container command runs as a
subprocess with the ExecutorInput JSON (`{{$}}`) the launcher would build —
input parameters (constants and pipeline parameters, typed), upstream artefacts
(as KFP's open-source backend passes them: URI, metadata, and an *empty*
instanceSchema, tensorflow/tfx#7768), upstream tasks' output parameters
(`taskOutputParameter`), output artefacts under the pipeline root, output
parameters and `outputFile` — in topological order of `dependentTasks`. The
executor output file is read back into the artefacts' metadata and the output
parameters for downstream tasks, a failed task stops everything downstream, and
tasks with caching enabled are reused under KFP's cache key (inputs, output
types, command, image; not the task name). Object-store URIs
(gs://, s3://, minio://) are mapped to a local directory.
"""

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from typing import Any, Dict, List, Optional

_URI = re.compile(r"\b(gs|s3|minio)://")


@dataclasses.dataclass
class TaskResult:
  name: str
  status: str  # "succeeded", "cached", "failed", "skipped"
  seconds: float = 0.0
  stderr: str = ""


@dataclasses.dataclass
class RunResult:
  run_id: str
  tasks: Dict[str, TaskResult]
  outputs: Dict[str, Dict[str, List[Dict[str, Any]]]]  # task -> output key -> artefacts

  @property
  def succeeded(self) -> bool:
    return all(t.status in ("succeeded", "cached") for t in self.tasks.values())


class LocalLauncher:
  """Runs `spec` with object stores under `store_root`; the cache persists across runs."""

  def __init__(self, spec: Dict[str, Any], store_root: str, python: str = sys.executable,
               env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
               image_paths: Optional[Dict[str, str]] = None):
    """`image_paths` maps paths inside the container image (e.g. /pipeline/schemas) to here."""
    self.spec, self.store_root, self.python = spec, store_root, python
    self.env, self.cwd = env, cwd
    self.image_paths = dict(image_paths or {})
    self._cache_path = os.path.join(store_root, "kfp-cache.json")

  def local(self, uri: str) -> str:
    uri = _URI.sub(lambda m: f"{self.store_root}/{m.group(1)}/", uri)
    for inside, here in self.image_paths.items():
      uri = uri.replace(inside, here)
    return uri

  def _order(self) -> List[str]:
    tasks = self.spec["root"]["dag"]["tasks"]
    done, order = set(), []
    while len(order) < len(tasks):
      ready = sorted(n for n, t in tasks.items()
                     if n not in done and set(t.get("dependentTasks", [])) <= done)
      if not ready:
        raise ValueError("the task graph has a cycle")
      order += ready
      done |= set(ready)
    return order

  def _parameters(self, task, component, run_parameters, task_parameters) -> Dict[str, Any]:
    types = {k: v.get("parameterType") for k, v in
             component.get("inputDefinitions", {}).get("parameters", {}).items()}
    values = {}
    for name, source in task.get("inputs", {}).get("parameters", {}).items():
      if "componentInputParameter" in source:
        value = run_parameters[source["componentInputParameter"]]
      elif "taskOutputParameter" in source:  # an upstream task's output parameter
        producer = source["taskOutputParameter"]
        value = task_parameters[producer["producerTask"]][producer["outputParameterKey"]]
      else:
        value = source["runtimeValue"]["constant"]
      if types.get(name) == "NUMBER_INTEGER":
        value = int(value)
      elif isinstance(value, str):
        value = self.local(value)
      values[name] = value
    return values

  def run(self, parameters: Optional[Dict[str, Any]] = None) -> RunResult:
    import time  # pylint: disable=import-outside-toplevel
    run_id = uuid.uuid4().hex[:12]
    root = self.local(self.spec["defaultPipelineRoot"])
    declared = self.spec["root"].get("inputDefinitions", {}).get("parameters", {})
    run_parameters = {k: v.get("defaultValue") for k, v in declared.items()}
    run_parameters.update(parameters or {})
    cache = json.load(open(self._cache_path)) if os.path.exists(self._cache_path) else {}
    results: Dict[str, TaskResult] = {}
    outputs: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    task_parameters: Dict[str, Dict[str, Any]] = {}  # task -> output parameter -> value
    for name in self._order():
      task = self.spec["root"]["dag"]["tasks"][name]
      if any(results[d].status in ("failed", "skipped") for d in task.get("dependentTasks", [])):
        results[name] = TaskResult(name, "skipped")
        continue
      component = self.spec["components"][task["componentRef"]["name"]]
      container = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
      inputs = {"parameterValues": self._parameters(task, component, run_parameters,
                                                    task_parameters),
                "artifacts": {}}
      for key, source in task.get("inputs", {}).get("artifacts", {}).items():
        producer = source["taskOutputArtifact"]
        upstream = outputs[producer["producerTask"]][producer["outputArtifactKey"]]
        # As KFP's open-source backend passes them: the type's instanceSchema is empty.
        inputs["artifacts"][key] = {"artifacts": [
            {**a, "type": {"instanceSchema": ""}} for a in upstream]}
      output_definitions = component.get("outputDefinitions", {})
      # KFP's cache key (backend/src/v2/cacheutils/cache.go, GenerateCacheKey): the input
      # artefacts' names and parameter values, the outputs' types, command, args and image —
      # not the task's name, so the same work under another task name is reused.
      cache_key = hashlib.sha256(json.dumps([
          {k: [a["name"] for a in v["artifacts"]] for k, v in inputs["artifacts"].items()},
          inputs["parameterValues"],
          {k: d["artifactType"] for k, d in output_definitions.get("artifacts", {}).items()},
          {k: d.get("parameterType") for k, d in output_definitions.get("parameters", {}).items()},
          container.get("command"), container.get("args"), container.get("image"),
      ], sort_keys=True).encode()).hexdigest()
      if task.get("cachingOptions", {}).get("enableCache") and cache_key in cache:
        outputs[name] = cache[cache_key]["artifacts"]
        task_parameters[name] = cache[cache_key]["parameters"]
        results[name] = TaskResult(name, "cached")
        continue
      task_dir = os.path.join(root, run_id, name)
      out_artifacts = {}
      for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
        out_artifacts[key] = {"artifacts": [{
            "name": f"{run_id}/{name}/{key}", "uri": os.path.join(task_dir, key),
            "type": definition["artifactType"], "metadata": {}}]}
      output_file = os.path.join(task_dir, "executor_output.json")
      out_parameters = {key: {"outputFile": os.path.join(task_dir, "parameters", key)}
                        for key in output_definitions.get("parameters", {})}
      executor_input = {"inputs": inputs,
                        "outputs": {"artifacts": out_artifacts, "parameters": out_parameters,
                                    "outputFile": output_file}}
      command = [self.python if c == "python" else c for c in container["command"]]
      args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container.get("args", [])]
      os.makedirs(task_dir, exist_ok=True)
      started = time.monotonic()
      proc = subprocess.run(command + args, capture_output=True, text=True, env=self.env,
                            cwd=self.cwd or task_dir, timeout=1800)
      seconds = time.monotonic() - started
      if proc.returncode != 0:
        results[name] = TaskResult(name, "failed", seconds, proc.stderr)
        continue
      published = {k: [dict(a) for a in v["artifacts"]] for k, v in out_artifacts.items()}
      parameters = {}
      if os.path.exists(output_file):
        with open(output_file) as f:
          executor_output = json.load(f)
        parameters = dict(executor_output.get("parameterValues", {}))
        for key, artifact_list in executor_output.get("artifacts", {}).items():
          for artifact, written in zip(published[key], artifact_list.get("artifacts", [])):
            artifact["metadata"] = written.get("metadata", {})
            artifact["uri"] = written.get("uri", artifact["uri"])
      missing = set(out_parameters) - set(parameters)
      if missing:
        results[name] = TaskResult(name, "failed", seconds,
                                   f"output parameters {sorted(missing)} not written")
        continue
      outputs[name], task_parameters[name] = published, parameters
      results[name] = TaskResult(name, "succeeded", seconds)
      if task.get("cachingOptions", {}).get("enableCache"):
        cache[cache_key] = {"artifacts": published, "parameters": parameters}
    with open(self._cache_path, "w") as f:
      json.dump(cache, f)
    return RunResult(run_id, results, outputs)
