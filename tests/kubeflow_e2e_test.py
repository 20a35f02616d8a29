"""The compiled Kubeflow pipelines really run: task by task, as KFP's v2 launcher runs them.

`mnist-tfx compile --target kubeflow` writes a spec for a cluster: gs:// pipeline
and serving roots, the schema at the image's /pipeline/schemas, every task's
command `python -m runners.kubeflow_v2_entrypoint` with KFP's ExecutorInput.
tests/kfp_launcher.py runs each task's container command here with the inputs
KFP's open-source backend would pass (object-store URIs mapped to a directory),
so the same entrypoint, components and artefacts run as on the cluster, minus
Kubernetes. MNIST must push a model that reaches the softmax tutorial's 0.92,
regression one that predicts 2x + 1 within 0.01, and a second MNIST run must
reuse the cached data tasks and warm-start its Trainer from the served model.
Regression runs from a bucket folder of spans compiled with `--span-window 2`: when a
third span arrives, the next run ingests only it.
"""

import glob
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import yaml

from components import pushed_model
from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract as mnist_contract
from schemas.regression import contract as regression_contract
from serving.client import mnist as mnist_client
from tests import fixtures
from tests.kfp_launcher import LocalLauncher

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BUCKET = "gs://tfx-bucket"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _compile(tmp_path, pipeline, *extra):
  out = str(tmp_path / f"{pipeline}.yaml")
  proc = fixtures.run_cli(["compile", "--pipeline", pipeline, "--target", "kubeflow",
                           "--image", "registry.example/mnist-tfx:test",
                           "--pipeline-root", f"{BUCKET}/tfx", "--serving-root",
                           f"{BUCKET}/serving", "--output", out, *extra])
  assert proc.returncode == 0, proc.stderr
  with open(out) as f:
    return yaml.safe_load(f)


def _launcher(spec, store):
  return LocalLauncher(spec, store, cwd=REPO,
                       image_paths={"/pipeline/schemas": os.path.join(REPO, "schemas")})


def _pushed(store, model):
  root = os.path.join(store, "gs", "tfx-bucket", "serving", model)
  versions = sorted((v for v in os.listdir(root) if v.isdigit()), key=int) if os.path.isdir(root) else []
  return root, versions


def _failures(result):
  return {n: t.stderr[-3000:] for n, t in result.tasks.items() if t.status == "failed"}


@pytest.fixture(scope="module")
def mnist_runs(tmp_path_factory):
  fixtures.require(fixtures.mnist_available(), "real MNIST (../shared/data/mnist)")
  tmp = tmp_path_factory.mktemp("kfp_mnist")
  store = str(tmp / "store")
  # The data as the cluster would hold it: in the bucket.
  shutil.copytree(fixtures.MNIST_DIR, os.path.join(store, "gs", "tfx-bucket", "data", "mnist"))
  spec = _compile(tmp, "mnist", "--model", "softmax", "--data-uri", f"{BUCKET}/data/mnist")
  launcher = _launcher(spec, store)
  first = launcher.run()
  assert first.succeeded, _failures(first)
  _, after_first = _pushed(store, mnist_contract.SERVING_MODEL_NAME)
  second = launcher.run()
  return spec, store, first, after_first, second


