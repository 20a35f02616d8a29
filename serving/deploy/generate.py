"""Deployment files generated from what was pushed and from TF Serving's model config file.

    python -m serving.deploy.generate tfx_home/serving > models.config
    python -m serving.deploy.generate canary --model-config-file models.config --model mnist \
        --percent 10 --storage-uri gs://BUCKET/serving/mnist [--kserve] > canary.yaml

The first writes a models.config for every model pushed under a serving directory (for
`mnist-tfx serve` or TF Serving). The second turns the labels `mnist-tfx promote` wrote
(`stable`, `canary`) into a canary rollout. Weighted routing is not TF Serving's job (it
declined it: tensorflow/serving #1274, #1519), so the split happens in front of it:

- Kubernetes (default): two TF Serving Deployments behind one Service, `stable` serving
  only the stable version and `canary` only the canary one (each its own models.config,
  `specific` policy, in a ConfigMap); the Service selects both, so the canary's share of
  traffic is its share of the replicas (--replicas in all, at least one each).
- KServe (--kserve): the model's InferenceService with `canaryTrafficPercent`. Applied
  over the running one, KServe routes that percentage to the new revision (TF Serving
  serving the newest version under storageUri, the canary just pushed) and the rest to
  the last ready revision, the stable one; `canaryTrafficPercent: 100` (or removing it)
  promotes, re-applying the previous storageUri rolls back (KServe's canary rollout).
"""

import argparse
import os
import sys
from typing import Dict, List

import yaml

SERVING_IMAGE = "tensorflow/serving:2.16.1"  # the TF Serving release the protos are pinned to
KSERVE_RUNTIME_VERSION = "2.16.1"


def models_config(serving_root: str) -> str:
  """TF Serving model_config_list text: one model per subdirectory holding integer versions."""
  root = os.path.abspath(serving_root)
  names = sorted(name for name in os.listdir(root)
                 if os.path.isdir(os.path.join(root, name))
                 and any(v.isdigit() for v in os.listdir(os.path.join(root, name))))
  entries = "".join(f'  config {{\n    name: "{name}"\n    base_path: "{os.path.join(root, name)}"\n'
                    f'    model_platform: "tensorflow"\n  }}\n' for name in names)
  return f"model_config_list {{\n{entries}}}\n"


class CanaryError(ValueError):
  """The config file has no stable/canary pair to roll out; str() is one line."""


def canary_versions(config_path: str, model: str) -> Dict[str, int]:
  """{"stable": V, "canary": W} from the model's version_labels in TF Serving's config file."""
  from serving import model_config  # pylint: disable=import-outside-toplevel
  try:
    labels = dict(model_config.entry(model_config.read(config_path), model).version_labels)
  except model_config.ModelConfigError as e:
    raise CanaryError(str(e)) from None
  missing = [label for label in ("stable", "canary") if label not in labels]
  if missing:
    raise CanaryError(f"{config_path}: model {model} has no {' or '.join(missing)} label "
                      "(mnist-tfx promote --label stable|canary sets them)")
  return {"stable": labels["stable"], "canary": labels["canary"]}


def _single_version_config(model: str, version: int) -> str:
  return (f'model_config_list {{\n  config {{\n    name: "{model}"\n    base_path: "/models/{model}"\n'
          f'    model_platform: "tensorflow"\n    model_version_policy {{ specific {{ versions: {version} }} }}\n'
          f'  }}\n}}\n')


