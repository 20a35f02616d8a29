"""The model server process: loads models, polls for versions, serves REST and gRPC.

`ModelServer` runs in-process on background threads (tests, benchmarks and the
pipeline's infra-validation gate use it on ephemeral ports); `mnist-tfx serve`
runs it in the foreground. As TF Serving does, the ports open only after every
model with versions on disk has finished its first load, and it binds
127.0.0.1 unless told otherwise.
"""

import concurrent.futures
import contextlib
import errno
import logging
import signal
import socket
import sys
import threading
import time
from typing import Dict, Iterator, List, Optional, TextIO, Tuple

import grpc
import uvicorn
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from serving.model_server import (batching, config as server_config, flags, grpc_service, manager,
                                  metrics, protos, request_log, rest)

DEFAULT_HOST = flags.DEFAULT_HOST
# `mnist-tfx serve` hands the GIL over every 1 ms instead of Python's 5 ms, so the event loop
# answering status is not kept waiting by worker threads decoding and encoding JSON. Measured
# (bench/status_latency.py, AMD EPYC 2 cores, 4 CNN :predict clients, median of 3 runs): status
# p99 21.3 ms at 5 ms, 14.8 ms at 1 ms, 15.1 ms at 0.2 ms (the 10 ms target is still missed:
# the cores are saturated by TF, wrk and the probe). Process-wide, so only the foreground server
# sets it, and only if nobody chose another value (the bench's --switch-interval).
SWITCH_INTERVAL_S = 0.001
_PYTHON_SWITCH_INTERVAL_S = 0.005
_GRPC_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1),
                 ("grpc.so_reuseport", 0)]


