"""The model lifecycle on versions real runs pushed: `models`, `promote`, `rollback`, live.

A copy of the MNIST scenario's home (its softmax version pushed by a full run) gets a second
version from a second real run: the Mechanics-101 MLP, which beats the served softmax and is
pushed beside it under the same model name. `mnist-tfx models` lists both with their runs and
metrics; `mnist-tfx serve` re-reads its config file while four clients (two REST, two gRPC)
ask for `stable` without pause, and the real `promote` and `rollback` commands move the
label: no request fails, and each change reaches traffic.
"""

import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
import requests

from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract
from serving.client import grpc_client, mnist as mnist_client, rest
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, fixtures.needs_mnist]


@pytest.fixture(scope="module")
def two_versions(mnist_scenario, tmp_path_factory):
  """(home, [older version, newer version]) after a second real run in a copy of the home."""
  home = str(tmp_path_factory.mktemp("lifecycle") / "home")
  shutil.copytree(mnist_scenario.home, home, ignore=shutil.ignore_patterns("*.lock", "logs", "reports"))
  first = int(os.path.basename(mnist_scenario.first.summary["pushed_path"]))
  _, summary = fixtures.run_pipeline(home, ["--pipeline", "mnist", "--model", "mlp", "--data-dir",
                                            fixtures.MNIST_DIR])
  assert summary["blessed"] and summary["pushed_path"], summary
  second = int(os.path.basename(summary["pushed_path"]))
  assert second > first
  return home, [first, second], summary


def test_models_lists_both_runs_versions_with_their_metrics(two_versions):
  home, (first, second), summary = two_versions
  out = fixtures.run_cli(["models", "--home", home, "--json"], timeout=60)
  assert out.returncode == 0, out.stderr
  listed = {v["version"]: v for v in json.loads(out.stdout) if v["model"] == contract.SERVING_MODEL_NAME}
  assert sorted(listed) == [first, second]
  for version in (first, second):
    assert listed[version]["recorded"] and listed[version]["run_id"] and listed[version]["blessed"]
  assert 0.92 <= listed[first]["metrics"]["sparse_categorical_accuracy"] < 0.975  # softmax
  assert listed[second]["metrics"]["sparse_categorical_accuracy"] >= 0.975  # mlp
  assert listed[second]["run_id"] == summary["run_id"] and listed[second]["pipeline"] == "mnist_mlp"
  assert listed[second]["metrics"]["sparse_categorical_accuracy"] == pytest.approx(summary["metrics"]["sparse_categorical_accuracy"])


def test_promote_and_rollback_under_labelled_load_fail_no_request(two_versions, tmp_path):
  home, (first, second), _ = two_versions
  base = os.path.join(home, "serving", contract.SERVING_MODEL_NAME)
  config = tmp_path / "models.config"
  config.write_text(f'model_config_list {{ config {{ name: "mnist" base_path: "{base}" model_platform: "tensorflow" }} }}')
  promote = fixtures.run_cli(["promote", "--model-config-file", str(config), "--model", "mnist",
                              "--version", str(first), "--label", "stable"], timeout=60)
  assert promote.returncode == 0, promote.stderr
  images = idx_reader.read_images(os.path.join(fixtures.MNIST_DIR, "t10k-images-idx3-ubyte.gz"))[:200]
  failures, answered, stop = [], [0], threading.Event()

  def label_version():
    reply = requests.get(f"http://127.0.0.1:{rest_port}/v1/models/mnist/labels/stable/metadata", timeout=5)
    return int(reply.json()["model_spec"]["version"]) if reply.ok else None

  def client(i):
    target = (rest.RestClient(f"http://127.0.0.1:{rest_port}", "mnist", None, "stable") if i % 2 else
              grpc_client.GrpcClient(f"127.0.0.1:{grpc_port}", "mnist", None, "stable"))
    n = 0
    while not stop.is_set():
      try:
        mnist_client.classify(target, [images[n % len(images)]])
        answered[0] += 1
      except Exception as e:  # pylint: disable=broad-except
        failures.append(f"{type(target).__name__}: {e}")
      n += 1

  with fixtures.serve(["--model-config-file", str(config), "--model-config-file-poll-wait-seconds", "0.5"]
                      ) as (server, rest_port, grpc_port):
    assert label_version() == first
    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
      thread.start()
    try:
      for command, want in ((["promote", "--version", str(second)], second), (["rollback"], first)):
        time.sleep(1.0)
        before = answered[0]
        out = fixtures.run_cli([command[0], "--model-config-file", str(config), "--model", "mnist",
                                *command[1:], "--label", "stable"], timeout=60)
        assert out.returncode == 0, out.stderr
        deadline = time.monotonic() + 60
        while label_version() != want:
          assert time.monotonic() < deadline, f"stable never reached {want}"
          time.sleep(0.05)
        assert answered[0] > before  # traffic ran across the change
      time.sleep(1.0)
    finally:
      stop.set()
      for thread in threads:
        thread.join()
    status = requests.get(f"http://127.0.0.1:{rest_port}/v1/models/mnist").json()["model_version_status"]
  assert failures == []
  assert answered[0] > 100
  # After the rollback only the labelled version is loaded; the other was unloaded.
  assert {int(s["version"]): s["state"] for s in status} == {first: "AVAILABLE", second: "END"}
  assert "Traceback" not in server.stderr.read()