def kubernetes_canary(model: str, versions: Dict[str, int], percent: float, replicas: int = 10) -> List[dict]:
  """ConfigMaps, stable and canary Deployments and one Service: the canary gets `percent` of
  the replicas (rounded, at least one of each)."""
  canary_replicas = min(replicas - 1, max(1, round(replicas * percent / 100)))
  app = f"{model}-serving"
  documents = []
  for track, count in (("stable", replicas - canary_replicas), ("canary", canary_replicas)):
    name = f"{app}-{track}"
    labels = {"app": app, "track": track}
    documents.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
                      "data": {"models.config": _single_version_config(model, versions[track])}})
    documents.append({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"mnist-tfx/version": str(versions[track])}},
        "spec": {"replicas": count, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [{
                    "name": "tensorflow-serving", "image": SERVING_IMAGE,
                    "args": ["--model_config_file=/config/models.config",
                             "--enable_grpc_healthcheck_service=true"],
                    "ports": [{"name": "grpc", "containerPort": 8500}, {"name": "http", "containerPort": 8501}],
                    "readinessProbe": {"httpGet": {"path": f"/v1/models/{model}/versions/{versions[track]}",
                                                   "port": 8501}, "periodSeconds": 5},
                    "livenessProbe": {"grpc": {"port": 8500}, "initialDelaySeconds": 15, "periodSeconds": 20},
                    "volumeMounts": [{"name": "config", "mountPath": "/config", "readOnly": True},
                                     {"name": "models", "mountPath": "/models", "readOnly": True}]}],
                "volumes": [{"name": "config", "configMap": {"name": name}},
                            {"name": "models", "persistentVolumeClaim": {"claimName": "mnist-tfx-models",
                                                                          "readOnly": True}}]}}}})
  documents.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "labels": {"app": app}},
                    "spec": {"selector": {"app": app},
                             "ports": [{"name": "grpc", "port": 8500, "targetPort": "grpc"},
                                       {"name": "http", "port": 8501, "targetPort": "http"}]}})
  return documents


def kserve_canary(model: str, versions: Dict[str, int], percent: float, storage_uri: str) -> List[dict]:
  """The model's InferenceService rolling out the newest version under storage_uri to `percent`."""
  return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": model, "annotations": {
               "mnist-tfx/stable-version": str(versions["stable"]),
               "mnist-tfx/canary-version": str(versions["canary"])}},
           "spec": {"predictor": {
               "canaryTrafficPercent": int(percent),
               "model": {"modelFormat": {"name": "tensorflow"}, "storageUri": storage_uri,
                         "runtimeVersion": KSERVE_RUNTIME_VERSION,
                         "readinessProbe": {"httpGet": {"path": f"/v1/models/{model}", "port": 8080},
                                            "periodSeconds": 5}}}}}]


def _canary_main(argv: List[str]) -> int:
  parser = argparse.ArgumentParser(prog="python -m serving.deploy.generate canary",
                                   description="a canary rollout from the stable and canary labels")
  parser.add_argument("--model-config-file", required=True)
  parser.add_argument("--model", required=True)
  parser.add_argument("--percent", type=float, required=True, help="the canary's share of traffic, 1-99")
  parser.add_argument("--replicas", type=int, default=10, help="Kubernetes: replicas in all (default 10)")
  parser.add_argument("--kserve", action="store_true", help="a KServe InferenceService instead")
  parser.add_argument("--storage-uri", help="KServe: the model's push destination (gs://BUCKET/serving/mnist)")
  args = parser.parse_args(argv)
  try:
    if not 0 < args.percent < 100:
      raise CanaryError(f"--percent {args.percent:g}: must be between 0 and 100")
    if args.replicas < 2:
      raise CanaryError(f"--replicas {args.replicas}: a stable and a canary need at least 2")
    if args.kserve and not args.storage_uri:
      raise CanaryError("--kserve needs --storage-uri (the model's push destination)")
    versions = canary_versions(args.model_config_file, args.model)
  except CanaryError as e:
    print(f"generate: error: {e}", file=sys.stderr)
    return 2
  documents = (kserve_canary(args.model, versions, args.percent, args.storage_uri) if args.kserve
               else kubernetes_canary(args.model, versions, args.percent, args.replicas))
  sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False))
  return 0


if __name__ == "__main__":
  if sys.argv[1:2] == ["canary"]:
    sys.exit(_canary_main(sys.argv[2:]))
  if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
    sys.exit("usage: python -m serving.deploy.generate SERVING_DIR > models.config\n"
             "       python -m serving.deploy.generate canary --model-config-file F --model M --percent P")
  sys.stdout.write(models_config(sys.argv[1]))
