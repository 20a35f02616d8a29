"""IdempotentPusher publishes a SavedModel once, a different one as a new version."""

import os
import subprocess
import sys
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


def _push(tmp_path, model, base, run, statistics=None):
  blessing = standard_artifacts.ModelBlessing()
  blessing.set_int_custom_property("blessed", 1)
  pushed = standard_artifacts.PushedModel()
  pushed.uri = str(tmp_path / f"pushed{run}")
  destination = pusher_pb2.PushDestination(
      filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=base))
  inputs = {"model": [model], "model_blessing": [blessing]}
  if statistics is not None:
    inputs["statistics"] = [statistics]
  executor.Executor().Do(inputs, {"pushed_model": [pushed]},
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


def test_push_is_a_rename_of_a_complete_version_with_its_statistics(tmp_path):
  base = str(tmp_path / "serving")
  statistics = standard_artifacts.ExampleStatistics()
  statistics.uri = str(tmp_path / "stats")
  os.makedirs(os.path.join(statistics.uri, "Split-train"))
  (tmp_path / "stats" / "Split-train" / "FeatureStats.pb").write_bytes(b"stats")
  # A push killed mid-copy leaves only an .incoming directory (a name TF Serving ignores).
  dead = subprocess.Popen(["true"])
  dead.wait()
  os.makedirs(os.path.join(base, f".incoming-123-{dead.pid}"))
  pushed = _push(tmp_path, _model(tmp_path, "m", 3.0), base, 1, statistics)
  version = pushed.get_string_custom_property("pushed_version")
  assert os.listdir(base) == [version]  # the leftover of the dead push is gone
  stats = os.path.join(base, version, "assets.extra", "mnist_tfx", "train_statistics")
  assert open(os.path.join(stats, "Split-train", "FeatureStats.pb"), "rb").read() == b"stats"


def test_versions_never_collide_within_a_second(tmp_path):
  base = str(tmp_path / "serving")
  versions = [_push(tmp_path, _model(tmp_path, f"m{i}", float(i)), base, i)
              .get_string_custom_property("pushed_version") for i in range(3)]
  assert len(set(versions)) == 3 and versions == sorted(versions, key=int)


_PUSH_SCRIPT = """
import sys
from components.idempotent_pusher import executor
executor.push_atomically(sys.argv[1], sys.argv[2])
"""


def test_a_push_killed_mid_copy_leaves_no_version_visible(tmp_path):
  """SIGKILL while the files are being copied: TF Serving's directory shows no new version."""
  model = tmp_path / "model"
  model.mkdir()
  (model / "saved_model.pb").write_bytes(b"x")
  with open(model / "variables.data", "wb") as f:  # big enough that the copy takes a while
    f.truncate(1 << 30)
  base = tmp_path / "serving"
  base.mkdir()
  proc = subprocess.Popen([sys.executable, "-c", _PUSH_SCRIPT, str(model), str(base)],
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
  deadline = time.monotonic() + 60
  while not any(name.startswith(".incoming-") for name in os.listdir(base)):
    assert proc.poll() is None and time.monotonic() < deadline, "the push never started copying"
    time.sleep(0.01)
  time.sleep(0.2)
  assert proc.poll() is None, "the copy finished before it could be interrupted"
  proc.kill()
  proc.wait()
  names = os.listdir(base)
  assert not [n for n in names if n.isdigit()], names  # nothing TF Serving would load
  assert len(names) == 1 and names[0].startswith(".incoming-")
  # The next push removes the leftover and publishes a complete version.
  small = tmp_path / "small"
  small.mkdir()
  (small / "saved_model.pb").write_bytes(b"y")
  version = executor.push_atomically(str(small), str(base))
  assert os.listdir(base) == [version]
  assert (base / version / "saved_model.pb").read_bytes() == b"y"
