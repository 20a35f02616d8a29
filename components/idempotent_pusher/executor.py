"""Pusher executor for a directory TF Serving is polling.

TF Serving's file-system source takes every child of the base path whose name
parses as an integer for a version, whatever it holds
(tensorflow_serving/sources/storage_path/file_system_storage_path_source.cc:
ParseVersionNumber is absl::SimpleAtoi, with no look inside), and its default
policy, `latest` with num_versions 1 (config/model_server_config.proto), aspires
the highest of them. A half-copied `<base>/<version>/` is therefore what TF
Serving tries to load next.

- **Visible whole, on a local filesystem.** The version is written under
  `<base>/.incoming-<version>-<pid>/` (a name TF Serving ignores, on the same
  filesystem) and renamed into place with rename(2), which is atomic: TF Serving
  sees the version whole or not at all. Leftovers of a killed push are removed by
  the next push.
- **saved_model.pb last, on an object store** (any `scheme://` path gfile can
  write: gs://, TensorFlow's ram://). There is no directory rename there
  (TensorFlow's GCS filesystem renames object by object, each a rewrite then a
  delete: tsl/platform/cloud/gcs_file_system.cc RenameFile/RenameObject; ram://
  moves only the directory's own entry and strands its files:
  tensorflow/core/platform/ram_file_system.h RenameFile), so a version cannot
  appear at once. It is first staged beside the base path
  (`<parent>/.incoming-<name>-<version>-<random>/`, outside what TF Serving lists):
  the model and the statistics, from two artifacts, so that a source that cannot
  be read fails the push while nothing is under the base path. Then it is copied
  into `<base>/<version>/` file by file, never overwriting, saved_model.pb last
  (TFX's own Pusher orders its copy the same way, tfx/components/pusher/
  executor.py). What that guarantees, and what not:
  * From the first object copied until saved_model.pb the version is listed and
    not loadable: a load fails NotFound, "should have a file called
    `saved_model.pb`" (session_bundle/oss/session_bundle_util.cc:
    LoadSessionBundleOrSavedModelBundle, unless MaybeSavedModelDirectory). TF
    Serving retries it `--max_num_load_retries` times (default 5),
    `--load_retry_interval_micros` apart (default 1 minute; core/loader_harness.cc,
    util/retrier.cc), and a running server keeps serving the previous version
    meanwhile: AvailabilityPreservingPolicy (core/availability_preserving_policy.cc,
    the one model_servers/server.cc installs) keeps the last un-aspired version
    loaded until an aspired one is ready. A copy that outlasts the retries (about 5 min at
    the defaults) leaves the version in error, which a running TF Serving does not
    load again (`enable_reload_servables_with_error` is off by default,
    core/aspired_versions_manager.h) short of a restart; a newer version replaces it.
  * A TF Serving that starts while the copy runs aspires only the partial version:
    it serves nothing of this model until saved_model.pb arrives.
  * When saved_model.pb is listed, every other file is complete: each was copied,
    to its end, before it. saved_model.pb itself is complete when listed on GCS,
    which shows an object only once its upload has finished; ram:// (tests only)
    lists a file while it is being written.
  * A push that fails part-way removes, best-effort, the files and directories it
    created, and its staging copy; it never wrote saved_model.pb, so nothing it
    leaves is loadable. Only a push killed outright, or a cleanup that itself
    fails, leaves a partial version: TF Serving's `latest` policy keeps aspiring it
    (a restarted server then serves nothing of this model) until the next push
    numbers above it, or it is removed by hand. Its staging copy stays too (no pid
    can be checked across machines); TF Serving never lists it.
  * Not guaranteed: two pushers that choose the same version at once. "Never
    overwriting" is TensorFlow's exists-then-copy (tensorflow/python/lib/io/
    file_io_wrapper.cc CopyFile), not a precondition of the store, so two copies
    racing file by file can both write a file, and the loser's cleanup can delete
    it from the winner's version. Versions are unix seconds: a pipeline must not
    push one model from two places in the same second (one Pusher per run; runs
    of one model one at a time).
  * This project's model server (serving/model_server/manager.py list_versions)
    and the pipeline (components/pushed_model.served_version) count a version only
    once its saved_model.pb is there: they never load or compare with a partial
    one, unlike TF Serving.
- **Idempotent.** A model whose SavedModel fingerprint matches the served
  version (components/pushed_model.served_version) is recorded as pushed to that
  version instead of being copied again (e.g. a rerun whose Evaluator re-ran only
  because a baseline appeared). A model matching an older version is pushed again
  as a new version: it was blessed to be served, and TF Serving serves only the
  highest.
- **Traceable.** The training data's statistics go into the version's
  `assets.extra/` (components/pushed_model.py), for the next run's drift check.
- Versions are unix seconds, as TFX's Pusher makes them, but always above the
  highest existing integer child (partial ones too), so pushes one after another
  within a second cannot collide.
"""

