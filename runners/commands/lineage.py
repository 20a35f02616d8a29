"""`mnist-tfx lineage`: where a pushed model came from, back to its input data."""

from runners.commands import options

NAME = "lineage"
HELP = "where a pushed model came from, back to its input data (ML Metadata only)"


def add_arguments(parser) -> None:
  parser.add_argument("model", metavar="PATH_OR_VERSION",
                      help="a pushed version directory or its version number")
  options.add_store_arguments(parser)


def handle(args, terminal) -> int:
  from runners.handler import history_handler  # pylint: disable=import-outside-toplevel
  return history_handler.lineage(args, terminal)
