"""How long a `mnist-tfx promote` takes to reach traffic, and what the traffic saw meanwhile.

    python -m bench.label_switch --base DIR [--rounds 5] [--clients 4] [--poll 1]

DIR is a pushed model's base path (DIR/<version>/saved_model.pb, e.g. tfx_home/serving/mnist).
Its newest version is copied under two new version numbers in a scratch base path, so the
switch loads a real pushed model (TensorFlow load + warmup replay) every time. `mnist-tfx serve`
runs as its own process with --model-config-file-poll-wait-seconds; 4 client threads (2 REST,
2 gRPC) send one real MNIST tf.Example each, addressed by the `stable` label, without pause.
Each round runs the real `mnist-tfx promote` command and measures, from its start, the
time until the first answer from the new version: that is the file poll interval, the load
and warmup, and the label move. Failed requests are counted (the target is zero); the two copies answer alike, so the label's version is read from
its metadata (`/v1/models/mnist/labels/stable/metadata`, whose model_spec names it). JSON goes
to bench/results/label-switch-<stamp>.json.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

from bench import cpu, serving

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [os.path.join(os.path.dirname(sys.executable), "mnist-tfx")]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="bench.label_switch", description=__doc__.splitlines()[0])
  parser.add_argument("--base", required=True, help="a pushed model's base path")
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--clients", type=int, default=4)
  parser.add_argument("--poll", type=float, default=1.0, help="--model-config-file-poll-wait-seconds")
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  from serving.client import grpc_client, mnist as mnist_client, rest  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel

  newest = max(int(v) for v in os.listdir(args.base) if v.isdigit())
  work = tempfile.mkdtemp(prefix="label-switch-")
  base = os.path.join(work, "mnist")
  versions = [1, 2]
  for version in versions:
    shutil.copytree(os.path.join(args.base, str(newest)), os.path.join(base, str(version)))
  config = os.path.join(work, "models.config")
  with open(config, "w") as f:
    f.write(f'model_config_list {{ config {{ name: "mnist" base_path: "{base}" model_platform: "tensorflow" '
            f'model_version_policy {{ specific {{ versions: 1 }} }} version_labels {{ key: "stable" value: 1 }} }} }}\n')
  images = idx_reader.read_images(os.path.join(ROOT, "..", "shared", "data", "mnist", "t10k-images-idx3-ubyte.gz"))
  stop = threading.Event()
  log = []  # (time, error or None)
  lock = threading.Lock()

  def client(i):
    if i % 2:
      c = grpc_client.GrpcClient(f"127.0.0.1:{grpc_port}", "mnist", None, "stable")
    else:
      c = rest.RestClient(f"http://127.0.0.1:{rest_port}", "mnist", None, "stable")
    n = 0
    while not stop.is_set():
      try:
        mnist_client.classify(c, [images[n % len(images)]])
        with lock:
          log.append((time.monotonic(), None))
      except Exception as e:  # pylint: disable=broad-except
        with lock:
          log.append((time.monotonic(), str(e)[:200]))
      n += 1

  server_log = open(os.path.join(work, "server.log"), "w")  # pylint: disable=consider-using-with
  source = ["--model-config-file", config, "--model-config-file-poll-wait-seconds", str(args.poll)]
  with serving.model_server(base, False, server_log, source=source) as ports:
    rest_port, grpc_port = ports["rest"], ports["grpc"]
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for t in threads:
      t.start()
    switches = []
    target = 1
    for _ in range(args.rounds):
      time.sleep(1.0)
      target = 2 if target == 1 else 1
      started = time.monotonic()
      proc = subprocess.run(CLI + ["promote", "--model-config-file", config, "--model", "mnist", "--version",
                                   str(target), "--label", "stable"], capture_output=True, text=True)
      if proc.returncode:
        raise SystemExit(f"bench: promote failed: {proc.stderr.strip()}")
      while True:  # the label resolves to the target once status by label says so
        reply = requests.get(f"http://127.0.0.1:{rest_port}/v1/models/mnist/labels/stable/metadata", timeout=5)
        if reply.ok and reply.json()["model_spec"]["version"] == str(target):
          break
        if time.monotonic() - started > 120:
          raise SystemExit("bench: the label did not move within 120 s")
        time.sleep(0.01)
      switches.append(time.monotonic() - started)
    time.sleep(1.0)
    stop.set()
    for t in threads:
      t.join(timeout=10)
  server_log.close()
  errors = [e for _, e in log if e]
  result = {"cpu": cpu.describe(), "cores": os.cpu_count(), "poll_seconds": args.poll, "clients": args.clients, "rounds": args.rounds,
            "switch_seconds": switches, "switch_seconds_median": statistics.median(switches),
            "requests": len(log), "failed_requests": len(errors), "first_errors": errors[:5],
            "requests_per_second": len(log) / (log[-1][0] - log[0][0]) if len(log) > 1 else 0.0}
  os.makedirs(args.out_dir, exist_ok=True)
  out = os.path.join(args.out_dir, f"label-switch-{time.strftime('%Y%m%d-%H%M%S')}.json")
  with open(out, "w") as f:
    json.dump(result, f, indent=2)
  print(f"promote -> label resolves: median {result['switch_seconds_median']:.2f} s "
        f"(rounds: {', '.join(f'{s:.2f}' for s in switches)}; poll every {args.poll:g} s)")
  print(f"{result['requests']} labelled requests from {args.clients} clients "
        f"({result['requests_per_second']:.0f}/s), {result['failed_requests']} failed")
  print(f"[{cpu.line(result['cpu'])}] wrote {out}")
  shutil.rmtree(work, ignore_errors=True)
  return 1 if errors else 0


if __name__ == "__main__":
  sys.exit(main())
