"""`make bench-serving`: the model server's latency and throughput, against the in-process floor.

For each MNIST model (softmax, mlp, cnn) the pipeline trains a small model
(`--train-steps`, weights do not change the cost of a request) and its
SavedModel, with the warmup requests the trainer wrote, becomes version 1 of a
base path. Then, per model:

  floor   the same SavedModel's serving_default called in this process with one
          serialized tf.Example (no network, no server): the baseline;
  REST    `mnist-tfx serve` as its own process; sequential single-image
          `:predict` calls (row format, b64 tf.Example) over loopback on one
          keep-alive connection (http.client, TCP_NODELAY) — p50/p99;
  gRPC    the same through the tensorflow-serving-api PredictionService stub;
  load    8 and 32 closed-loop clients for --seconds each, batching off and on
          (serving/deploy/batching_parameters.txt): REST with wrk (Debian's
          `wrk`, C, one thread), gRPC with bench/grpc_load.py (grpc.aio, its own
          process). Client and server share the machine's 2 cores, as they would
          in a sidecar; the figures include the client.

Latency figures are the median over --runs rounds of --requests calls each.
Targets (issue 9): REST p50 <= 1.5 ms, p99 <= 5 ms; gRPC p50 <= 1.0 ms;
>= 2,000 requests/s for mlp with batching. Writes
bench/results/serving-<time>.json and prints a table.

`--observability` measures instead what TF Serving's metrics and request logs
cost (issue 18): the same sequential REST :predict p50/p99 with the server as
plain, with a monitoring config (Prometheus on), with logging_config at
sampling_rate 1.0 (GZIP TFRecord), and with both; the rounds alternate between
the four servers, all up at once, so drift on a shared machine hits each alike.
Targets: metrics <= +5 %, logging 1.0 <= +10 % on REST p50.
"""

import argparse
import base64
import contextlib
import datetime
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import requests

from bench import cpu
from schemas import signatures
from schemas.mnist import contract

# Quiet: TF's C++ logs off before anything imports TensorFlow (the server is a child
# process and inherits it); the pipeline's own logs go to the bench log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", category=FutureWarning, module="google")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
BATCHING_FILE = os.path.join(ROOT, "serving", "deploy", "batching_parameters.txt")
MODELS = ("softmax", "mlp", "cnn")
TARGETS = {"rest_p50_ms": 1.5, "rest_p99_ms": 5.0, "grpc_p50_ms": 1.0, "mlp_batched_rps": 2000}


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def train(model: str, data_dir: str, work: str, steps: int, log) -> str:
  """A base path holding version 1 of `model`, trained by the pipeline for `steps` steps."""
  base = os.path.join(work, "models", model)
  if os.path.isdir(os.path.join(base, "1")):  # --work DIR kept from an earlier run
    return base
  home = os.path.join(work, f"home-{model}")
  summary_path = os.path.join(work, f"summary-{model}.json")
  subprocess.run([PY, "-m", "runners.cli", "run", "--pipeline", "mnist", "--model", model,
                  "--data-dir", data_dir, "--home", home, "--train-steps", str(steps),
                  "--summary-json", summary_path], cwd=ROOT, stdout=log, stderr=log, check=False)
  with open(summary_path) as f:
    model_uri = json.load(f)["model_uri"]
  if not model_uri:
    raise SystemExit(f"bench: the {model} pipeline trained no model (see the log)")
  shutil.copytree(os.path.join(model_uri, "Format-Serving"), os.path.join(base, "1"))
  return base


