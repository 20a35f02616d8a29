"""Arguments more than one command takes, declared once (as TFX's tools/cli/commands share theirs).

Import-light: argparse, the pipeline registry (definitions are TF-free) and the runner's
constants, so `mnist-tfx --help` and a bad flag answer before TensorFlow loads.
"""

import argparse
import re
from typing import Dict, Sequence

from runners.errors import UserError

DEFAULT_HOME = "tfx_home"


class Parser(argparse.ArgumentParser):
  """argparse whose errors are one line (no usage block) and go through UserError."""

  def error(self, message):
    raise UserError(message)


def add_store_arguments(parser) -> None:
  """--home and --metadata: where runs keep (or find) their records."""
  parser.add_argument("--home", default=DEFAULT_HOME,
                      help="pipeline root, SQLite metadata, logs, reports and serving/ "
                      f"(default: ./{DEFAULT_HOME})")
  parser.add_argument("--metadata", metavar="PATH_OR_URL",
                      help="ML Metadata store: a SQLite file (default HOME/metadata.db) or "
                      "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (MySQL or MariaDB)")


def add_pipeline_arguments(parser, local_paths: bool = True) -> None:
  """--pipeline, --model, the recipe overrides and each pipeline's own flags.

  local_paths=False (compile) leaves out the flags naming directories of this machine:
  a spec compiled for a cluster must not carry them.
  """
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  definitions = list(registry.PIPELINES.values())
  default = "mnist"
  parser.add_argument("--pipeline", choices=sorted(registry.PIPELINES), default=default,
                      help=f"which pipeline (default {default})")
  parser.add_argument("--model", help="the model to train; " + "; ".join(
      f"{d.name}: {', '.join(d.models)} (default {d.default_model})" for d in definitions))
  parser.add_argument("--epochs", type=int, metavar="N", help="training epochs (overrides the recipe)")
  parser.add_argument("--train-steps", type=int, metavar="N",
                      help="training steps (overrides --epochs and the recipe)")
  # Each pipeline's own flags, grouped by which pipelines take them. Defaults are suppressed
  # so that a flag given for the wrong pipeline can be told apart from one left alone.
  takers: Dict[str, list] = {}
  options = {}
  for definition in definitions:
    for option in definition.options:
      if local_paths or not option.local_path:
        takers.setdefault(option.flag, []).append(definition.name)
        options.setdefault(option.flag, option)
  groups = {}
  for flag, names in takers.items():
    title = ("every pipeline" if len(names) == len(definitions)
             else f"{' and '.join(names)} pipeline{'s' if len(names) > 1 else ''} only")
    if title not in groups:
      groups[title] = parser.add_argument_group(title)
    option = options[flag]
    kwargs = dict(default=argparse.SUPPRESS, help=option.help_text)
    if option.type is bool:
      kwargs["action"] = "store_true"
    else:
      kwargs.update(type=option.type, choices=option.choices, metavar=option.metavar)
    groups[title].add_argument(flag, **kwargs)


def pipeline_values(args, definition) -> Dict[str, object]:
  """The chosen pipeline's flags the user gave; UserError for a flag of another pipeline."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  own = {option.dest for option in definition.options}
  for other in registry.PIPELINES.values():
    for option in other.options:
      if option.dest not in own and hasattr(args, option.dest):
        raise UserError(f"{option.flag} does not apply to the {definition.name} pipeline "
                        f"(it is a {other.name} flag)")
  return {dest: getattr(args, dest) for dest in own if hasattr(args, dest)}


def recipe_overrides(args) -> Dict[str, object]:
  return {"epochs": args.epochs, "train_steps": args.train_steps}


def add_beam_argument(parser) -> None:
  from runners import local  # pylint: disable=import-outside-toplevel
  parser.add_argument(
      "--beam-arg", action="append", default=[], metavar="FLAG",
      help="a Beam pipeline flag for every Beam-backed component, repeatable, e.g. "
      "--beam-arg=--runner=DataflowRunner; replaces the automatic choice (default: run "
      f"locally, DirectRunner in this process below {local.MULTI_PROCESSING_FROM:,} input "
      "examples, multi-processing with one worker per core from there; the run's third "
      "line says which)")


def check_beam_args(flags: Sequence[str]) -> None:
  """Beam would reject a malformed flag only once a component starts; refuse it up front."""
  for flag in flags:
    if not re.fullmatch(r"--[A-Za-z_][A-Za-z0-9_]*(=.*)?", flag, re.DOTALL):
      raise UserError(f"--beam-arg {flag!r}: expected a Beam pipeline flag such as "
                      "--runner=DataflowRunner or --direct_num_workers=2")
