"""`mnist-tfx runs`: past runs from ML Metadata, newest first."""

from runners.commands import options

NAME = "runs"
HELP = "past runs from ML Metadata, newest first (no TensorFlow: answers in well under 2 s)"


def add_arguments(parser) -> None:
  options.add_store_arguments(parser)
  parser.add_argument("--pipeline", help="only this pipeline's runs: a --pipeline of `run` "
                      "(mnist, regression) or a TFX pipeline name as the table shows it "
                      "(mnist_softmax)")
  parser.add_argument("--model", help="with --pipeline: only this model's runs")
  parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")


def handle(args, terminal) -> int:
  from runners.handler import history_handler  # pylint: disable=import-outside-toplevel
  return history_handler.runs(args, terminal)