def one_example(data_dir: str) -> bytes:
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from serving.client import mnist  # pylint: disable=import-outside-toplevel
  images = idx_reader.read_images(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
  return mnist.example_bytes(images[0])


def percentiles(samples: List[float]) -> Dict[str, float]:
  ms = np.asarray(samples) * 1e3
  return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
          "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def timed_calls(call, requests_n: int, warmup: int = 200) -> List[float]:
  for _ in range(warmup):
    call()
  samples = []
  for _ in range(requests_n):
    started = time.perf_counter()
    call()
    samples.append(time.perf_counter() - started)
  return samples


def median_rounds(call, rounds: int, requests_n: int) -> Dict[str, Any]:
  per_round = [percentiles(timed_calls(call, requests_n)) for _ in range(rounds)]
  return {"p50_ms": statistics.median(r["p50_ms"] for r in per_round),
          "p99_ms": statistics.median(r["p99_ms"] for r in per_round), "rounds": per_round}


def in_process_floor(base: str, example: bytes, rounds: int, requests_n: int) -> Dict[str, Any]:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  serve = tf.saved_model.load(os.path.join(base, "1")).signatures[signatures.DEFAULT_SIGNATURE]
  batch = tf.constant([example])
  return median_rounds(lambda: serve(examples=batch), rounds, requests_n)


@contextlib.contextmanager
def model_server(base: str, batching: bool, log, extra: List[str] = (),
                 source: Optional[List[str]] = None) -> Iterator[Dict[str, int]]:
  ports = {"rest": free_port(), "grpc": free_port()}
  cmd = [PY, "-m", "runners.cli", "serve",
         *(source or ["--model-base-path", base, "--model-name", contract.SERVING_MODEL_NAME]),
         "--rest-port", str(ports["rest"]), "--grpc-port", str(ports["grpc"]), *extra]
  if batching:
    cmd += ["--enable-batching", "--batching-parameters-file", BATCHING_FILE]
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
  try:
    url = f"http://127.0.0.1:{ports['rest']}/v1/models/{contract.SERVING_MODEL_NAME}"
    deadline = time.monotonic() + 180
    while True:
      if proc.poll() is not None:
        raise SystemExit(f"bench: mnist-tfx serve exited with {proc.returncode} (see the log)")
      with contextlib.suppress(requests.ConnectionError):
        if requests.get(url, timeout=5).ok:
          break
      if time.monotonic() > deadline:
        raise SystemExit("bench: mnist-tfx serve did not come up in 180 s")
      time.sleep(0.2)
    yield ports
  finally:
    terminate(proc)


def terminate(proc: subprocess.Popen) -> None:
  proc.terminate()
  try:
    proc.wait(30)
  except subprocess.TimeoutExpired:
    proc.kill()


def rest_body(example: bytes) -> bytes:
  return json.dumps({"instances": [{"b64": base64.b64encode(example).decode()}]}).encode()


def grpc_request(example: bytes):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
  request = predict_pb2.PredictRequest()
  request.model_spec.name = contract.SERVING_MODEL_NAME
  request.inputs[contract.PREDICT_INPUT].CopyFrom(tf.make_tensor_proto([example]))
  return request


def rest_latency(port: int, body: bytes, rounds: int, requests_n: int) -> Dict[str, Any]:
  """One keep-alive connection with TCP_NODELAY through the standard library's http.client:
  the lightest Python HTTP client, so the figure is the server's (requests.Session measured
  here adds ~1.4 ms per call on its own)."""
  connection = http.client.HTTPConnection("127.0.0.1", port)
  connection.connect()
  connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  path = f"/v1/models/{contract.SERVING_MODEL_NAME}:predict"
  headers = {"Content-Type": "application/json"}

  def call():
    connection.request("POST", path, body, headers)
    reply = connection.getresponse()
    text = reply.read()
    if reply.status != 200:
      raise SystemExit(f"bench: REST predict answered {reply.status}: {text[:200]!r}")
  try:
    return median_rounds(call, rounds, requests_n)
  finally:
    connection.close()


def grpc_latency(port: int, request, rounds: int, requests_n: int) -> Dict[str, Any]:
  import grpc  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import prediction_service_pb2_grpc  # pylint: disable=import-outside-toplevel
  with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    return median_rounds(lambda: stub.Predict(request, timeout=30), rounds, requests_n)


def parse_wrk(out: str) -> Dict[str, Any]:
  """requests/s and errors from wrk's report: non-2xx answers plus socket errors and timeouts."""
  rps = float(next(l for l in out.splitlines() if l.startswith("Requests/sec:")).split()[1])
  errors = sum(int(l.split()[-1]) for l in out.splitlines() if "Non-2xx" in l)
  for line in out.splitlines():
    if line.strip().startswith("Socket errors:"):  # connect N, read N, write N, timeout N
      errors += sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
  return {"requests_per_s": round(rps, 1), "errors": errors}


def rest_load(port: int, body: bytes, clients: int, seconds: float, work: str) -> Dict[str, Any]:
  script = os.path.join(work, "predict.lua")
  with open(script, "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body.decode())}\n")
  url = f"http://127.0.0.1:{port}/v1/models/{contract.SERVING_MODEL_NAME}:predict"
  out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", script, url],
                       capture_output=True, text=True, check=True).stdout
  return parse_wrk(out)


