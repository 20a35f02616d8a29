"""IdempotentPusher publishes a SavedModel once, a different one as a new version, never half of one.

Object-store pushes run against TensorFlow's ram:// filesystem: a real non-POSIX
filesystem (no directory rename), in this process.
"""

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import tensorflow as tf
from tfx.dsl.io import filesystem
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components import pushed_model
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
  assert pushed_model.served_version(base) == versions[-1]
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
executor.push_version(sys.argv[1], sys.argv[2])
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
  version = executor.push_version(str(small), str(base))
  assert os.listdir(base) == [version]
  assert (base / version / "saved_model.pb").read_bytes() == b"y"


def test_a_partial_version_is_neither_served_nor_taken_for_the_model(tmp_path):
  """A version without saved_model.pb (a failed object-store push that could not clean up)
  has the new model's fingerprint.pb: pushing that model again must still make a version."""
  base = str(tmp_path / "serving")
  first = _push(tmp_path, _model(tmp_path, "a", 1.0), base, 1).get_string_custom_property("pushed_version")
  model = _model(tmp_path, "b", 2.0)
  partial = os.path.join(base, str(int(first) + 1))
  os.makedirs(os.path.join(partial, "variables"))
  for name in ("fingerprint.pb", "variables/variables.index"):
    tf.io.gfile.copy(os.path.join(model.uri, "Format-Serving", name), os.path.join(partial, name))
  assert pushed_model.served_version(base) == first
  pushed = _push(tmp_path, model, base, 2)
  version = pushed.get_string_custom_property("pushed_version")
  assert int(version) > int(partial.rsplit("/", 1)[-1])
  assert pushed_model.served_version(base) == version
  assert float(tf.saved_model.load(os.path.join(base, version)).f()) == 4.0


def _files(root):
  """{relative path: size} of every file under root (any filesystem gfile knows).

  ram:// lists a directory by key prefix: `assets/` also shows `.extra` of a sibling
  `assets.extra/` (tensorflow/core/platform/ram_file_system.h GetChildren). Such a
  name does not exist; it is left out.
  """
  root = root.rstrip("/")
  found = {}
  for d, _, names in tf.io.gfile.walk(root):
    for name in names:
      path = os.path.join(d, name)
      if tf.io.gfile.exists(path):
        found[os.path.join(d[len(root):].lstrip("/"), name)] = tf.io.gfile.stat(path).length
  return found


def _big_model(tmp_path):
  """A real SavedModel whose variables file (16 MiB) takes a while to copy."""
  module = tf.Module()
  module.v = tf.Variable(tf.fill([4 << 20], 1.5))
  module.f = tf.function(lambda: module.v[0] * 2.0, input_signature=[])
  model = standard_artifacts.Model()
  model.uri = str(tmp_path / "big")
  tf.saved_model.save(module, os.path.join(model.uri, "Format-Serving"))
  return model


def _watch_versions(base, stop, seen):
  """Until stop: whenever a version's saved_model.pb is visible, records which of its other
  files were incomplete right after (a file only grows, so they were incomplete before)."""
  while not stop.is_set():
    try:
      names = [n.rstrip("/") for n in tf.io.gfile.listdir(base)]
      for name in filter(str.isdigit, names):
        version_dir = os.path.join(base, name)
        pb = tf.io.gfile.exists(os.path.join(version_dir, "saved_model.pb"))
        files = _files(version_dir)
        if pb:
          seen["incomplete_at_pb"] |= {p for p, size in seen["expected"].items()
                                       if files.get(p) != size}
        elif files:
          seen["partial_without_pb"] = True
    except tf.errors.NotFoundError:  # the base is not there yet, or a file went as it was listed
      continue


def _statistics(tmp_path):
  statistics = standard_artifacts.ExampleStatistics()
  statistics.uri = str(tmp_path / "stats")
  os.makedirs(os.path.join(statistics.uri, "Split-train"))
  (tmp_path / "stats" / "Split-train" / "FeatureStats.pb").write_bytes(b"stats")
  return statistics


