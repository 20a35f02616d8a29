"""IdempotentPusher publishes a SavedModel once, a different one as a new version."""

import os
import time

import tensorflow as tf
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.idempotent_pusher import executor


def _model(tmp_path, name, value):
  module = tf.Module()
  module.v = tf.Variable(value)
  module.f = tf.function(lambda: module.v * 2.0, input_signature=[])
  model = standard_artifacts.Model()
  model.uri = str(tmp_path / name)
  tf.saved_model.save(module, os.path.join(model.uri, "Format-Serving"))
  return model


def _push(tmp_path, model, base, run):
  blessing = standard_artifacts.ModelBlessing()
  blessing.set_int_custom_property("blessed", 1)
  pushed = standard_artifacts.PushedModel()
  pushed.uri = str(tmp_path / f"pushed{run}")
  destination = pusher_pb2.PushDestination(
      filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=base))
  executor.Executor().Do({"model": [model], "model_blessing": [blessing]}, {"pushed_model": [pushed]},
                         {"push_destination": proto_utils.proto_to_json(destination)})
  return pushed


def test_same_model_keeps_its_version_and_a_new_model_gets_one(tmp_path):
  base = str(tmp_path / "serving")
  first_model = _model(tmp_path, "m1", 1.0)
  first = _push(tmp_path, first_model, base, 1)
  time.sleep(1.1)  # versions are unix seconds
  again = _push(tmp_path, first_model, base, 2)
  assert os.listdir(base) == [first.get_string_custom_property("pushed_version")]
  assert again.get_string_custom_property("pushed_version") == first.get_string_custom_property("pushed_version")
  assert again.get_int_custom_property("pushed") == 1
  assert os.path.isfile(os.path.join(again.uri, "saved_model.pb"))  # archived as usual

  other = _push(tmp_path, _model(tmp_path, "m2", 5.0), base, 3)
  assert len(os.listdir(base)) == 2
  loaded = tf.saved_model.load(other.get_string_custom_property("pushed_destination"))
  assert float(loaded.f()) == 10.0


def test_an_older_model_blessed_again_is_pushed_as_the_newest_version(tmp_path):
  """TF Serving serves the highest version: re-blessing an older model must make it that."""
  base = str(tmp_path / "serving")
  old_model, new_model = _model(tmp_path, "old", 1.0), _model(tmp_path, "new", 2.0)
  first = _push(tmp_path, old_model, base, 1)
  time.sleep(1.1)
  second = _push(tmp_path, new_model, base, 2)
  time.sleep(1.1)
  third = _push(tmp_path, old_model, base, 3)
  versions = sorted(os.listdir(base), key=int)
  assert len(versions) == 3
  assert third.get_string_custom_property("pushed_version") == versions[-1]
  assert third.get_string_custom_property("pushed_version") not in (
      first.get_string_custom_property("pushed_version"),
      second.get_string_custom_property("pushed_version"))
  assert executor.served_version(base) == versions[-1]
  assert float(tf.saved_model.load(os.path.join(base, versions[-1])).f()) == 2.0  # the old model