def test_mnist_spec_runs_to_a_pushed_model_at_tutorial_accuracy(mnist_runs):
  _, store, first, after_first, _ = mnist_runs
  assert all(t.status == "succeeded" for t in first.tasks.values())
  assert len(after_first) == 1
  root, _ = _pushed(store, mnist_contract.SERVING_MODEL_NAME)
  serve = tf.saved_model.load(os.path.join(root, after_first[0])).signatures["serving_default"]
  images = idx_reader.read_images(os.path.join(fixtures.MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
  labels = idx_reader.read_labels(os.path.join(fixtures.MNIST_DIR, "t10k-labels-idx1-ubyte.gz"))
  examples = [mnist_client.example_bytes(image) for image in images]  # all 10,000
  classes = serve(examples=tf.constant(examples))["classes"].numpy().reshape(-1)
  accuracy = float(np.mean(classes == labels))
  assert accuracy >= 0.92, accuracy
  # The warmup requests the InfraValidator replayed travel with the pushed model.
  assert os.path.isfile(os.path.join(root, after_first[0], "assets.extra",
                                     "tf_serving_warmup_requests"))


def test_second_run_reuses_the_data_tasks_and_warm_starts_from_what_is_served(mnist_runs):
  spec, store, _, after_first, second = mnist_runs
  assert second.succeeded, _failures(second)
  status = {name: t.status for name, t in second.tasks.items()}
  for cached in ("MnistIdxExampleGen", "StatisticsGen", "Transform"):
    names = [n for n in status if n.startswith(cached)]
    assert names and all(status[n] == "cached" for n in names), status
  baseline = [n for n in status if n.startswith("ServedBaseline")]
  assert baseline and status[baseline[0]] == "succeeded", status
  assert spec["root"]["dag"]["tasks"][baseline[0]]["cachingOptions"] == {"enableCache": False}
  # --warm-start auto compiles TFX's base_model edge from ServedBaseline: the second run's
  # Trainer gets the version the first pushed, and starts from its weights.
  trainer = [n for n in status if n.startswith("Trainer")]
  assert trainer and status[trainer[0]] == "succeeded", status
  records = []
  for path in glob.glob(os.path.join(store, "**", pushed_model.TRAINING_RECORD), recursive=True):
    with open(path) as f:
      records.append(json.load(f))
  assert after_first[0] in [r["warm_start_from"] for r in records], records


def _trained_epochs(model_run_dir):
  """Epochs the Trainer ran: Keras' TensorBoard callback logs one epoch_loss per epoch."""
  events = tf.io.gfile.glob(os.path.join(model_run_dir, "train", "events.out.tfevents.*"))
  return sum(1 for path in events for event in tf.compat.v1.train.summary_iterator(path)
             for value in event.summary.value if value.tag == "epoch_loss")


@pytest.fixture(scope="module")
def regression_window_runs(tmp_path_factory):
  """regression compiled with `--span-window 2` over a bucket folder of spans: run on spans
  1 and 2 (with the epochs parameter one above the compiled value), publish span 3, run
  again. The generated-data spec is compiled and checked in runners/kubeflow_v2_test.py."""
  tmp = tmp_path_factory.mktemp("kfp_regression")
  store = str(tmp / "store")
  spans = os.path.join(store, "gs", "tfx-bucket", "data", "spans")
  for span in (1, 2):
    fixtures.publish_regression_span(spans, span, seed=span)
  spec = _compile(tmp, "regression", "--data-uri", f"{BUCKET}/data/spans", "--span-window", "2")
  epochs = int(spec["root"]["inputDefinitions"]["parameters"]["epochs"]["defaultValue"]) + 1
  launcher = _launcher(spec, store)
  first = launcher.run({"epochs": epochs})
  assert first.succeeded, _failures(first)
  _, after_first = _pushed(store, regression_contract.SERVING_MODEL_NAME)
  fixtures.publish_regression_span(spans, 3, seed=3)
  second = launcher.run()
  return store, epochs, first, after_first, second


def _span(result, task):
  (artifact,) = result.outputs[task]["examples"]
  return int(artifact["metadata"]["span"])


def test_regression_spec_runs_and_predicts_2x_plus_1(regression_window_runs):
  store, epochs, first, after_first, _ = regression_window_runs
  (trainer,) = [name for name in first.outputs if name.startswith("Trainer")]
  # The run-time epochs parameter, one more than compiled, reached the recipe.
  assert _trained_epochs(first.outputs[trainer]["model_run"][0]["uri"]) == epochs
  root, _ = _pushed(store, regression_contract.SERVING_MODEL_NAME)
  assert len(after_first) == 1
  loaded = tf.saved_model.load(os.path.join(root, after_first[0]))
  predict_x = loaded.signatures[regression_contract.PREDICT_X_SIGNATURE]
  x = np.linspace(0.0, 1.0, 11, dtype=np.float32).reshape(-1, 1)
  (y,) = predict_x(**{regression_contract.PREDICT_X_INPUT: tf.constant(x)}).values()
  np.testing.assert_allclose(y.numpy().reshape(-1), 2 * x.reshape(-1) + 1, atol=0.01)


def test_a_compiled_window_takes_the_latest_spans_and_ingests_each_once(regression_window_runs):
  _, _, first, _, second = regression_window_runs
  assert second.succeeded, _failures(second)
  assert [_span(first, f"ImportExampleGen-window-{p}") for p in (1, 2)] == [1, 2]
  assert [_span(second, f"ImportExampleGen-window-{p}") for p in (1, 2)] == [2, 3]
  status = {name: t.status for name, t in second.tasks.items()}
  # Span 2 moved from position 2 to 1: KFP's cache key holds no task name, so its ingestion
  # and statistics are reused; span 3 is new work; SpanWindow looks at the folder every run.
  assert status["ImportExampleGen-window-1"] == status["StatisticsGen-window-1"] == "cached", status
  assert status["ImportExampleGen-window-2"] == status["StatisticsGen-window-2"] == "succeeded", status
  assert status["SpanWindow"] == "succeeded" and status["Trainer"] == "succeeded", status
  (union,) = second.outputs["SpanUnion"]["examples"]
  assert union["metadata"]["spans"] == "2,3"
  train = glob.glob(os.path.join(union["uri"], "Split-train", "*"))
  assert sorted(os.path.basename(f).split("-data")[0] for f in train) == ["span-2", "span-3"]


def test_a_failed_task_stops_what_depends_on_it(tmp_path):
  """A data URI with no MNIST in it: ExampleGen fails, nothing downstream runs or is pushed."""
  store = str(tmp_path / "store")
  os.makedirs(os.path.join(store, "gs", "tfx-bucket", "empty"))
  spec = _compile(tmp_path, "mnist", "--model", "softmax", "--data-uri", f"{BUCKET}/data/mnist")
  result = _launcher(spec, store).run({"data_uri": f"{BUCKET}/empty"})
  status = {name: t.status for name, t in result.tasks.items()}
  gen = [n for n in status if n.startswith("MnistIdxExampleGen")]
  assert gen and status[gen[0]] == "failed", status
  assert all(s == "skipped" for n, s in status.items() if n.startswith(("Trainer", "Pusher"))), status
  assert _pushed(store, mnist_contract.SERVING_MODEL_NAME)[1] == []


def test_compile_refuses_a_local_pipeline_root(tmp_path):
  proc = fixtures.run_cli(["compile", "--pipeline", "regression", "--target", "kubeflow",
                           "--image", "registry.example/x:1", "--pipeline-root", str(tmp_path),
                           "--output", str(tmp_path / "p.yaml")])
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
  assert not (tmp_path / "p.yaml").exists()
