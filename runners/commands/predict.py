"""`mnist-tfx predict`: digits from PNG or IDX files, classified by a served model."""

NAME = "predict"
HELP = "classify PNG or IDX digits with a served model (this project's server or TF Serving)"


def add_arguments(parser) -> None:
  # The client package's `mnist-tfx-client predict` takes the same arguments (stdlib-only import).
  from serving.client import cli  # pylint: disable=import-outside-toplevel
  cli.add_arguments(parser)


def handle(args, terminal) -> int:
  from runners.handler import predict_handler  # pylint: disable=import-outside-toplevel
  return predict_handler.predict(args, terminal)
