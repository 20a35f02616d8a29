"""`mnist-tfx`: run the project's TFX pipelines locally.

    mnist-tfx run --pipeline mnist --model softmax [--data-dir DIR] [--home DIR]
                  [--summary-json FILE]
    mnist-tfx run --pipeline regression --model linear [--examples N] [--noise S] [--seed S]

The terminal shows one line per component and a summary; everything TF,
Beam and absl print goes to <home>/logs/<pipeline>-<time>.log. User errors
(bad data, bad flags) are one line on stderr and exit code 2; a model the
Evaluator does not bless exits 3 with nothing pushed.
"""

import argparse
import dataclasses
import datetime
import json
import os
import sys
import time
from typing import List, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXIT_USER_ERROR = 2
EXIT_NOT_BLESSED = 3
EXIT_FAILED = 1


class UserError(Exception):
  """Something the user can fix; printed as one line without a traceback."""


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="mnist-tfx", description=__doc__.splitlines()[0])
  sub = parser.add_subparsers(dest="command", required=True)
  run = sub.add_parser("run", help="run a pipeline with LocalDagRunner and Beam DirectRunner")
  run.add_argument("--pipeline", choices=["mnist", "regression"], default="mnist")
  run.add_argument("--model", help="trainer model (mnist: softmax [default], mlp, cnn; "
                   "regression: linear)")
  run.add_argument("--data-dir", help="directory with the four MNIST IDX files "
                   "(default: ../shared/data/mnist if present, else tensorflow-datasets)")
  run.add_argument("--home", default="tfx_home",
                   help="pipeline root, SQLite metadata, logs and serving/ (default: ./tfx_home)")
  run.add_argument("--epochs", type=int, help="training epochs (overrides the recipe)")
  run.add_argument("--train-steps", type=int, help="training steps (overrides --epochs)")
  run.add_argument("--summary-json", help="write metrics, blessing, pushed path and "
                   "per-component seconds to this file")
  run.add_argument("--no-cache", action="store_true", help="rerun every component")
  regression = run.add_argument_group("regression pipeline (y = 2x + 1)")
  regression.add_argument("--examples", type=int, default=1000, help="examples to generate")
  regression.add_argument("--noise", type=float, default=0.0, help="Gaussian noise σ on y")
  regression.add_argument("--seed", type=int, default=0, help="generator seed")
  return parser


def _check_positive(name: str, value: Optional[int]) -> None:
  if value is not None and value <= 0:
    raise UserError(f"--{name} must be a positive integer, got {value}")


def _with_overrides(recipe, args):
  """Applies --epochs / --train-steps to a recipe dataclass."""
  overrides = {}
  if args.epochs is not None:
    overrides["epochs"] = args.epochs
  if args.train_steps is not None:
    overrides["train_steps"] = args.train_steps
  return dataclasses.replace(recipe, **overrides)


def _build_regression(args, config):
  from components.regression_example_gen.generator import GeneratorConfig  # pylint: disable=import-outside-toplevel
  try:  # numpy only: a bad value fails before TF loads
    generator = GeneratorConfig(num_examples=args.examples, noise_stddev=args.noise, seed=args.seed)
  except ValueError as e:
    raise UserError(f"regression data: {e}") from None
  from models.regression import model as regression_model  # pylint: disable=import-outside-toplevel
  from pipelines import regression_pipeline  # pylint: disable=import-outside-toplevel
  if args.model not in regression_model.MODEL_NAMES:
    raise UserError(f"--model {args.model}: unknown regression model, expected one of "
                    f"{', '.join(regression_model.MODEL_NAMES)}")
  recipe = _with_overrides(regression_model.TrainingRecipe(model=args.model), args)
  return (regression_pipeline.create_pipeline(config, generator, recipe),
          f"{generator.num_examples} examples of y = 2x + 1, noise σ {generator.noise_stddev}, "
          f"seed {generator.seed}, model {recipe.model}, {recipe.describe()}")


