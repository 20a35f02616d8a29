"""`mnist-tfx report`: one self-contained HTML page of a run."""

from runners.commands import options

NAME = "report"
HELP = "one self-contained HTML page of a run: data, training, evaluation, push"


def add_arguments(parser) -> None:
  options.add_store_arguments(parser)
  parser.add_argument("--run", default="latest", metavar="ID",
                      help="a run id from `mnist-tfx runs` (default: the latest run)")
  parser.add_argument("--output", metavar="FILE.html",
                      help="where to write it (default HOME/reports/<run id>.html)")


def handle(args, terminal) -> int:
  from runners.handler import report_handler  # pylint: disable=import-outside-toplevel
  return report_handler.report(args, terminal)
