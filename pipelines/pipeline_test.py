"""The graph builder: its components and wiring, caching, and that runners decide every location.

Built through the registered definitions, as the CLI and the runners build it, and
compiled to TFX's intermediate representation (what LocalDagRunner and the Kubeflow
compiler consume) to check that no path of this machine is baked in.
"""

import json
import os

import pytest
from tfx.dsl.compiler import compiler
from tfx.proto.orchestration import pipeline_pb2

from models.mnist import recipes
from pipelines import registry
from pipelines.definition import PipelineRuntime, Target

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A runner that places everything elsewhere (e.g. a Kubeflow image and a bucket).
REMOTE = PipelineRuntime(
    pipeline_root="gs://bucket/tfx/mnist_softmax", serving_dir="gs://bucket/serving/mnist",
    schema_uri="/pipeline/schemas/mnist/schema.pbtxt", enable_cache=False,
    beam_pipeline_args=("--runner=DataflowRunner", "--project=p"))


def _build(pipeline_name, runtime=REMOTE, data_uri="gs://bucket/data/mnist", model=None, **values):
  """The graph as a runner placing it on a cluster builds it (a compiled spec's)."""
  definition = registry.get(pipeline_name)
  config = definition.configure(model, values, {"epochs": None, "train_steps": None},
                                target=Target.CLUSTER, data_uri=data_uri)
  return definition.build(config, runtime)


def _by_id(pipeline):
  return {c.id: c for c in pipeline.components}


def test_mnist_graph_components_and_wiring():
  pipeline = _build("mnist", model="mlp")
  nodes = _by_id(pipeline)
  assert set(nodes) == {"MnistIdxExampleGen", "StatisticsGen", "ImportSchemaGen", "ServedBaseline",
                        "ExampleGate", "Transform", "Trainer", "Evaluator", "InfraValidator",
                        "Pusher"}
  examples = nodes["MnistIdxExampleGen"].outputs["examples"]
  schema = nodes["ImportSchemaGen"].outputs["schema"]
  assert nodes["StatisticsGen"].inputs["examples"] is examples
  assert nodes["StatisticsGen"].inputs["schema"] is schema
  assert nodes["Transform"].inputs["examples"] is examples
  assert nodes["Trainer"].inputs["examples"] is examples
  assert nodes["Trainer"].inputs["transform_graph"] is nodes["Transform"].outputs["transform_graph"]
  # The data gate: schema and drift against the served model's data; Transform waits for it.
  gate = nodes["ExampleGate"]
  assert gate.inputs["schema"] is schema
  assert gate.inputs["statistics"] is nodes["StatisticsGen"].outputs["statistics"]
  assert gate.inputs["baseline_statistics"] is nodes["ServedBaseline"].outputs["statistics"]
  assert gate in nodes["Transform"].upstream_nodes
  # The model gates: evaluation against the served model, and infra validation.
  assert nodes["Evaluator"].inputs["model"] is nodes["Trainer"].outputs["model"]
  assert nodes["Evaluator"].inputs["baseline_model"] is nodes["ServedBaseline"].outputs["model"]
  assert nodes["InfraValidator"].inputs["model"] is nodes["Trainer"].outputs["model"]
  assert nodes["Pusher"].inputs["model_blessing"] is nodes["Evaluator"].outputs["blessing"]
  assert nodes["Pusher"].inputs["infra_blessing"] is nodes["InfraValidator"].outputs["blessing"]
  assert nodes["Pusher"].inputs["statistics"] is nodes["StatisticsGen"].outputs["statistics"]
  assert not [n for n in nodes.values() if type(n).__name__ == "Resolver"]  # Kubeflow cannot run one
  assert pipeline.pipeline_info.pipeline_name == "mnist_mlp"
  custom_config = json.loads(nodes["Trainer"].exec_properties["custom_config"])
  assert recipes.TrainingRecipe.from_json(custom_config["recipe"]) == recipes.default_recipe("mlp")


def test_runtime_decides_root_schema_serving_beam_and_cache():
  pipeline = _build("mnist")
  nodes = _by_id(pipeline)
  assert pipeline.pipeline_info.pipeline_root == REMOTE.pipeline_root
  assert pipeline.enable_cache is False
  assert pipeline.beam_pipeline_args == list(REMOTE.beam_pipeline_args)
  assert pipeline.metadata_connection_config is None
  assert nodes["ImportSchemaGen"].exec_properties["schema_file"] == REMOTE.schema_uri
  assert REMOTE.serving_dir in nodes["Pusher"].exec_properties["push_destination"]
  assert nodes["ServedBaseline"].exec_properties["serving_dir"] == REMOTE.serving_dir
  assert nodes["MnistIdxExampleGen"].exec_properties["input_base"] == "gs://bucket/data/mnist"


@pytest.mark.parametrize("pipeline_name", ["mnist", "regression"])
def test_no_host_path_is_baked_in_when_a_runner_passes_uris(pipeline_name):
  """Compiled IR of a remotely placed pipeline mentions none of this machine's paths."""
  pipeline = _build(pipeline_name, data_uri="gs://bucket/data/mnist" if pipeline_name == "mnist" else None)
  ir = compiler.Compiler().compile(pipeline)
  assert isinstance(ir, pipeline_pb2.Pipeline)
  text = str(ir)
  for host_path in {PROJECT_DIR, os.getcwd(), os.path.expanduser("~"), "/tmp", "/work"}:
    assert host_path not in text, host_path


def test_regression_graph_compares_no_model_but_still_gates_its_data():
  nodes = _by_id(_build("regression", data_uri=None, examples=500, noise=0.0, seed=1))
  assert nodes["Evaluator"].inputs.get("baseline_model") is None
  assert nodes["ExampleGate"] in nodes["Transform"].upstream_nodes
  assert '"num_examples": 500' in nodes["RegressionExampleGen"].exec_properties["generator_config"]