def _regression_checks(summary) -> None:
  """The tutorial's check on the pushed model: w, b and extrapolation to x in [1, 2]."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  xs = [0.0, 0.5, 1.0, 1.5, 2.0]
  # The trained model, pushed or not, so an unblessed run still reports what it learned.
  model_dir = os.path.join(summary.model_uri, "Format-Serving")
  predict = tf.saved_model.load(model_dir).signatures["predict_x"]
  ys = predict(x=tf.constant(xs, tf.float32))["predictions"].numpy().tolist()
  summary.details = {
      "w": round(ys[2] - ys[0], 6), "b": round(ys[0], 6),
      "predictions": {str(x): round(y, 6) for x, y in zip(xs, ys)},
      "max_abs_error_vs_2x_plus_1": round(max(abs(y - (2 * x + 1)) for x, y in zip(xs, ys)), 6),
  }


def _build_mnist(args, config):
  # Cheap checks first: a bad flag or file fails in a second, before TF loads.
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from pipelines import configs  # pylint: disable=import-outside-toplevel

  data_dir = args.data_dir if args.data_dir is not None else configs.default_data_dir()
  if data_dir is not None:
    data_dir = os.path.abspath(data_dir)
    try:
      idx_reader.validate_data_dir(data_dir)  # fail before anything runs or is recorded
    except idx_reader.IdxFormatError as e:
      raise UserError(str(e)) from None
  from models.mnist import model as mnist_model  # pylint: disable=import-outside-toplevel
  from pipelines import mnist_pipeline  # pylint: disable=import-outside-toplevel
  if args.model not in mnist_model.MODEL_BUILDERS:
    raise UserError(f"--model {args.model}: unknown MNIST model, expected one of "
                    f"{', '.join(sorted(mnist_model.MODEL_BUILDERS))}")
  recipe = _with_overrides(mnist_model.default_recipe(args.model), args)
  source = data_dir or "tensorflow-datasets (mnist)"
  return (mnist_pipeline.create_pipeline(config, configs.MnistConfig(data_dir=data_dir), recipe),
          f"data {source}, model {recipe.model}, {recipe.describe()}")


BUILDERS = {"mnist": _build_mnist, "regression": _build_regression}
DEFAULT_MODELS = {"mnist": "softmax", "regression": "linear"}
CHECKS = {"regression": _regression_checks}


def run_command(args, terminal) -> int:
  from pipelines import configs, local_runner, run_summary  # pylint: disable=import-outside-toplevel

  _check_positive("epochs", args.epochs)
  _check_positive("train-steps", args.train_steps)
  args.model = args.model or DEFAULT_MODELS[args.pipeline]
  # One TFX pipeline per model, so the Evaluator's baseline (the latest blessed model of the
  # pipeline) is always of the same model; all push to the one TF Serving model name.
  config = configs.PipelineConfig(pipeline_name=f"{args.pipeline}_{args.model}",
                                  serving_name=args.pipeline, home=args.home,
                                  enable_cache=not args.no_cache)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(config.log_dir, f"{config.pipeline_name}-{stamp}.log")
  started = time.monotonic()
  with local_runner.quiet_logs(log_path):
    try:
      pipeline, description = BUILDERS[args.pipeline](args, config)
      terminal.out.write(f"{config.pipeline_name} pipeline: {description}\n"
                         f"home {os.path.abspath(args.home)}; log {log_path}\n")
      progress = local_runner.ProgressHandler(terminal.out, total=len(pipeline.components))
      timings = local_runner.run(pipeline, progress)
      summary = run_summary.latest_run(config.metadata_path, config.pipeline_name)
      if summary.model_uri and args.pipeline in CHECKS:
        CHECKS[args.pipeline](summary)
    except UserError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      import traceback  # pylint: disable=import-outside-toplevel
      traceback.print_exc()  # to the log
      first_line = str(e).splitlines()[0] if str(e) else ""
      raise RuntimeError(f"pipeline failed: {type(e).__name__}: {first_line} "
                         f"(full trace in {log_path})") from None
  summary.component_seconds = {t.name: round(t.seconds, 2) for t in timings}
  summary.cached_components = [t.name for t in timings if t.cached]
  summary.total_seconds = round(time.monotonic() - started, 2)
  _print_summary(summary, terminal.out)
  if args.summary_json:
    with open(args.summary_json, "w") as f:
      json.dump(dataclasses.asdict(summary), f, indent=2, sort_keys=True)
  return 0 if summary.blessed and not summary.anomalies else EXIT_NOT_BLESSED


def _print_summary(summary, out) -> None:
  out.write(f"\nRun {summary.run_id} finished in {summary.total_seconds:.1f} s "
            f"({len(summary.cached_components)} of {len(summary.component_seconds)} components cached)\n")
  for name, value in sorted(summary.metrics.items()):
    out.write(f"  {name:<30} {value:.4f}\n")
  for split, problems in summary.anomalies.items():
    for problem in problems:
      out.write(f"  ANOMALY in {split}: {problem}\n")
  for key, value in summary.details.items():
    out.write(f"  {key:<30} {value}\n")
  for failure in summary.failed_thresholds:
    out.write(f"  FAILED threshold: {failure}\n")
  if summary.blessed:
    out.write(f"  blessed: yes; pushed to {summary.pushed_path}\n")
  else:
    out.write("  blessed: NO; the Evaluator's thresholds were not met, nothing was pushed\n")
  out.flush()


def main(argv: Optional[List[str]] = None) -> int:
  args = _parser().parse_args(argv)
  # quiet_logs moves fd 1/2 to the log file; keep handles on the real terminal.
  from pipelines import local_runner  # pylint: disable=import-outside-toplevel
  terminal = local_runner.Terminal.dup_current()
  try:
    return run_command(args, terminal)
  except UserError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return EXIT_USER_ERROR
  except RuntimeError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return EXIT_FAILED
  except KeyboardInterrupt:
    terminal.err.write("mnist-tfx: interrupted\n")
    return 130


def entry_point() -> None:
  """Console-script entry: exit without the interpreter's teardown noise on the terminal."""
  sys.exit(main())


if __name__ == "__main__":
  entry_point()
