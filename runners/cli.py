"""`mnist-tfx`: run the project's TFX pipelines.

    mnist-tfx run --pipeline mnist --model softmax [--data-dir DIR] [--home DIR]
    mnist-tfx run --pipeline regression --model linear [--examples N] [--noise S] [--seed S]

The terminal shows one line per component and a summary; everything TF,
Beam and absl print goes to <home>/logs/<pipeline>-<time>.log.
Exit codes: 0 a model was pushed (or the one already served was confirmed);
3 nothing was pushed (not blessed); 2 a user error (bad flag, file or path:
one line on stderr, nothing run); 1 the pipeline failed (one line, trace in
the log).
"""

import models  # noqa: F401  (first: sets the Keras 2 switch before anything imports TensorFlow)

import argparse
import dataclasses
import json
import os
import sys
from typing import Dict, List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter stays out

EXIT_PUSHED = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_NOT_PUSHED = 3


class UserError(Exception):
  """Something the user can fix; printed as one line without a traceback."""


class _Parser(argparse.ArgumentParser):
  """argparse whose errors are one line (no usage block) and go through UserError."""

  def error(self, message):
    raise UserError(message)


def _add_run_parser(sub) -> None:
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  run = sub.add_parser("run", help="run a pipeline locally (LocalDagRunner, Beam DirectRunner)")
  run.add_argument("--pipeline", choices=sorted(registry.PIPELINES), default="mnist")
  run.add_argument("--model", help="trainer model; " + "; ".join(
      f"{d.name}: {', '.join(d.models)} (default {d.default_model})"
      for d in registry.PIPELINES.values()))
  run.add_argument("--home", default="tfx_home",
                   help="pipeline root, SQLite metadata, logs and serving/ (default: ./tfx_home)")
  run.add_argument("--epochs", type=int, help="training epochs (overrides the recipe)")
  run.add_argument("--train-steps", type=int, help="training steps (overrides --epochs)")
  run.add_argument("--summary-json", help="write metrics, blessing, pushed path and "
                   "per-component seconds to this file")
  run.add_argument("--no-cache", action="store_true", help="rerun every component")
  # Each pipeline's own flags. Defaults are suppressed so that a flag given for the wrong
  # pipeline can be told apart from one left alone, and rejected.
  seen: Dict[str, object] = {}
  for definition in registry.PIPELINES.values():
    group = run.add_argument_group(f"{definition.name} pipeline only")
    for option in definition.options:
      if option.flag in seen:
        continue
      seen[option.flag] = option
      group.add_argument(option.flag, type=option.type, default=argparse.SUPPRESS, help=option.help)


def _parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="mnist-tfx", description=__doc__.splitlines()[0])
  sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
  _add_run_parser(sub)
  return parser


def _pipeline_values(args, definition) -> Dict[str, object]:
  """The chosen pipeline's flags; UserError for a flag of another pipeline."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  own = {option.dest for option in definition.options}
  for other in registry.PIPELINES.values():
    for option in other.options:
      if option.dest not in own and hasattr(args, option.dest):
        raise UserError(f"{option.flag} does not apply to the {definition.name} pipeline "
                        f"(it is a {other.name} flag)")
  return {dest: getattr(args, dest) for dest in own if hasattr(args, dest)}


def run_command(args, terminal) -> int:
  from pipelines import definition as definitions, metadata, registry  # pylint: disable=import-outside-toplevel
  from runners import local  # pylint: disable=import-outside-toplevel

  definition = registry.get(args.pipeline)
  home = local.LocalHome(args.home)
  try:
    config = definition.configure(args.model, _pipeline_values(args, definition),
                                  {"epochs": args.epochs, "train_steps": args.train_steps})
    home.prepare()
  except (definitions.DefinitionError, local.HomeError, metadata.MetadataConfigError) as e:
    raise UserError(str(e)) from None
  result = local.run(definition, config, home, terminal.out, enable_cache=not args.no_cache)
  summary = result.summary
  _print_summary(summary, terminal.out)
  if args.summary_json:
    with open(args.summary_json, "w") as f:
      json.dump(dataclasses.asdict(summary), f, indent=2, sort_keys=True)
  return EXIT_PUSHED if summary.pushed_path else EXIT_NOT_PUSHED


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
  if summary.pushed_path:
    out.write(f"  blessed: yes; pushed to {summary.pushed_path}\n")
  elif summary.blessed:
    out.write("  blessed: yes, but nothing was pushed\n")
  else:
    out.write("  blessed: NO; the Evaluator's thresholds were not met, nothing was pushed\n")
  out.flush()


COMMANDS = {"run": run_command}


def main(argv: Optional[List[str]] = None) -> int:
  # quiet_logs moves fd 1/2 to the log file; keep handles on the real terminal.
  from runners import console, local  # pylint: disable=import-outside-toplevel
  terminal = console.Terminal.dup_current()
  try:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args, terminal)
  except UserError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return EXIT_USER_ERROR
  except local.PipelineFailed as e:
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