class ModelServer:
  """REST + gRPC over the configured models; use as a context manager or start()/stop()."""

  def __init__(self, models: List[server_config.ModelConfig], host: str = DEFAULT_HOST,
               rest_port: int = 8501, grpc_port: int = 8500,
               batching_config: Optional[server_config.BatchingConfig] = None,
               poll_seconds: float = 1.0, load_timeout: float = 300.0, grpc_workers: int = 16,
               rest_workers: int = 0, prometheus_path: Optional[str] = None,
               log_rotation: Tuple[int, float] = (request_log.DEFAULT_MAX_FILE_BYTES,
                                                  request_log.DEFAULT_MAX_FILE_SECONDS),
               log_queue_records: int = request_log.DEFAULT_QUEUE_RECORDS,
               model_config_file: Optional[str] = None, config_poll_seconds: float = 0.0):
    self.host, self.poll_seconds, self.load_timeout = host, poll_seconds, load_timeout
    self.model_config_file, self.config_poll_seconds = model_config_file, config_poll_seconds
    self._config_text: Optional[str] = None  # the file's text the models came from
    self._reload_lock = threading.Lock()
    self.models = list(models)
    self.prometheus_path = prometheus_path
    self._log_rotation, self._log_queue_records = log_rotation, log_queue_records
    self.loggers: Dict[str, request_log.RequestLogger] = {}
    self.health = health.HealthServicer()
    self.manager = manager.ModelManager(models, warmup=protos.replay_warmup)
    self.batching_config = batching_config
    self.batcher: Optional[batching.Batcher] = None
    self._rest_port, self._grpc_port, self._grpc_workers = rest_port, grpc_port, grpc_workers
    self._rest_workers = rest_workers
    self._stop = threading.Event()
    self._threads: List[threading.Thread] = []
    self._uvicorn: Optional[uvicorn.Server] = None
    self._grpc: Optional[grpc.Server] = None
    self._rest_api: Optional[rest.RestApi] = None
    self.rest_port = self.grpc_port = None

  @classmethod
  def from_settings(cls, settings: server_config.ServerSettings) -> "ModelServer":
    return cls(list(settings.models), host=settings.host, rest_port=settings.rest_port,
               grpc_port=settings.grpc_port, batching_config=settings.batching,
               poll_seconds=settings.poll_seconds, rest_workers=settings.rest_api_num_threads,
               prometheus_path=settings.prometheus_path,
               model_config_file=settings.model_config_file,
               config_poll_seconds=settings.config_poll_seconds,
               log_rotation=(settings.log_max_file_bytes, settings.log_max_file_seconds))

  def start(self) -> "ModelServer":
    """Loads, binds both ports, then starts threads: a port that is taken is an OSError
    with nothing left running (TF Serving also opens its ports only after the first load)."""
    if self.prometheus_path is not None:
      metrics.enable()  # before the first load, so warmup is recorded too
    self._update_health()
    self.manager.add_listener(self._update_health)
    self.manager.wait_until_loaded(self.load_timeout)
    try:
      self._grpc = grpc.server(concurrent.futures.ThreadPoolExecutor(
          max_workers=self._grpc_workers, thread_name_prefix="grpc"), options=_GRPC_OPTIONS)
      self.grpc_port = _add_port(self._grpc, self.host, self._grpc_port)
      sock = _bind(self.host, self._rest_port)
    except BaseException:
      self.stop()
      raise
    try:
      self.rest_port = sock.getsockname()[1]
      self.batcher = batching.Batcher(self.batching_config) if self.batching_config else None
      for model in self.models:
        if model.logging is not None:
          self.loggers[model.name] = self._logger(model)
      prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
          grpc_service.PredictionService(self.manager, self.batcher, self.loggers), self._grpc)
      model_service_pb2_grpc.add_ModelServiceServicer_to_server(
          grpc_service.ModelService(self.manager, reload=self.reload), self._grpc)
      health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
      self._grpc.start()
      self._rest_api = rest.RestApi(self.manager, self.batcher, workers=self._rest_workers or None,
                                    prometheus_path=self.prometheus_path, loggers=self.loggers)
      self._uvicorn = uvicorn.Server(uvicorn.Config(
          self._rest_api.app, loop="uvloop", http="httptools", log_level="warning",
          access_log=False, lifespan="off", timeout_keep_alive=60))
      self._start_thread("rest", self._uvicorn.run, sockets=[sock])
      if self.poll_seconds > 0:  # 0: the start-up load was the one poll, as in TF Serving
        self._start_thread("version-poller", self._poll_loop)
      if self.model_config_file and self.config_poll_seconds > 0:
        self._config_text = _read_text(self.model_config_file)
        self._start_thread("config-poller", self._config_poll_loop)
      deadline = time.monotonic() + 30
      while not self._uvicorn.started and time.monotonic() < deadline:
        time.sleep(0.005)
    except BaseException:
      sock.close()
      self.stop()
      raise
    return self

  def _logger(self, model: server_config.ModelConfig) -> request_log.RequestLogger:
    return request_log.RequestLogger(
        model.name, model.logging.collector_type, model.logging.filename_prefix,
        model.logging.sampling_rate, *self._log_rotation, queue_records=self._log_queue_records)

  def reload(self, models: List[server_config.ModelConfig]) -> None:
    """Serves `models` (validated) from now on, live: server_core.cc ReloadConfig's semantics
    (the new list replaces the old) with manager.reconfigure's order (load, move labels,
    unload). A model whose logging_config changed gets a new request logger; the old one is
    closed once the requests that took it are done writing (its queue is drained)."""
    with self._reload_lock:
      old_loggers = {}
      wanted = {m.name: m for m in models}
      previous = {m.name: m for m in self.models}
      for name, model in wanted.items():
        if name in previous and previous[name].logging == model.logging:
          continue
        if name in self.loggers:
          old_loggers[name] = self.loggers.pop(name)
        if model.logging is not None:
          self.loggers[name] = self._logger(model)
      for name in set(previous) - set(wanted):
        if name in self.loggers:
          old_loggers[name] = self.loggers.pop(name)
      self.manager.reconfigure(models)
      self.models = list(models)
      for logger in old_loggers.values():
        logger.close()

  def _config_poll_loop(self) -> None:
    """--model_config_file_poll_wait_seconds: re-read the file; apply it when its text changed.
    A file that does not parse or validate is one log line, and the last good config keeps
    serving (TF Serving logs the error and keeps its config too, server.cc PollFilesystemAndReloadConfig)."""
    log = logging.getLogger("mnist_tfx.model_server")
    while not self._stop.wait(self.config_poll_seconds):
      try:
        text = _read_text(self.model_config_file)
        if text == self._config_text:
          continue
        self._config_text = text
        models = server_config.parse_model_config(text, source=self.model_config_file)
        log.info("%s changed: applying it", self.model_config_file)
        self.reload(models)
      except (OSError, server_config.ServerConfigError) as e:
        log.error("model config not applied, still serving the last good one: %s", e)
      except Exception:  # pylint: disable=broad-except
        log.exception("model config reload failed; still serving the last good one")

  def _update_health(self) -> None:
    """grpc.health.v1 (grpc_health's servicer): each model's name SERVING once it has an
    AVAILABLE version; "" (the server, what Kubernetes' gRPC probe asks) and TF Serving's
    "ModelService" and "PredictionService" (model_servers/server.cc) once every configured
    model has; NOT_SERVING before, and from stop() on. TF Serving itself answers SERVING as
    soon as its port is open (--enable_grpc_healthcheck_service), which it opens only after
    the first load; this server's ports open then too, so the difference shows only for a
    model whose first version appears later."""
    serving = {name: self.manager.has_available(name) for name in self.manager.names}
    status = health_pb2.HealthCheckResponse
    for name, ok in serving.items():
      self.health.set(name, status.SERVING if ok else status.NOT_SERVING)
    overall = status.SERVING if all(serving.values()) else status.NOT_SERVING
    for service in ("", "ModelService", "PredictionService"):
      self.health.set(service, overall)

  def _start_thread(self, name: str, target, **kwargs) -> None:
    thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
    thread.start()
    self._threads.append(thread)

  def _poll_loop(self) -> None:
    while not self._stop.wait(self.poll_seconds):
      try:
        self.manager.poll()
      except Exception:  # pylint: disable=broad-except
        logging.getLogger("mnist_tfx.model_server").exception("version poll failed")

  def stop(self) -> None:
    """Stops whatever start() got to; safe to call after a failed start() and twice."""
    self._stop.set()
    self.health.enter_graceful_shutdown()  # NOT_SERVING from now on
    if self._uvicorn:
      self._uvicorn.should_exit = True
    if self._grpc:
      self._grpc.stop(grace=1).wait()
    for thread in self._threads:
      thread.join(timeout=10)
    if self._rest_api:
      self._rest_api.close()
    if self.batcher:
      self.batcher.stop()
    for logger in self.loggers.values():  # after the ports closed: every answered request is written
      logger.close()

  def __enter__(self) -> "ModelServer":
    return self.start()

  def __exit__(self, *exc) -> None:
    self.stop()