def test_a_push_to_an_object_store_is_complete_and_saved_model_pb_comes_last(tmp_path):
  store = f"ram://{uuid.uuid4().hex}"
  base = f"{store}/serving/mnist"
  model = _big_model(tmp_path)
  statistics = _statistics(tmp_path)
  expected = _files(os.path.join(model.uri, "Format-Serving"))
  expected[os.path.join(pushed_model.STATISTICS_DIR, "Split-train", "FeatureStats.pb")] = 5
  seen = {"expected": expected, "incomplete_at_pb": set(), "partial_without_pb": False}
  stop = threading.Event()
  watcher = threading.Thread(target=_watch_versions, args=(base, stop, seen))
  watcher.start()
  try:
    pushed = _push(tmp_path, model, base, 1, statistics)
  finally:
    stop.set()
    watcher.join()
  version = pushed.get_string_custom_property("pushed_version")
  assert tf.io.gfile.listdir(base) == [version]
  assert tf.io.gfile.listdir(f"{store}/serving") == ["mnist"]  # the staging copy is gone
  assert _files(os.path.join(base, version)) == expected
  assert float(tf.saved_model.load(os.path.join(base, version)).f()) == 3.0
  assert pushed_model.served_version(base) == version
  # TF Serving aspires the version from its first file on; it must not load before the rest.
  assert not seen["incomplete_at_pb"], f"saved_model.pb was visible before {seen['incomplete_at_pb']}"
  assert seen["partial_without_pb"], "the copy was never seen in progress"
  # The same model again: already served, nothing copied.
  again = _push(tmp_path, model, base, 2)
  assert again.get_string_custom_property("pushed_version") == version
  assert tf.io.gfile.listdir(base) == [version]


def test_an_object_store_push_that_conflicts_part_way_leaves_nothing_loadable(tmp_path):
  """Another pusher chose the same version and wrote variables.index first: a real conflict,
  met after fingerprint.pb and the variables data were copied (name order, saved_model.pb last)."""
  store = f"ram://{uuid.uuid4().hex}"
  base = f"{store}/serving/mnist"
  model_path = os.path.join(_model(tmp_path, "m", 3.0).uri, "Format-Serving")
  theirs = os.path.join(base, "1700000000", "variables", "variables.index")
  tf.io.gfile.makedirs(os.path.dirname(theirs))
  with tf.io.gfile.GFile(theirs, "wb") as f:
    f.write(b"the other pusher's")
  with pytest.raises(tf.errors.AlreadyExistsError):
    executor.push_to_object_store(model_path, str(_statistics(tmp_path).uri), base, "1700000000")
  # What it copied before the conflict is removed; the other pusher's file is left alone.
  assert _files(os.path.join(base, "1700000000")) == {"variables/variables.index": 18}
  assert tf.io.gfile.listdir(f"{store}/serving") == ["mnist"]  # the staging copy is gone
  assert pushed_model.versions(base) == [1700000000]
  assert pushed_model.served_version(base) is None
  # The next push numbers above the partial version and publishes a whole one.
  version = executor.push_version(model_path, base)
  assert int(version) > 1700000000
  assert pushed_model.served_version(base) == version
  assert float(tf.saved_model.load(os.path.join(base, version)).f()) == 6.0


def test_an_object_store_push_whose_source_fails_shows_nothing(tmp_path):
  """A source that cannot be read (a dangling file in the statistics) fails while staging,
  before anything is under the base path, and the staging copy is removed."""
  store = f"ram://{uuid.uuid4().hex}"
  base = f"{store}/serving/mnist"
  statistics = _statistics(tmp_path)
  os.symlink(str(tmp_path / "gone"), os.path.join(statistics.uri, "Split-train", "Z.pb"))
  with pytest.raises(filesystem.NotFoundError):
    _push(tmp_path, _model(tmp_path, "m", 3.0), base, 1, statistics)
  assert tf.io.gfile.listdir(base) == []
  assert tf.io.gfile.listdir(f"{store}/serving") == ["mnist"]
