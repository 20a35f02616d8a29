"""Warm start against a cold start on the same new span: Trainer seconds, first-epoch loss, accuracy.

    python -m bench.warm_start [--model softmax] [--epochs 10,5,2] [--runs 1]

Real MNIST cut into two spans (the training file's halves, each with its own eval part and the
canonical 10,000 test images). One home trains the model cold on span 1 and pushes it; span 2
is then published and, in a copy of that home per variant, trained on (window 1: span 2 only):
cold with the recipe's epochs (`--warm-start off`, the baseline), and warm from the served span-1
model with each of --epochs. Each variant is a real `mnist-tfx run`; its Trainer seconds and
test accuracy come from the run's summary (ML Metadata), the first-epoch loss from its progress
line. Medians over --runs. JSON goes to bench/results/warm-start-<model>-<stamp>.json.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # writing the spans loads TensorFlow

from bench import cpu  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _publish(root: str, span: int, train, evaluation) -> None:
  """span-<span>/ of real MNIST: training-file records [start, stop) as train and eval, the
  canonical 10,000 test images as test."""
  from components import mnist_example_encoding  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from pipelines import examples_dir, mnist_pipeline  # pylint: disable=import-outside-toplevel
  mnist = mnist_pipeline.default_data_dir() or mnist_pipeline.SHARED_MNIST_DIR

  def records(prefix, start, stop):
    images, labels = idx_reader.read_pair(idx_reader.find_pair(mnist, prefix))
    return mnist_example_encoding.encode_examples(images[start:stop], labels[start:stop])
  examples_dir.publish_span(root, span, {"train": records("train", *train),
                                         "eval": records("train", *evaluation),
                                         "test": records("t10k", 0, 10000)})


def _run(home: str, data: str, model: str, *extra: str):
  summary_path = os.path.join(os.path.dirname(home), f"summary-{time.time_ns()}.json")
  proc = subprocess.run([sys.executable, "-m", "runners.cli", "run", "--model", model,
                         "--examples-dir", data, "--home", home, "--summary-json", summary_path,
                         *extra], capture_output=True, text=True, cwd=ROOT, check=False)
  if proc.returncode not in (0, 3):
    raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
  with open(summary_path) as f:
    summary = json.load(f)
  loss = float(re.search(r"epoch 1/\d+\s+loss (\S+)", proc.stdout).group(1))
  return {"trainer_s": summary["component_seconds"]["Trainer"], "first_epoch_loss": loss,
          "accuracy": summary["metrics"]["sparse_categorical_accuracy"],
          "blessed": summary["blessed"], "warm_start_from": summary["warm_start_from"]}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="bench.warm_start", description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="softmax")
  parser.add_argument("--epochs", default="10,5,2", help="warm-start epoch counts to try")
  parser.add_argument("--runs", type=int, default=1)
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  from models.mnist import recipes  # pylint: disable=import-outside-toplevel
  print(cpu.line(), flush=True)
  recipe_epochs = recipes.default_recipe(args.model).epochs
  work = tempfile.mkdtemp(prefix="warm-start-")
  data = os.path.join(work, "data")
  os.makedirs(data)
  _publish(data, 1, (0, 27500), (55000, 57500))
  served = os.path.join(work, "served-home")
  _run(served, data, args.model)  # cold on span 1: what is served when span 2 arrives
  _publish(data, 2, (27500, 55000), (57500, 60000))
  variants = [("cold", recipe_epochs, ["--warm-start", "off"])] + [
      ("warm", int(e), ["--epochs", e]) for e in args.epochs.split(",")]
  results = []
  for kind, epochs, extra in variants:
    measured = []
    for i in range(args.runs):
      home = os.path.join(work, f"{kind}-{epochs}-{i}")
      shutil.copytree(served, home)
      measured.append(_run(home, data, args.model, *extra))
      shutil.rmtree(home)
    row = {"start": kind, "epochs": epochs, "runs": measured,
           **{k: statistics.median(m[k] for m in measured)
              for k in ("trainer_s", "first_epoch_loss", "accuracy")}}
    results.append(row)
    print(f"{kind:>4} {epochs:>2} epochs: Trainer {row['trainer_s']:6.1f} s, first-epoch loss "
          f"{row['first_epoch_loss']:.4f}, test accuracy {row['accuracy']:.4f} "
          f"(median of {args.runs})", flush=True)
  os.makedirs(args.out_dir, exist_ok=True)
  path = os.path.join(args.out_dir, f"warm-start-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}.json")
  with open(path, "w") as f:
    json.dump({"cpu": cpu.describe(), "model": args.model, "variants": results}, f, indent=2)
  print(f"wrote {path}")
  shutil.rmtree(work)
  return 0


if __name__ == "__main__":
  sys.exit(main())
