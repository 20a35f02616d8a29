"""`mnist-tfx models`: every pushed version, newest first, with the run that produced it."""

from runners.commands import options

NAME = "models"
HELP = ("every pushed version of each served model: when, by which run, its metrics, blessing, "
        "data, size and labels (ML Metadata and the version directories; no TensorFlow)")


def add_arguments(parser) -> None:
  options.add_store_arguments(parser)
  parser.add_argument("--model-config-file", metavar="FILE",
                      help="a TF Serving model config: list its models' base paths and show the "
                      "labels it gives (default: every model under HOME/serving/)")
  parser.add_argument("--json", action="store_true", help="a JSON list instead of a table")


def handle(args, terminal) -> int:
  from runners.handler import lifecycle_handler  # pylint: disable=import-outside-toplevel
  return lifecycle_handler.models(args, terminal)
