"""Status latency under inference load: `GET /v1/models/M` p99 while CNN :predict calls run.

Issue 17's target: with 4 closed-loop clients on CNN `:predict` (wrk, one thread,
4 connections, b64 tf.Example rows), `GET /v1/models/mnist` p99 <= 10 ms. The
server is `mnist-tfx serve` from --server-root (another checkout measures older
code: `git worktree add /tmp/before <commit>`), its own process; this process
probes status every --interval-ms on one keep-alive connection (http.client,
TCP_NODELAY). Client, probe and server share the machine's cores, so the figures
include them. Median over --runs server starts; a run with any non-2xx answer or
failed probe is never "met". Writes bench/results/status-latency-<label>-<time>.json.

  python -m bench.status_latency --base /tmp/cnnbase --label after
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List

from bench import cpu, serving

ROOT = serving.ROOT
TARGET_P99_MS = 10.0
# The server under `sys.setswitchinterval(S)` when --switch-interval is given (any checkout).
_WRAPPER = ("import sys; s = float(sys.argv.pop(1)); s > 0 and sys.setswitchinterval(s); "
            "from runners import cli; sys.argv[0] = 'mnist-tfx'; sys.exit(cli.main())")


@contextlib.contextmanager
def server(root: str, base: str, switch_interval: float, log, extra=()):
  ports = {"rest": serving.free_port(), "grpc": serving.free_port()}
  proc = subprocess.Popen([serving.PY, "-c", _WRAPPER, str(switch_interval), "serve",
                           "--model-base-path", base, "--model-name", "mnist",
                           "--rest-port", str(ports["rest"]), "--grpc-port", str(ports["grpc"]),
                           *extra],
                          cwd=root, stdout=log, stderr=log)
  try:
    deadline = time.monotonic() + 180
    while True:
      if proc.poll() is not None:
        raise SystemExit(f"bench: the server exited with {proc.returncode} (see the log)")
      with contextlib.suppress(OSError):
        connection = http.client.HTTPConnection("127.0.0.1", ports["rest"], timeout=5)
        connection.request("GET", "/v1/models/mnist")
        if connection.getresponse().status == 200:
          break
      if time.monotonic() > deadline:
        raise SystemExit("bench: the server did not come up in 180 s")
      time.sleep(0.2)
    yield ports["rest"]
  finally:
    serving.terminate(proc)


def probe(port: int, seconds: float, interval: float) -> Dict[str, Any]:
  """Status calls every `interval` for `seconds`: latencies (s) and failures."""
  connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
  connection.connect()
  connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  samples: List[float] = []
  failures = 0
  end = time.perf_counter() + seconds
  while time.perf_counter() < end:
    started = time.perf_counter()
    try:
      connection.request("GET", "/v1/models/mnist")
      reply = connection.getresponse()
      reply.read()
      ok = reply.status == 200
    except OSError:
      ok = False
    samples.append(time.perf_counter() - started)
    failures += not ok
    time.sleep(max(0.0, started + interval - time.perf_counter()))
  connection.close()
  return {"samples": samples, "failures": failures}


def wrk(port: int, body: bytes, clients: int, seconds: float, work: str) -> Dict[str, Any]:
  script = os.path.join(work, "predict.lua")
  with open(script, "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body.decode())}\n")
  out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{round(seconds)}s", "-s", script,
                        f"http://127.0.0.1:{port}/v1/models/mnist:predict"],
                       capture_output=True, text=True, check=True).stdout
  return serving.parse_wrk(out)


def one_run(args, body: bytes, work: str, log) -> Dict[str, Any]:
  with server(args.server_root, args.base, args.switch_interval, log, args.server_arg) as port:
    idle = probe(port, 2.0, args.interval_ms / 1e3)
    result: Dict[str, Any] = {}
    load = threading.Thread(target=lambda: result.update(
        wrk(port, body, args.clients, args.seconds + 2, work)))
    load.start()
    time.sleep(1.0)  # wrk connected and the server busy before the window
    busy = probe(port, args.seconds, args.interval_ms / 1e3)
    load.join()
  if not result:
    raise SystemExit("bench: wrk failed (see above)")
  return {"idle": {**serving.percentiles(idle["samples"]), "failures": idle["failures"]},
          "under_load": {**serving.percentiles(busy["samples"]), "max_ms": round(max(busy["samples"]) * 1e3, 3),
                         "probes": len(busy["samples"]), "failures": busy["failures"]},
          "predict": result}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--base", required=True, help="a base path holding a CNN version (1/)")
  parser.add_argument("--server-root", default=ROOT, help="the checkout whose server runs")
  parser.add_argument("--label", default="current")
  parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
  parser.add_argument("--clients", type=int, default=4)
  parser.add_argument("--seconds", type=int, default=10)
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--interval-ms", type=float, default=10.0)
  parser.add_argument("--switch-interval", type=float, default=0.0,
                      help="sys.setswitchinterval in the server, seconds (0: leave the server's)")
  parser.add_argument("--server-arg", action="append", default=[],
                      help="one more `mnist-tfx serve` flag, e.g. --server-arg=--rest-api-num-threads=2")
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  os.makedirs(args.out_dir, exist_ok=True)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  body = serving.rest_body(serving.one_example(args.data_dir))
  log_path = os.path.join(args.out_dir, f"status-latency-{args.label}-{stamp}.log")
  with open(log_path, "w") as log, tempfile.TemporaryDirectory(prefix="status-latency-") as work:
    runs = [one_run(args, body, work, log) for _ in range(args.runs)]
  p99 = statistics.median(r["under_load"]["p99_ms"] for r in runs)
  errors = sum(r["under_load"]["failures"] + r["predict"]["errors"] for r in runs)
  report = {
      "when": stamp, "label": args.label, "args": vars(args), "cpu": cpu.describe(),
      "cores": os.cpu_count(),
      "server_commit": subprocess.run(["git", "-C", args.server_root, "rev-parse", "--short", "HEAD"],
                                      capture_output=True, text=True).stdout.strip(),
      "runs": runs,
      "median": {"status_p50_ms": statistics.median(r["under_load"]["p50_ms"] for r in runs),
                 "status_p99_ms": p99,
                 "idle_status_p99_ms": statistics.median(r["idle"]["p99_ms"] for r in runs),
                 "predict_requests_per_s": statistics.median(r["predict"]["requests_per_s"] for r in runs),
                 "errors": errors},
      "target": {"status_p99_ms": TARGET_P99_MS, "met": p99 <= TARGET_P99_MS and errors == 0}}
  out = os.path.join(args.out_dir, f"status-latency-{args.label}-{stamp}.json")
  with open(out, "w") as f:
    json.dump(report, f, indent=2)
  print(f"{'run':>4} {'idle p99':>8} {'status p50':>10} {'p99':>7} {'max':>7} {'predict/s':>9} {'errors':>6}")
  for i, r in enumerate(runs, 1):
    print(f"{i:4} {r['idle']['p99_ms']:8.2f} {r['under_load']['p50_ms']:10.2f} "
          f"{r['under_load']['p99_ms']:7.2f} {r['under_load']['max_ms']:7.2f} "
          f"{r['predict']['requests_per_s']:9.1f} {r['under_load']['failures'] + r['predict']['errors']:6}")
  m = report["median"]
  print(f"median status p99 {m['status_p99_ms']} ms under {args.clients} CNN predict clients "
        f"(target {TARGET_P99_MS}, errors {errors}): {'met' if report['target']['met'] else 'MISSED'}"
        f"  [{cpu.line(report['cpu'])}, server {report['server_commit']}]")
  print(f"wrote {out}")


if __name__ == "__main__":
  sys.exit(main())
