"""The model server process: loads models, polls for versions, serves REST and gRPC.

`ModelServer` runs in-process on background threads (tests, benchmarks and the
pipeline's infra-validation gate use it on ephemeral ports); `mnist-tfx serve`
runs it in the foreground. As TF Serving does, the ports open only after every
model with versions on disk has finished its first load, and it binds
127.0.0.1 unless told otherwise.
"""

import concurrent.futures
import contextlib
import logging
import signal
import socket
import threading
import time
from typing import Iterator, List, Optional, TextIO

import grpc
import uvicorn
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from serving.model_server import batching, config as server_config, flags, grpc_service, manager, protos, rest

DEFAULT_HOST = flags.DEFAULT_HOST
_GRPC_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1),
                 ("grpc.so_reuseport", 0)]


class ModelServer:
  """REST + gRPC over the configured models; use as a context manager or start()/stop()."""

  def __init__(self, models: List[server_config.ModelConfig], host: str = DEFAULT_HOST,
               rest_port: int = 8501, grpc_port: int = 8500,
               batching_config: Optional[server_config.BatchingConfig] = None,
               poll_seconds: float = 1.0, load_timeout: float = 300.0, grpc_workers: int = 16):
    self.host, self.poll_seconds, self.load_timeout = host, poll_seconds, load_timeout
    self.manager = manager.ModelManager(models, warmup=protos.replay_warmup)
    self.batcher = batching.Batcher(batching_config) if batching_config else None
    self._rest_port, self._grpc_port, self._grpc_workers = rest_port, grpc_port, grpc_workers
    self._stop = threading.Event()
    self._threads: List[threading.Thread] = []
    self._uvicorn: Optional[uvicorn.Server] = None
    self._grpc: Optional[grpc.Server] = None
    self.rest_port = self.grpc_port = None

  def start(self) -> "ModelServer":
    self.manager.wait_until_loaded(self.load_timeout)
    poller = threading.Thread(target=self._poll_loop, name="version-poller", daemon=True)
    poller.start()
    self._threads.append(poller)
    self._grpc = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=self._grpc_workers),
                             options=_GRPC_OPTIONS)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        grpc_service.PredictionService(self.manager, self.batcher), self._grpc)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        grpc_service.ModelService(self.manager), self._grpc)
    self.grpc_port = self._grpc.add_insecure_port(f"{self.host}:{self._grpc_port}")
    if not self.grpc_port:
      raise OSError(f"cannot listen on {self.host}:{self._grpc_port} (gRPC)")
    self._grpc.start()
    sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((self.host, self._rest_port))
    self.rest_port = sock.getsockname()[1]
    api = rest.RestApi(self.manager, self.batcher)
    self._uvicorn = uvicorn.Server(uvicorn.Config(
        api.app, loop="uvloop", http="httptools", log_level="warning", access_log=False,
        lifespan="off", timeout_keep_alive=60))
    thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [sock]},
                              name="rest", daemon=True)
    thread.start()
    self._threads.append(thread)
    deadline = time.monotonic() + 30
    while not self._uvicorn.started and time.monotonic() < deadline:
      time.sleep(0.005)
    return self

  def _poll_loop(self) -> None:
    while not self._stop.wait(self.poll_seconds):
      try:
        self.manager.poll()
      except Exception:  # pylint: disable=broad-except
        logging.getLogger("mnist_tfx.model_server").exception("version poll failed")

  def stop(self) -> None:
    self._stop.set()
    if self._uvicorn:
      self._uvicorn.should_exit = True
    if self._grpc:
      self._grpc.stop(grace=1).wait()
    if self.batcher:
      self.batcher.stop()
    for thread in self._threads:
      thread.join(timeout=10)

  def __enter__(self) -> "ModelServer":
    return self.start()

  def __exit__(self, *exc) -> None:
    self.stop()


@contextlib.contextmanager
def serve_single_model(name: str, base_path: str, host: str = DEFAULT_HOST) -> Iterator[ModelServer]:
  """One model on ephemeral ports (the infra-validation gate's server)."""
  with ModelServer(server_config.single_model(name, base_path), host=host, rest_port=0,
                   grpc_port=0) as server:
    yield server


# --- `mnist-tfx serve` --------------------------------------------------------------------------

def run(args, out: TextIO) -> int:
  """Serves until SIGINT/SIGTERM; returns the exit code."""
  models, batching_config = flags.configure(args)
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
  stopped = threading.Event()
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: stopped.set())
  server = ModelServer(models, host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port,
                       batching_config=batching_config,
                       poll_seconds=args.file_system_poll_wait_seconds)
  server.start()
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
              f"REST http://{args.host}:{server.rest_port}/v1/models/<name>  "
              f"gRPC {args.host}:{server.grpc_port}"
              f"{'  batching on' if batching_config else ''}  (Ctrl-C stops)\n")
    out.flush()
    stopped.wait()
  finally:
    server.stop()
  return 0
