"""The full MNIST pipeline with ML Metadata on a real MariaDB server, and its lineage from there."""

import os

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipelines import metadata
from tests import fixtures, mariadb

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]


def _require_mariadb():
  fixtures.require(mariadb.available(), "Debian's mariadb-server is not installed "
                   "(.ci/run installs it: apt-get install mariadb-server)")


def _producer(store, artifact_id):
  (event,) = [e for e in store.get_events_by_artifact_ids([artifact_id])
              if e.type == metadata_store_pb2.Event.OUTPUT]
  return store.get_executions_by_id([event.execution_id])[0]


def _inputs(store, execution_id, type_name):
  events = [e for e in store.get_events_by_execution_ids([execution_id])
            if e.type == metadata_store_pb2.Event.INPUT]
  artifacts = store.get_artifacts_by_id([e.artifact_id for e in events])
  return [a for a in artifacts if a.type == type_name]


def test_mnist_pipeline_on_mariadb_and_its_lineage(tmp_path):
  _require_mariadb()
  home = str(tmp_path / "home")
  with mariadb.server(str(tmp_path / "mariadb")) as url:
    _, summary = fixtures.run_pipeline(home, [
        "--pipeline", "mnist", "--model", "softmax", "--data-dir", fixtures.MNIST_DIR,
        "--metadata", url])
    assert summary["blessed"] and summary["pushed_path"]
    assert not any(name.endswith(".db") for _, _, files in os.walk(home) for name in files)

    # Lineage, from the MySQL store: pushed model <- Pusher <- model, blessing <- Evaluator,
    # model <- Trainer <- examples <- ExampleGen.
    store = metadata_store.MetadataStore(metadata.connection_config(url))
    (pushed,) = [a for a in store.get_artifacts_by_type("PushedModel")
                 if a.custom_properties["pushed_destination"].string_value == summary["pushed_path"]]
    pusher = _producer(store, pushed.id)
    (model,) = _inputs(store, pusher.id, "Model")
    (blessing,) = _inputs(store, pusher.id, "ModelBlessing")
    assert blessing.custom_properties["blessed"].int_value == 1
    assert model.uri == summary["model_uri"]
    trainer = _producer(store, model.id)
    (examples,) = _inputs(store, trainer.id, "Examples")
    assert _producer(store, examples.id).type.endswith("MnistIdxExampleGen")
    evaluator = _producer(store, blessing.id)
    assert [m.id for m in _inputs(store, evaluator.id, "Model") if m.id == model.id] == [model.id]