def _read_text(path: str) -> str:
  with open(path, encoding="utf-8") as f:
    return f.read()


def _add_port(server: grpc.Server, host: str, port: int) -> int:
  """Binds the gRPC port now (grpcio returns 0 or raises RuntimeError when it cannot)."""
  try:
    bound = server.add_insecure_port(f"{host}:{port}")
  except RuntimeError:
    bound = 0
  if not bound:
    raise OSError(errno.EADDRINUSE, f"cannot listen on {host}:{port} (gRPC): "
                  "the address is in use or not this machine's")
  return bound


def _bind(host: str, port: int) -> socket.socket:
  sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
  sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  try:
    sock.bind((host, port))
  except OSError as e:
    sock.close()
    raise OSError(e.errno, f"cannot listen on {host}:{port} (REST): {e.strerror}") from None
  return sock


@contextlib.contextmanager
def serve_single_model(name: str, base_path: str, host: str = DEFAULT_HOST) -> Iterator[ModelServer]:
  """One model on ephemeral ports (the infra-validation gate's server)."""
  with ModelServer(server_config.single_model(name, base_path), host=host, rest_port=0,
                   grpc_port=0) as server:
    yield server


# --- `mnist-tfx serve` --------------------------------------------------------------------------

def _configure_tensorflow(settings: server_config.ServerSettings) -> None:
  """--tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism (main.cc): before any op
  runs, as TensorFlow fixes its thread pools at the first one."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if settings.intra_op_threads:
    tf.config.threading.set_intra_op_parallelism_threads(settings.intra_op_threads)
  if settings.inter_op_threads:
    tf.config.threading.set_inter_op_parallelism_threads(settings.inter_op_threads)


def run(settings: server_config.ServerSettings, out: TextIO) -> int:
  """Serves `settings` (flags.configure's) until SIGINT/SIGTERM; returns the exit code."""
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
  if sys.getswitchinterval() == _PYTHON_SWITCH_INTERVAL_S:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
  stopped = threading.Event()
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: stopped.set())
  _configure_tensorflow(settings)
  server = ModelServer.from_settings(settings).start()
  try:
    serving = []
    for name in server.manager.names:
      try:
        versions = manager.version_states(server.manager.status(name))
      except Exception:  # pylint: disable=broad-except
        versions = []
      available = [str(v) for v, state in versions if state == "AVAILABLE"]
      serving.append(f"{name} ({'versions ' + ', '.join(available) if available else 'no version yet'})")
    out.write(f"serving {'; '.join(serving)}\n"
              f"REST http://{settings.host}:{server.rest_port}/v1/models/<name>  "
              f"gRPC {settings.host}:{server.grpc_port}"
              f"{'  batching on' if settings.batching else ''}  (Ctrl-C stops)\n")
    out.flush()
    stopped.wait()
  finally:
    server.stop()
  return 0
