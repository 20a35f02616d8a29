"""`mnist-tfx run`: a pipeline, here, with LocalDagRunner and Beam's DirectRunner."""

from runners.commands import options

NAME = "run"
HELP = "run a pipeline locally (LocalDagRunner, Beam DirectRunner) and push what it blesses"


def add_arguments(parser) -> None:
  options.add_pipeline_arguments(parser)
  options.add_store_arguments(parser)
  parser.add_argument("--summary-json", metavar="FILE", help="write metrics, blessing, pushed "
                      "path and per-component seconds to FILE")
  parser.add_argument("--no-cache", action="store_true", help="rerun every component")
  parser.add_argument("--verbose", action="store_true",
                      help="also stream the TF/absl/Beam log to stderr as it is written")
  parser.add_argument("--report", action="store_true",
                      help="write the run's HTML report to HOME/reports/<run id>.html at the end "
                      "(as `mnist-tfx report` names it)")
  options.add_beam_argument(parser)


def handle(args, terminal) -> int:
  from runners.handler import run_handler  # pylint: disable=import-outside-toplevel
  return run_handler.run(args, terminal)