import os
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional, Tuple

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components import pushed_model

FINGERPRINT = "fingerprint.pb"  # written by tf.saved_model.save since TF 2.12


def _read(path: str) -> Optional[bytes]:
  return io_utils.read_bytes_file(path) if fileio.exists(path) else None


def find_served_version(model_path: str, base_directory: str) -> Optional[str]:
  """The served version if it holds this exact SavedModel, else None."""
  fingerprint = _read(os.path.join(model_path, FINGERPRINT))
  version = pushed_model.served_version(base_directory)
  if fingerprint is None or version is None:
    return None
  same = _read(os.path.join(base_directory, version, FINGERPRINT)) == fingerprint
  return version if same else None


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _remove_stale_incoming(base_directory: str) -> None:
  """Removes `.incoming-*` directories whose pushing process is gone (killed mid-copy)."""
  for name in fileio.listdir(base_directory):
    name = name.rstrip("/")
    if name.startswith(pushed_model.INCOMING_PREFIX):
      pid = name.rsplit("-", 1)[-1]
      if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
        logging.info("Removing %s, left by an interrupted push", name)
        fileio.rmtree(os.path.join(base_directory, name))


def _is_local(path: str) -> bool:
  return "://" not in path


def _staging_beside(base_directory: str, version: str) -> str:
  """`<parent>/.incoming-<name>-<version>-<random>`: on the base's store, outside the base.

  Random, not the pid: pushers on other machines (Kubeflow pods) share the store.
  A base at a bucket's root has no parent; its staging goes under it, with a name
  TF Serving ignores.
  """
  parent, name = os.path.split(base_directory.rstrip("/"))
  if parent.endswith(":"):  # "gs://bucket" splits into ("gs:", "bucket")
    parent, name = base_directory, ""
  return os.path.join(parent, f"{pushed_model.INCOMING_PREFIX}{name}-{version}-{uuid.uuid4().hex}")


def _version_files(model_path: str, statistics_uri: Optional[str]) -> Dict[str, str]:
  """{path inside the version: source file}: the SavedModel, and the statistics under STATISTICS_DIR.

  Listed at the sources (the pipeline's artifacts), never on a copy: TensorFlow's ram://
  lists a directory by key prefix, so `assets/` there also shows `.extra` of a sibling
  `assets.extra/` (tensorflow/core/platform/ram_file_system.h GetChildren).
  """
  files = {}
  for root, inside in ((model_path, ""), (statistics_uri, pushed_model.STATISTICS_DIR)):
    if not root:
      continue
    root = root.rstrip("/")
    for dir_name, _, file_names in fileio.walk(root):
      relative = dir_name.rstrip("/")[len(root):].lstrip("/")
      for name in file_names:
        files[os.path.join(inside, relative, name)] = os.path.join(dir_name, name)
  return files


def _loadable_last(relative_paths: Iterable[str]) -> List[str]:
  """saved_model.pb (or .cpb/.pbtxt) after everything else: it is what makes a version loadable.

  TFX's Pusher orders its copy the same way (tfx/components/pusher/executor.py).
  """
  return sorted(relative_paths, key=lambda path: (path in pushed_model.SAVED_MODEL_FILES, path))


