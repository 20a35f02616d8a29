"""The compiled Kubeflow spec: parsed by KFP's own protos and loader, checked task by task, golden.

TFX's kubeflow_v2_dag_runner_test compares compiled output with golden files after
normalising the SDK version; so does this test (runners/testdata/*.yaml). Regenerate
them after an intended change with `UPDATE_GOLDEN=1 make test ARGS=runners/kubeflow_v2_test.py`.
"""

import dataclasses
import importlib
import json
import os
import re

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines import registry
from pipelines.definition import Target
from runners import kubeflow_v2

IMAGE = "registry.example/mnist-tfx:1.0"
ROOT = "gs://example-bucket/tfx"
GOLDEN = os.path.join(os.path.dirname(__file__), "testdata")
_TASK_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")


def _compile(pipeline_name, model=None, data_uri=None, beam_args=(), target="kubeflow", **given):
  definition = registry.get(pipeline_name)
  config = definition.configure(model, given, {"epochs": None, "train_steps": None},
                                target=Target.CLUSTER, data_uri=data_uri)
  placement = kubeflow_v2.KubeflowPlacement(image=IMAGE, pipeline_root=ROOT, beam_args=beam_args)
  return kubeflow_v2.compile_pipeline(definition, config, placement, target=target)


CASES = {
    "mnist_softmax": lambda: _compile("mnist", "softmax", data_uri="gs://example-bucket/data/mnist"),
    "regression_linear": lambda: _compile("regression"),
    # --span-window 2: SpanWindow picks two spans per run for two ingestion positions.
    "mnist_softmax_window": lambda: _compile("mnist", "softmax", span_window=2,
                                             data_uri="gs://example-bucket/data/spans"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def compiled(request):
  return request.param, CASES[request.param]()


def test_parses_as_a_bare_pipeline_spec_with_no_unknown_fields(compiled):
  _, spec = compiled
  parsed = pipeline_spec_pb2.PipelineSpec()
  json_format.ParseDict(spec, parsed, ignore_unknown_fields=False)
  assert parsed.schema_version == "2.1.0"
  assert "displayName" not in spec and "runtimeConfig" not in spec  # not a PipelineJob
  assert parsed.default_pipeline_root == ROOT


def test_kfp_clients_own_loaders_accept_it(compiled, tmp_path):
  from kfp import components  # pylint: disable=import-outside-toplevel
  from kfp.client import client as kfp_client  # pylint: disable=import-outside-toplevel
  path = str(tmp_path / "pipeline.yaml")
  kubeflow_v2.write_spec(compiled[1], path)
  doc = kfp_client._extract_pipeline_yaml(path)  # what upload_pipeline sends  # pylint: disable=protected-access
  assert doc.pipeline_spec.schema_version == "2.1.0"
  component = components.load_component_from_file(path)
  assert component.pipeline_spec.root.dag.tasks


def test_every_task_executor_image_command_and_parameter(compiled):
  name, spec = compiled
  tasks = spec["root"]["dag"]["tasks"]
  for task_name, task in tasks.items():
    assert _TASK_NAME.match(task_name), task_name
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    assert container["image"] == IMAGE
    assert container["command"] == ["python", "-m", "runners.kubeflow_v2_entrypoint"]
    assert "lifecycle" not in container
    importlib.import_module(container["command"][2])
    executor_path = container["args"][container["args"].index("--executor_class_path") + 1]
    module, cls = executor_path.rsplit(".", 1)
    assert hasattr(importlib.import_module(module), cls), executor_path
    assert container["args"][container["args"].index("--json_serialized_invocation_args") + 1] == "{{$}}"
    for dependency in task.get("dependentTasks", []):
      assert dependency in tasks
    declared = component.get("inputDefinitions", {}).get("parameters", {})
    assert set(task.get("inputs", {}).get("parameters", {})) <= set(declared)
    for source in task.get("inputs", {}).get("parameters", {}).values():
      if "taskOutputParameter" in source:  # another task's output parameter: it must exist
        producer = source["taskOutputParameter"]
        assert producer["producerTask"] in task.get("dependentTasks", []), (task_name, producer)
        produced = spec["components"][tasks[producer["producerTask"]]["componentRef"]["name"]]
        assert producer["outputParameterKey"] in produced["outputDefinitions"]["parameters"]
  assert tasks["ServedBaseline"]["cachingOptions"] == {"enableCache": False}
  assert tasks["Trainer"]["cachingOptions"] == {"enableCache": True}
  assert not [t for t in tasks if "resolver" in t.lower()]
  text = json.dumps(spec)
  assert "/work" not in text and "/tmp" not in text and os.path.expanduser("~") not in text


def test_runtime_parameters_have_defaults(compiled):
  name, spec = compiled
  params = spec["root"]["inputDefinitions"]["parameters"]
  epochs = 10 if name.startswith("mnist") else 30
  assert params["epochs"] == {"parameterType": "NUMBER_INTEGER", "defaultValue": epochs}
  assert params["train_steps"] == {"parameterType": "NUMBER_INTEGER", "defaultValue": 0}
  trainer = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
  assert trainer["epochs"] == {"componentInputParameter": "epochs"}
  assert trainer["train_steps"] == {"componentInputParameter": "train_steps"}
  if name == "mnist_softmax":
    assert params["data_uri"] == {"parameterType": "STRING",
                                  "defaultValue": "gs://example-bucket/data/mnist"}
    example_gen = spec["root"]["dag"]["tasks"]["MnistIdxExampleGen"]["inputs"]["parameters"]
    assert example_gen["input_base"] == {"componentInputParameter": "data_uri"}


def test_beam_args_reach_every_beam_component():
  spec = _compile("regression", beam_args=["--direct_num_workers=2",
                                           "--direct_running_mode=multi_processing"])
  beam = {"RegressionExampleGen", "StatisticsGen", "Transform", "Evaluator"}
  for task in beam:
    label = spec["components"][task]["executorLabel"]
    assert "--direct_num_workers=2" in spec["deploymentSpec"]["executors"][label]["container"]["args"]


def test_vertex_keeps_tfxs_pipeline_job_form_with_the_same_task_fixes():
  """Before: --target vertex skipped the spec fixes — ServedBaseline was cached and the runtime
  parameters had no defaults, so `PipelineJob(...).submit()` with no arguments could not run."""
  job = _compile("mnist", "cnn", data_uri="gs://example-bucket/data/mnist", target="vertex")
  parsed = pipeline_spec_pb2.PipelineJob()
  json_format.ParseDict(job, parsed, ignore_unknown_fields=False)  # Vertex's own field names
  assert parsed.display_name == "mnist-cnn"
  assert parsed.runtime_config.gcs_output_directory == ROOT
  values = dict(parsed.runtime_config.parameter_values)
  assert {k: v.WhichOneof("kind") for k, v in values.items()} == {
      "epochs": "number_value", "train_steps": "number_value", "data_uri": "string_value"}
  assert (values["epochs"].number_value, values["train_steps"].number_value) == (2, 0)
  assert values["data_uri"].string_value == "gs://example-bucket/data/mnist"
  spec = job["pipelineSpec"]
  tasks = spec["root"]["dag"]["tasks"]
  assert tasks["ServedBaseline"]["cachingOptions"] == {"enableCache": False}
  assert tasks["Trainer"]["cachingOptions"] == {"enableCache": True}
  params = spec["root"]["inputDefinitions"]["parameters"]
  assert params["epochs"]["defaultValue"] == 2 and params["train_steps"]["defaultValue"] == 0
  assert params["data_uri"]["defaultValue"] == "gs://example-bucket/data/mnist"
  # The training node decides the precision: the recipe still says auto.
  assert _trainer_recipe(spec)["precision"] == "auto"


def _trainer_recipe(spec):
  custom_config = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["custom_config"]
  return json.loads(json.loads(custom_config["runtimeValue"]["constant"])["recipe"])


def test_mnist_compiled_from_tfds_has_no_data_parameter_and_no_host_path():
  """Before: compiling without --data-uri put this machine's MNIST path in the spec and chose
  the CNN's precision from the compiling CPU."""
  spec = _compile("mnist", "cnn", tfds=True)
  assert _trainer_recipe(spec)["precision"] == "auto"
  tasks = spec["root"]["dag"]["tasks"]
  assert "MnistTfdsExampleGen" in tasks and "MnistIdxExampleGen" not in tasks
  assert "data_uri" not in spec["root"]["inputDefinitions"]["parameters"]
  text = json.dumps(spec)
  assert "/work" not in text and "shared/data" not in text and os.path.expanduser("~") not in text


def _normalised(spec):
  spec = json.loads(json.dumps(spec))
  spec["sdkVersion"] = "tfx-VERSION"
  return spec


def test_golden(compiled):
  name, spec = compiled
  path = os.path.join(GOLDEN, f"{name}.yaml")
  if os.environ.get("UPDATE_GOLDEN"):
    with open(path, "w") as f:
      yaml.safe_dump(_normalised(spec), f, sort_keys=True)
  with open(path) as f:
    assert _normalised(spec) == yaml.safe_load(f)


def test_the_images_beam_harness_matches_the_pinned_beam():
  """A Beam worker whose SDK harness differs from the SDK that built the job refuses to run."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  with open(os.path.join(root, "constraints.txt")) as f:
    pinned = [l.split("==")[1].strip() for l in f if l.lower().startswith("apache-beam==")]
  with open(os.path.join(root, "Dockerfile")) as f:
    harness = re.findall(r"apache/beam_python3\.10_sdk:([\d.]+)", f.read())
  assert pinned and harness == pinned, (pinned, harness)


def test_tune_compiles_a_tuner_task_that_feeds_the_trainer():
  spec = _compile("mnist", "mlp", data_uri="gs://example-bucket/data/mnist", tune=4)
  tasks = spec["root"]["dag"]["tasks"]
  assert "Tuner" in tasks and "Tuner" in tasks["Trainer"].get("dependentTasks", [])
  hyperparameters = tasks["Trainer"]["inputs"]["artifacts"]["hyperparameters"]["taskOutputArtifact"]
  assert hyperparameters == {"producerTask": "Tuner", "outputArtifactKey": "best_hyperparameters"}
  config = json.loads(tasks["Tuner"]["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"])
  assert config["tune_trials"] == 4 and json.loads(config["recipe"])["model"] == "mlp"
  assert "Tuner" not in _compile("mnist", "mlp", data_uri="gs://example-bucket/data/mnist")["root"]["dag"]["tasks"]


def test_a_span_window_compiles_to_one_ingestion_task_per_position_fed_by_span_window():
  spec = CASES["mnist_softmax_window"]()
  tasks = spec["root"]["dag"]["tasks"]
  assert tasks["SpanWindow"]["cachingOptions"] == {"enableCache": False}  # spans arrive
  assert tasks["SpanWindow"]["inputs"]["parameters"]["examples_uri"] == {
      "componentInputParameter": "data_uri"}
  for position in (1, 2):
    gen = tasks[f"ImportExampleGen-window-{position}"]
    assert gen["cachingOptions"] == {"enableCache": True}
    assert gen["inputs"]["parameters"]["span"] == {"taskOutputParameter": {
        "producerTask": "SpanWindow", "outputParameterKey": f"span_{position}"}}
    assert gen["inputs"]["parameters"]["input_base"] == {"componentInputParameter": "data_uri"}
    for node in ("StatisticsGen", "ExampleGate"):
      assert f"{node}-window-{position}" in tasks
  # Transform and the Trainer read one artefact: TFX's Kubeflow compiler takes no union channel.
  for node in ("Transform", "Trainer"):
    assert tasks[node]["inputs"]["artifacts"]["examples"]["taskOutputArtifact"]["producerTask"] == "SpanUnion"
  evaluated = tasks["Evaluator"]["inputs"]["artifacts"]["examples"]["taskOutputArtifact"]
  assert evaluated["producerTask"] == "ImportExampleGen-window-2"  # the latest span's test split
  assert "MnistIdxExampleGen" not in tasks


@pytest.mark.parametrize("given, data_uri, message", [
    ({"span_window": 0}, "gs://b/spans", "--span-window 0: the window must be at least 1 span"),
    ({"span_window": 2}, None, "compile --span-window K needs --data-uri URI"),
])
def test_a_bad_span_window_is_refused_in_one_line(given, data_uri, message):
  from pipelines.definition import DefinitionError  # pylint: disable=import-outside-toplevel
  with pytest.raises(DefinitionError, match=re.escape(message)):
    registry.get("mnist").configure("softmax", given, {"epochs": None, "train_steps": None},
                                    target=Target.CLUSTER, data_uri=data_uri)
