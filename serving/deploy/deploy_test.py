"""The deployment files, parsed by what consumes them: TF Serving's protos, Kubernetes' models, bash."""

import os
import subprocess

import pytest
import yaml
from google.protobuf import text_format
from kubernetes import client as k8s
from tensorflow_serving.config import model_server_config_pb2

from schemas.mnist import contract as mnist
from schemas.regression import contract as regression
from serving.deploy import generate
from serving.model_server import config as server_config

HERE = os.path.dirname(os.path.abspath(__file__))


def _read(name):
  with open(os.path.join(HERE, name)) as f:
    return f.read()


def test_models_config_is_a_model_server_config():
  parsed = text_format.Parse(_read("models.config"), model_server_config_pb2.ModelServerConfig())
  models = {c.name: c for c in parsed.model_config_list.config}
  assert set(models) == {mnist.SERVING_MODEL_NAME, regression.SERVING_MODEL_NAME}
  for name, model in models.items():
    assert model.base_path == f"/models/{name}" and model.model_platform == "tensorflow"
    assert model.model_version_policy.latest.num_versions == 1


def test_monitoring_config_is_tf_servings_format():
  assert server_config.parse_monitoring_config(_read("monitoring.config")) == "/monitoring/prometheus/metrics"


def test_batching_parameters_are_tf_servings_format():
  params = server_config.parse_batching_parameters(_read("batching_parameters.txt"))
  assert params.max_batch_size == 32 and params.batch_timeout_micros == 1000
  assert params.num_batch_threads == 2


def test_docker_command():
  script = os.path.join(HERE, "docker-run.sh")
  assert subprocess.run(["bash", "-n", script]).returncode == 0
  text = _read("docker-run.sh")
  for flag in ("-p 8500:8500", "-p 8501:8501", "tensorflow/serving:", "--model_config_file=/config/models.config",
               "--enable_batching", "--batching_parameters_file=/config/batching_parameters.txt",
               "--monitoring_config_file=/config/monitoring.config",
               "--enable_grpc_healthcheck_service=true", "target=/models"):
    assert flag in text, flag


def _deserialize(document, kind):
  return k8s.ApiClient()._ApiClient__deserialize(document, kind)  # pylint: disable=protected-access


def test_kubernetes_deployment_and_service():
  deployment, service = yaml.safe_load_all(_read("kubernetes.yaml"))
  parsed = _deserialize(deployment, "V1Deployment")  # raises on a missing required field
  (container,) = parsed.spec.template.spec.containers
  assert container.image.startswith("tensorflow/serving:")
  assert {p.container_port for p in container.ports} == {8500, 8501}
  assert container.readiness_probe.http_get.path == "/v1/models/mnist"
  assert container.readiness_probe.http_get.port == 8501
  assert container.liveness_probe.grpc.port == 8500 and not container.liveness_probe.grpc.service
  assert container.liveness_probe.tcp_socket is None
  for flag in ("--model_config_file=/config/models.config", "--monitoring_config_file=/config/monitoring.config",
               "--enable_grpc_healthcheck_service=true"):
    assert flag in container.args, flag
  annotations = parsed.spec.template.metadata.annotations
  assert annotations["prometheus.io/path"] == server_config.parse_monitoring_config(_read("monitoring.config"))
  assert annotations["prometheus.io/port"] == "8501"
  assert {m.mount_path for m in container.volume_mounts} == {"/config", "/models"}
  assert parsed.spec.selector.match_labels == parsed.spec.template.metadata.labels
  svc = _deserialize(service, "V1Service")
  assert svc.spec.selector == parsed.spec.template.metadata.labels
  assert {p.port for p in svc.spec.ports} == {8500, 8501}
  with pytest.raises(ValueError, match="containers"):
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"] = None
    _deserialize(broken, "V1Deployment")


