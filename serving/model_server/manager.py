"""Which versions are served: polling base paths, loading with warmup, swapping, unloading.

As TF Serving's file-system source and AvailabilityPreservingPolicy do: every
`poll_seconds` the base path is listed; integer-named children holding a
saved_model.pb are versions (other names are ignored, a half-written version
is not aspired); the version policy picks the aspired ones; a new version is
loaded and its warmup requests replayed *before* it becomes AVAILABLE; only then
are versions that left the policy unloaded. A request holds a reference to the
servable it resolved, so it finishes on the old version even if that version is
unloaded meanwhile: no request fails during a swap. States and status messages
are TF Serving's (get_model_status_impl.cc), and every version ever seen stays
in the status list, unloaded ones as END.

`reconfigure()` applies a new model_config_list live (a re-read config file, or
ModelService/HandleReloadConfigRequest), as server_core.cc ReloadConfig does:
models added are loaded, models removed are unloaded, a changed version policy
loads what it now aspires to before unloading what it no longer does. A version
label moves only once its target version is AVAILABLE (TF Serving refuses a label
on a version it has not loaded, server_core.cc UpdateModelVersionLabelMap): until
then the label keeps answering from its old version, which stays loaded for it.
"""

import logging
import os
import re
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import grpc
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2

from serving import warmup as warmup_file
from serving.model_server import errors, inference, metrics
from serving.model_server.config import ModelConfig

State = get_model_status_pb2.ModelVersionStatus.State
_VERSION_NAME = re.compile(r"^[+-]?\d+$")  # absl::SimpleAtoi on an int64
log = logging.getLogger("mnist_tfx.model_server")


class VersionState:
  def __init__(self, version: int):
    self.version = version
    self.state = State.START
    self.error: Optional[errors.ServingError] = None
    self.servable: Optional[inference.Servable] = None


class Model:
  def __init__(self, config: ModelConfig):
    self.config = config
    self.versions: Dict[int, VersionState] = {}
    self.available: Dict[int, inference.Servable] = {}  # replaced whole, never mutated
    self.labels: Dict[str, int] = {}  # the labels in force: each names an AVAILABLE version


def list_versions(base_path: str) -> List[int]:
  """Integer-named children that hold a complete SavedModel."""
  try:
    names = tf.io.gfile.listdir(base_path)
  except tf.errors.OpError:
    return []
  versions = []
  for name in names:
    name = name.rstrip("/")
    if _VERSION_NAME.match(name) and tf.io.gfile.exists(
        os.path.join(base_path, name, "saved_model.pb")):
      versions.append(int(name))
  return versions