def grpc_load(port: int, request, clients: int, seconds: float) -> Dict[str, Any]:
  out = subprocess.run([PY, "-m", "bench.grpc_load", "--target", f"127.0.0.1:{port}",
                        "--request-b64", base64.b64encode(request.SerializeToString()).decode(),
                        "--clients", str(clients), "--seconds", str(seconds)],
                       cwd=ROOT, capture_output=True, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def bench_model(base: str, example: bytes, args, work: str, log) -> Dict[str, Any]:
  body, request = rest_body(example), grpc_request(example)
  result: Dict[str, Any] = {
      "in_process": in_process_floor(base, example, args.runs, args.requests)}
  for batching in (False, True):
    key = "batching_on" if batching else "batching_off"
    with model_server(base, batching, log) as ports:
      if not batching:  # latency of a lone request; batching would only add its timeout
        result["rest"] = rest_latency(ports["rest"], body, args.runs, args.requests)
        result["grpc"] = grpc_latency(ports["grpc"], request, args.runs, args.requests)
      result[key] = {}
      for clients in args.clients:
        result[key][f"rest_{clients}"] = rest_load(ports["rest"], body, clients, args.seconds, work)
        result[key][f"grpc_{clients}"] = grpc_load(ports["grpc"], request, clients, args.seconds)
  return result


OBSERVABILITY_TARGETS = {"metrics": 0.05, "logging": 0.10}  # at most +5 % / +10 % REST p50


def observability(base: str, example: bytes, args, work: str, log) -> Dict[str, Any]:
  """REST :predict p50/p99 with metrics and request logging off and on (see the module doc)."""
  monitoring = os.path.join(work, "monitoring.config")
  with open(monitoring, "w") as f:
    f.write('prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }\n')
  logs = os.path.join(work, "request-logs")

  def logged_config(name: str) -> str:
    path = os.path.join(work, f"{name}.config")
    with open(path, "w") as f:
      f.write(f'model_config_list {{ config {{ name: "{contract.SERVING_MODEL_NAME}" base_path: "{base}" '
              'model_platform: "tensorflow" logging_config { log_collector_config { '
              f'type: "tfrecord_gzip" filename_prefix: "{logs}/{name}" }} '
              'sampling_config { sampling_rate: 1.0 } } } }\n')
    return path
  setups = {"off": ([], None), "metrics": (["--monitoring-config-file", monitoring], None),
            "logging": ([], ["--model-config-file", logged_config("logging")]),
            "both": (["--monitoring-config-file", monitoring],
                     ["--model-config-file", logged_config("both")])}
  body = rest_body(example)
  rounds: Dict[str, List[Dict[str, float]]] = {k: [] for k in setups}
  with contextlib.ExitStack() as stack:
    ports = {k: stack.enter_context(model_server(base, False, log, extra, source))
             for k, (extra, source) in setups.items()}
    for _ in range(args.runs):
      for key in setups:
        rounds[key].append(rest_latency(ports[key]["rest"], body, 1, args.requests)["rounds"][0])
  result: Dict[str, Any] = {}
  for key, per_round in rounds.items():
    result[key] = {"p50_ms": statistics.median(r["p50_ms"] for r in per_round),
                   "p99_ms": statistics.median(r["p99_ms"] for r in per_round), "rounds": per_round}
  off = result["off"]["p50_ms"]
  for key, limit in OBSERVABILITY_TARGETS.items():
    cost = result[key]["p50_ms"] / off - 1
    result[key]["p50_cost"] = round(cost, 4)
    result[key]["met"] = cost <= limit
  result["logged_files"] = sorted(os.listdir(logs)) if os.path.isdir(logs) else []
  return result


def observability_table(results: Dict[str, Dict[str, Any]]) -> str:
  lines = [f"{'model':8} {'setup':8} {'REST p50':>8} {'p99':>7} {'p50 cost':>8}  target"]
  for model, r in results.items():
    for key in ("off", "metrics", "logging", "both"):
      cost = r[key].get("p50_cost")
      target = (f"<= +{OBSERVABILITY_TARGETS[key]:.0%} {'met' if r[key]['met'] else 'MISSED'}"
                if key in OBSERVABILITY_TARGETS else "")
      lines.append(f"{model:8} {key:8} {r[key]['p50_ms']:8.3f} {r[key]['p99_ms']:7.2f} "
                   f"{'' if cost is None else f'{cost:+.1%}':>8}  {target}")
  return "\n".join(lines)


def _load_cell(figure: Dict[str, Any]) -> str:
  """req/s, and the errors beside it when there were any (a rate with errors is no rate)."""
  errors = figure.get("errors", 0)
  return f"{figure['requests_per_s']:.0f}" + (f" ({errors} errors)" if errors else "")


def table(results: Dict[str, Dict[str, Any]], clients: List[int]) -> str:
  lines = [f"{'model':8} {'floor p50':>9} {'REST p50':>8} {'p99':>6} {'gRPC p50':>8} {'p99':>6}  "
           "throughput req/s (batching off / on)"]
  for model, r in results.items():
    load = "  ".join(
        f"{proto} x{c}: {_load_cell(r['batching_off'][f'{proto}_{c}'])}/"
        f"{_load_cell(r['batching_on'][f'{proto}_{c}'])}"
        for proto in ("rest", "grpc") for c in clients)
    lines.append(f"{model:8} {r['in_process']['p50_ms']:9.3f} {r['rest']['p50_ms']:8.3f} "
                 f"{r['rest']['p99_ms']:6.2f} {r['grpc']['p50_ms']:8.3f} {r['grpc']['p99_ms']:6.2f}  "
                 f"{load}")
  return "\n".join(lines)


def verdicts(results: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
  """Each latency target per model (the cnn's own floor may exceed it), and mlp throughput."""
  out: Dict[str, Any] = {}
  for model, r in results.items():
    for key, figure in (("rest_p50_ms", r["rest"]["p50_ms"]), ("rest_p99_ms", r["rest"]["p99_ms"]),
                        ("grpc_p50_ms", r["grpc"]["p50_ms"])):
      out[f"{model}.{key}"] = {"target": TARGETS[key], "measured": figure,
                               "floor_p50_ms": r["in_process"]["p50_ms"],
                               "met": figure <= TARGETS[key]}
  if "mlp" in results:
    clean = [v["requests_per_s"] for v in results["mlp"]["batching_on"].values() if not v["errors"]]
    errors = sum(v["errors"] for v in results["mlp"]["batching_on"].values())
    best = max(clean, default=0.0)
    # Only error-free loads count: 503s answered fast would otherwise pass as throughput.
    out["mlp.batched_rps"] = {"target": TARGETS["mlp_batched_rps"], "measured": best,
                              "errors": errors, "met": bool(clean) and best >= TARGETS["mlp_batched_rps"]}
  return out


def main(argv: Optional[List[str]] = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--train-steps", type=int, default=200)
  parser.add_argument("--runs", type=int, default=3, help="latency rounds (median is reported)")
  parser.add_argument("--requests", type=int, default=2000, help="calls per latency round")
  parser.add_argument("--seconds", type=int, default=5, help="duration of each load test")
  parser.add_argument("--clients", default="8,32")
  parser.add_argument("--work", help="keep the trained models here and reuse them next time "
                      "(default: a temporary directory)")
  parser.add_argument("--observability", action="store_true",
                      help="only the REST p50 with metrics and request logging off/on (issue 18)")
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  args.clients = [int(c) for c in args.clients.split(",")]
  models = args.models.split(",")
  if unknown := set(models) - set(MODELS):
    parser.error(f"--models: unknown {sorted(unknown)}; choose from {', '.join(MODELS)}")
  if not shutil.which("wrk"):
    raise SystemExit("bench: wrk not found; install it (apt-get install wrk)")
  if not os.path.isfile(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz")):
    raise SystemExit(f"bench: no MNIST IDX files in {args.data_dir} (--data-dir)")
  os.makedirs(args.out_dir, exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(args.out_dir, f"serving-{stamp}.log")
  results: Dict[str, Dict[str, Any]] = {}
  with open(log_path, "w") as log, contextlib.ExitStack() as stack:
    work = args.work or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-serving-"))
    os.makedirs(work, exist_ok=True)
    example = one_example(args.data_dir)
    for model in models:
      print(f"[{model}] training {args.train_steps} steps with the pipeline...", flush=True)
      base = train(model, args.data_dir, work, args.train_steps, log)
      print(f"[{model}] measuring...", flush=True)
      if args.observability:
        results[model] = observability(base, example, args, work, log)
      else:
        results[model] = bench_model(base, example, args, work, log)
  if args.observability:
    report = {"when": stamp, "args": vars(args), "cpu": cpu.describe(), "cores": os.cpu_count(),
              "results": results}
    out = os.path.join(args.out_dir, f"serving-observability-{stamp}.json")
    with open(out, "w") as f:
      json.dump(report, f, indent=2)
    print(observability_table(results))
    print(f"[{cpu.line(report['cpu'])}] wrote {out} (log {log_path})")
    return
  report = {"when": stamp, "args": {k: v for k, v in vars(args).items()}, "cpu": cpu.describe(),
            "cores": os.cpu_count(), "results": results, "targets": verdicts(results)}
  out = os.path.join(args.out_dir, f"serving-{stamp}.json")
  with open(out, "w") as f:
    json.dump(report, f, indent=2)
  print(table(results, args.clients))
  for name, v in report["targets"].items():
    floor = f", in-process floor {v['floor_p50_ms']}" if "floor_p50_ms" in v else ""
    floor += f", {v['errors']} errors in the loads" if v.get("errors") else ""
    print(f"  {name}: {v['measured']} (target {v['target']}{floor}) "
          f"{'met' if v['met'] else 'MISSED'}")
  print(f"[{cpu.line(report['cpu'])}] wrote {out} (log {log_path})")


if __name__ == "__main__":
  main()