def test_kserve_inference_services():
  services = list(yaml.safe_load_all(_read("kserve.yaml")))
  assert [s["metadata"]["name"] for s in services] == [mnist.SERVING_MODEL_NAME, regression.SERVING_MODEL_NAME]
  for service in services:
    # The InferenceService CRD's required fields (serving.kserve.io/v1beta1).
    assert service["apiVersion"] == "serving.kserve.io/v1beta1" and service["kind"] == "InferenceService"
    model = service["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "tensorflow"
    probe = _deserialize(model["readinessProbe"], "V1Probe")  # the predictor embeds a V1Container
    assert probe.http_get.path == f"/v1/models/{service['metadata']['name']}" and probe.http_get.port == 8080
    assert model["storageUri"].endswith(f"/serving/{service['metadata']['name']}")


def test_generated_config_lists_the_pushed_models(tmp_path):
  for name, versions in (("mnist", ["17", "18"]), ("regression", ["3"]), ("empty", [])):
    for version in versions:
      os.makedirs(tmp_path / name / version)
    os.makedirs(tmp_path / name, exist_ok=True)
  models = server_config.parse_model_config(generate.models_config(str(tmp_path)))
  assert [(m.name, m.base_path) for m in models] == [
      ("mnist", str(tmp_path / "mnist")), ("regression", str(tmp_path / "regression"))]


def _labelled_config(tmp_path, labels):
  base = tmp_path / "serving" / "mnist"
  for version in (5, 6):
    (base / str(version)).mkdir(parents=True)
    (base / str(version) / "saved_model.pb").write_bytes(b"")
  path = tmp_path / "models.config"
  path.write_text(f'model_config_list {{ config {{ name: "mnist" base_path: "{base}" model_platform: "tensorflow" }} }}')
  from serving import model_config  # pylint: disable=import-outside-toplevel
  for label, version in labels:
    model_config.promote(str(path), "mnist", version, label)
  return str(path)


def _generate(*argv):
  return subprocess.run([os.sys.executable, "-m", "serving.deploy.generate", *argv], capture_output=True,
                        text=True, cwd=os.path.dirname(os.path.dirname(HERE)))


def test_kubernetes_canary_pins_each_track_to_its_label_and_splits_by_replicas(tmp_path):
  path = _labelled_config(tmp_path, [("stable", 5), ("canary", 6)])
  out = _generate("canary", "--model-config-file", path, "--model", "mnist", "--percent", "20")
  assert out.returncode == 0, out.stderr
  documents = list(yaml.safe_load_all(out.stdout))
  configs = {d["metadata"]["labels"]["track"]: d for d in documents if d["kind"] == "ConfigMap"}
  deployments = {d["metadata"]["labels"]["track"]: _deserialize(d, "V1Deployment")
                 for d in documents if d["kind"] == "Deployment"}
  (service,) = [_deserialize(d, "V1Service") for d in documents if d["kind"] == "Service"]
  assert {t: d.spec.replicas for t, d in deployments.items()} == {"stable": 8, "canary": 2}
  for track, version in (("stable", 5), ("canary", 6)):
    parsed = text_format.Parse(configs[track]["data"]["models.config"], model_server_config_pb2.ModelServerConfig())
    (entry,) = parsed.model_config_list.config
    assert list(entry.model_version_policy.specific.versions) == [version]
    deployment = deployments[track]
    assert deployment.spec.template.spec.volumes[0].config_map.name == configs[track]["metadata"]["name"]
    (container,) = deployment.spec.template.spec.containers
    assert container.readiness_probe.http_get.path == f"/v1/models/mnist/versions/{version}"
    # The one Service selects both tracks' pods.
    assert set(service.spec.selector.items()) <= set(deployment.spec.template.metadata.labels.items())
    assert deployment.spec.selector.match_labels == deployment.spec.template.metadata.labels


def test_kserve_canary_is_an_inference_service_with_canary_traffic_percent(tmp_path):
  path = _labelled_config(tmp_path, [("stable", 5), ("canary", 6)])
  out = _generate("canary", "--model-config-file", path, "--model", "mnist", "--percent", "10", "--kserve",
                  "--storage-uri", "gs://BUCKET/serving/mnist")
  assert out.returncode == 0, out.stderr
  (service,) = yaml.safe_load_all(out.stdout)
  assert service["apiVersion"] == "serving.kserve.io/v1beta1" and service["kind"] == "InferenceService"
  predictor = service["spec"]["predictor"]
  assert predictor["canaryTrafficPercent"] == 10  # v1beta1 PredictorSpec's field (ComponentExtensionSpec)
  assert predictor["model"]["storageUri"] == "gs://BUCKET/serving/mnist"
  _deserialize(predictor["model"]["readinessProbe"], "V1Probe")


@pytest.mark.parametrize("labels, argv, message", [
    ([("stable", 5)], ("--percent", "10"), "model mnist has no canary label"),
    ([("stable", 5), ("canary", 6)], ("--percent", "100"), "--percent 100: must be between 0 and 100"),
    ([("stable", 5), ("canary", 6)], ("--percent", "10", "--kserve"), "--kserve needs --storage-uri"),
])
def test_canary_without_what_it_needs_is_one_line(tmp_path, labels, argv, message):
  path = _labelled_config(tmp_path, labels)
  out = _generate("canary", "--model-config-file", path, "--model", "mnist", *argv)
  assert out.returncode == 2 and out.stdout == ""
  assert out.stderr.strip().startswith("generate: error: ") and message in out.stderr
  assert len(out.stderr.strip().splitlines()) == 1
