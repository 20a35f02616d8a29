"""ServingInfraValidator's verdicts, on real SavedModels served by the project's model server.

Executor.Do runs as the pipeline runs it: a Model artefact (its SavedModel under
Format-Serving) in, an InfraBlessing out, in tmp dirs. The blessing is read back as
TFX's Pusher reads it (tfx/components/util/model_utils.is_infra_validated).
"""

import ast
import glob
import os

import numpy as np
import tensorflow as tf
from tfx.components.util import model_utils
from tfx.types import standard_artifacts
from tfx.utils import path_utils

from components.infra_validator import BLESSED_KEY, MESSAGE_KEY, executor
from serving import warmup


def _model(tmp_path, answer, with_warmup=True):
  """A Model artefact: serving_default maps x [None] float32 to {"y": answer(x)}."""
  module = tf.Module()
  module.scale = tf.Variable(2.0)
  module.serve = tf.function(lambda x: {"y": answer(x * module.scale)},
                             input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
  model = standard_artifacts.Model()
  model.uri = str(tmp_path / "model")
  path = path_utils.serving_model_path(model.uri)
  tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
  if with_warmup:
    warmup.write(path, [warmup.predict_log("serving_default", {"x": np.array([1.0, 2.0], np.float32)})])
  return model, path


def _validate(tmp_path, model):
  blessing = standard_artifacts.InfraBlessing()
  blessing.uri = str(tmp_path / "blessing")
  os.makedirs(blessing.uri)
  executor.Executor().Do({"model": [model]}, {"blessing": [blessing]},
                         {"serving_model_name": "candidate", "timeout_seconds": 60})
  return blessing


def _not_blessed(blessing):
  assert blessing.get_int_custom_property(BLESSED_KEY) == 0
  assert not model_utils.is_infra_validated(blessing)  # the Pusher will not push it
  assert sorted(os.listdir(blessing.uri)) == ["INFRA_NOT_BLESSED"]
  return blessing.get_string_custom_property(MESSAGE_KEY)


def test_a_model_that_loads_and_answers_is_blessed(tmp_path):
  """The control: the same set-up blesses a sound model, so the failures below are the model's."""
  model, _ = _model(tmp_path, lambda y: y)
  blessing = _validate(tmp_path, model)
  assert blessing.get_int_custom_property(BLESSED_KEY) == 1
  assert model_utils.is_infra_validated(blessing)
  assert sorted(os.listdir(blessing.uri)) == ["INFRA_BLESSED"]
  assert blessing.get_string_custom_property(MESSAGE_KEY) == (
      "loaded and answered 1 canary requests (predict)")


def test_a_model_the_server_cannot_load_is_not_blessed(tmp_path):
  """A copy that lost its variables' data: saved_model.pb is there, the load fails."""
  model, path = _model(tmp_path, lambda y: y)
  (data,) = glob.glob(os.path.join(path, "variables", "variables.data-*"))
  os.remove(data)
  message = _not_blessed(_validate(tmp_path, model))
  assert message.startswith("the model server could not load the model: "), message
  assert "variables" in message, message


def test_a_canary_answered_with_nan_is_not_blessed(tmp_path):
  """It loads, and its warmup replays without error: only the canary's check of the answer fails."""
  model, _ = _model(tmp_path, lambda y: y * float("nan"))
  assert _not_blessed(_validate(tmp_path, model)) == (
      "predict serving_default: output y is not finite")


def test_a_model_without_warmup_records_is_not_blessed(tmp_path):
  model, path = _model(tmp_path, lambda y: y, with_warmup=False)
  assert _not_blessed(_validate(tmp_path, model)) == (
      f"no warmup requests in {warmup.warmup_path(path)}: nothing to send as the canary")


def test_an_empty_warmup_file_is_no_canary_either(tmp_path):
  model, path = _model(tmp_path, lambda y: y, with_warmup=False)
  os.makedirs(os.path.dirname(warmup.warmup_path(path)))
  with tf.io.TFRecordWriter(warmup.warmup_path(path)):
    pass  # a TFRecord file of no records
  assert _not_blessed(_validate(tmp_path, model)).startswith("no warmup requests in ")


def test_the_property_names_have_one_definition():
  """The run view reads them from components/infra_validator/__init__.py without TFX; the
  executor that writes them must not keep copies that could drift."""
  with open(executor.__file__) as f:
    tree = ast.parse(f.read())
  assigned = {target.id for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)}
  assert not assigned & {"BLESSED_KEY", "MESSAGE_KEY"}, assigned
  assert (executor.BLESSED_KEY, executor.MESSAGE_KEY) == (BLESSED_KEY, MESSAGE_KEY)