class ModelManager:
  """The server's models; thread-safe; `poll()` loads and unloads."""

  def __init__(self, configs: List[ModelConfig], warmup: Callable[[inference.Servable, list], None]):
    self._models = {c.name: Model(c) for c in configs}
    self._lock = threading.Lock()
    self._poll_lock = threading.Lock()
    self._warmup = warmup
    self._listeners: List[Callable[[], None]] = []

  @property
  def names(self) -> List[str]:
    return sorted(self._models)

  def has_available(self, name: str) -> bool:
    """Whether the model has a version AVAILABLE (the health service's SERVING)."""
    model = self._models.get(name)
    return bool(model and model.available)

  def add_listener(self, listener: Callable[[], None]) -> None:
    """`listener()` after every load and unload (the health service re-reads availability)."""
    self._listeners.append(listener)

  def _changed(self) -> None:
    for listener in self._listeners:
      try:
        listener()
      except Exception:  # pylint: disable=broad-except
        log.exception("a model availability listener failed")

  def poll(self) -> None:
    """One pass over every base path (serialised: one loader at a time, like TF Serving's)."""
    with self._poll_lock:
      for model in self._models.values():
        self._poll_model(model)

  def reconfigure(self, configs: List[ModelConfig]) -> None:
    """Serves `configs` from now on (already validated); returns once the versions they aspire
    to are loaded (or failed) and what they no longer name is unloaded."""
    with self._poll_lock:
      wanted = {c.name: c for c in configs}
      for name in sorted(set(self._models) - set(wanted)):
        model = self._models[name]
        for version in sorted(model.available):
          self._unload(model, version)
        with self._lock:
          model.labels = {}
          self._models = {n: m for n, m in self._models.items() if n != name}
        log.info("%s removed from the config", name)
      for name, config in wanted.items():
        model = self._models.get(name)
        if model is None:
          with self._lock:
            self._models = {**self._models, name: Model(config)}
          log.info("%s added to the config", name)
        elif model.config != config:
          if config.base_path != model.config.base_path:  # same numbers, other models: reload them
            for version in sorted(model.available):
              self._unload(model, version)
            with self._lock:
              model.labels, model.versions = {}, {}
          model.config = config
      for model in list(self._models.values()):
        self._poll_model(model)
    self._changed()

  def _poll_model(self, model: Model) -> None:
    aspired = model.config.policy.choose(list_versions(model.config.base_path))
    for version in aspired:
      entry = model.versions.get(version)
      # New, or unloaded earlier and aspired again (a rollback); a version that failed to load
      # is not retried on every poll.
      if entry is None or (entry.state == State.END and entry.error is None):
        self._load(model, version)
    self._move_labels(model)
    keep = (set(aspired) | set(model.labels.values())) & set(model.available)
    if keep or not aspired:
      for version in sorted(set(model.available) - keep):
        self._unload(model, version)

  def _move_labels(self, model: Model) -> None:
    """The config's labels whose version is AVAILABLE take effect; the others keep their old
    version (if they had one) until theirs is."""
    labels = {}
    for label, version in model.config.label_map.items():
      if version in model.available:
        labels[label] = version
      elif label in model.labels:
        labels[label] = model.labels[label]
    if labels != model.labels:
      for label, version in sorted(labels.items()):
        if model.labels.get(label) != version:
          log.info("%s label %s -> version %d", model.config.name, label, version)
      with self._lock:
        model.labels = labels

  def _load(self, model: Model, version: int) -> None:
    entry = VersionState(version)
    with self._lock:
      model.versions[version] = entry
      entry.state = State.LOADING
    path = os.path.join(model.config.base_path, str(version))
    try:
      servable = inference.Servable(model.config.name, version, path)
      self._warm_up(servable, path)
    except errors.ServingError as e:
      entry.error = e
    except Exception as e:  # pylint: disable=broad-except
      entry.error = errors.ServingError(grpc.StatusCode.UNKNOWN, f"{type(e).__name__}: {e}")
    with self._lock:
      if entry.error:
        entry.state = State.END
        log.error("%s version %d failed to load: %s", model.config.name, version, entry.error.message)
        return
      entry.servable, entry.state = servable, State.AVAILABLE
      model.available = {**model.available, version: servable}
    log.info("%s version %d AVAILABLE", model.config.name, version)
    self._changed()

  def _warm_up(self, servable: inference.Servable, path: str) -> None:
    """Replays the warmup records; with a warmup file, model_warmup_latency{model_path, status} (µs)
    and model_warmup_records_read as saved_model_warmup_util.cc records them (status: "OK" or the
    error as Status::ToString prints it). No file: nothing to record, as there."""
    if not tf.io.gfile.exists(warmup_file.warmup_path(path)):
      self._warmup(servable, [])
      return
    started, status, records = time.perf_counter(), "OK", 0
    try:
      logs = warmup_file.read(path)
      records = min(len(logs), warmup_file.MAX_RECORDS)
      self._warmup(servable, logs)
    except errors.ServingError as e:
      status = f"{metrics.status_name(e.code)}: {e.message}"
      raise
    except Exception as e:  # pylint: disable=broad-except
      status = f"UNKNOWN: {type(e).__name__}: {e}"
      raise
    finally:
      metrics.WARMUP_LATENCY.add(path, status, value=(time.perf_counter() - started) * 1e6)
      metrics.WARMUP_RECORDS_READ.increment(path, status, by=records)

  def _unload(self, model: Model, version: int) -> None:
    with self._lock:
      entry = model.versions[version]
      entry.state = State.UNLOADING
      model.available = {v: s for v, s in model.available.items() if v != version}
      entry.servable = None  # in-flight requests keep their own reference
      entry.state = State.END
    log.info("%s version %d unloaded", model.config.name, version)
    self._changed()

  def wait_until_loaded(self, timeout: float) -> None:
    """Until every model with versions on disk has its latest aspired version AVAILABLE or END."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
      self.poll()
      pending = [m.config.name for m in self._models.values()
                 if list_versions(m.config.base_path) and not any(
                     v.state in (State.AVAILABLE, State.END) for v in m.versions.values())]
      if not pending:
        return
      time.sleep(0.05)

  # --- requests -------------------------------------------------------------------------

  def servable(self, name: str, version: Optional[int] = None,
               label: Optional[str] = None) -> inference.Servable:
    """server_core.cc: the servable for a request, or TF Serving's error."""
    if not name:
      raise errors.invalid("ModelSpec has no name specified.")
    model = self._models.get(name)
    if label:
      labels = model.labels if model is not None else {}
      if label not in labels:
        raise errors.invalid(f"Unrecognized servable version label: {label}")
      version = labels[label]
    if model is not None:
      available = model.available
      if version is None and available:
        return available[max(available)]
      if version is not None and version in available:
        return available[version]
    which = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
    raise errors.not_found(f"Servable not found for request: {which}")

  def status(self, name: str, version: Optional[int] = None
             ) -> get_model_status_pb2.GetModelStatusResponse:
    """get_model_status_impl.cc: labels are ignored; newest version first."""
    if not name:
      raise errors.invalid("Missing model name in request.")
    model = self._models.get(name)
    with self._lock:
      entries = sorted(model.versions.values(), key=lambda e: -e.version) if model else []
      if version is not None:
        entries = [e for e in entries if e.version == version]
        if not entries:
          raise errors.not_found(f"Could not find version {version} of model {name}")
      if not entries:
        raise errors.not_found(f"Could not find any versions of model {name}")
      response = get_model_status_pb2.GetModelStatusResponse()
      for entry in entries:
        status = response.model_version_status.add(version=entry.version, state=entry.state)
        status.status.SetInParent()  # TF Serving always sends it: {"error_code": "OK", ...}
        if entry.error:
          status.status.error_code = entry.error.code.value[0]
          status.status.error_message = entry.error.message
    return response


def version_states(response) -> List[Tuple[int, str]]:
  return [(s.version, State.Name(s.state)) for s in response.model_version_status]