def _remove_written(files: List[str], dirs: List[str]) -> None:
  """Best-effort: deletes files, then those of `dirs` left empty, deepest first.

  Deepest (longest) first also keeps ram://'s prefix listing honest: `assets.extra/` is
  gone before `assets/` is checked for emptiness.
  """
  for path in reversed(files):
    try:
      fileio.remove(path)
    except Exception as e:  # pylint: disable=broad-except
      logging.error("Could not remove %s of a failed push: %s", path, e)
  for path in sorted(dirs, key=len, reverse=True):
    try:
      if fileio.isdir(path) and not fileio.listdir(path):
        fileio.rmtree(path)
    except Exception as e:  # pylint: disable=broad-except
      logging.error("Could not remove %s of a failed push: %s", path, e)


def _makedirs(path: str, created: List[str]) -> None:
  """makedirs, adding to `created` each directory it makes (for a cleanup that removes only those)."""
  missing = []
  while path and not path.endswith(":") and not fileio.isdir(path):  # "gs:" is no directory
    missing.append(path)
    path = os.path.dirname(path)
  if missing:
    fileio.makedirs(missing[0])
    created += missing


def copy_files(sources: Dict[str, str], order: List[str],
               destination: str) -> Tuple[List[str], List[str]]:
  """Copies sources[path] to destination/path for each path of `order`, never overwriting.

  Returns (files, directories) it created. On any failure it removes them best-effort
  and raises; a file that was already there (another pusher's) is left alone.
  """
  files: List[str] = []
  dirs: List[str] = []
  try:
    _makedirs(destination, dirs)
    for path in order:
      target = os.path.join(destination, path)
      _makedirs(os.path.dirname(target), dirs)
      fileio.copy(sources[path], target, overwrite=False)
      files.append(target)
  except BaseException:
    _remove_written(files, dirs)
    raise
  return files, dirs


def push_to_object_store(model_path: str, statistics_uri: Optional[str], base_directory: str,
                          version: str) -> None:
  """Stages `<base>/<version>/` beside the base, then copies it in, saved_model.pb last.

  Raises if a file of the version is already there (another pusher chose the same
  version), after removing what it wrote.
  """
  sources = _version_files(model_path, statistics_uri)
  order = _loadable_last(sources)
  staging = _staging_beside(base_directory, version)
  staged = copy_files(sources, order, staging)  # a source that fails to read fails here, unseen
  try:
    copy_files({path: os.path.join(staging, path) for path in order}, order,
               os.path.join(base_directory, version))
  finally:
    _remove_written(*staged)


def push_version(model_path: str, base_directory: str,
                 statistics_uri: Optional[str] = None) -> str:
  """Copies model_path (and statistics) to a new version under base_directory; returns it."""
  fileio.makedirs(base_directory)
  local = _is_local(base_directory)
  if local:
    _remove_stale_incoming(base_directory)
  highest = pushed_model.versions(base_directory)
  version = str(max(int(time.time()), highest[-1] + 1 if highest else 0))
  if not local:
    push_to_object_store(model_path, statistics_uri, base_directory, version)
    return version
  incoming = os.path.join(base_directory, f"{pushed_model.INCOMING_PREFIX}{version}-{os.getpid()}")
  io_utils.copy_dir(model_path, incoming)
  if statistics_uri:
    io_utils.copy_dir(statistics_uri, pushed_model.statistics_dir(incoming))
  fileio.rename(incoming, os.path.join(base_directory, version))
  return version


class Executor(pusher_executor.Executor):
  """Pushes a blessed model (see the module docstring); the model already served keeps its version."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    base = destination.filesystem.base_directory  # the only destination TFX 1.16 defines
    if not base:
      raise ValueError("IdempotentPusher needs push_destination.filesystem.base_directory")
    model_push = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    version = find_served_version(model_path, base)
    if version is not None:
      logging.info("Model already served as version %s; not pushing it again.", version)
    else:
      statistics = input_dict.get("statistics") or []
      version = push_version(model_path, base, statistics[0].uri if statistics else None)
      logging.info("Model pushed as version %s of %s.", version, base)
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=os.path.join(base, version),
                     pushed_version=version)
