"""`mnist-tfx serve`: pushed models over TF Serving's REST and gRPC APIs (serving/model_server)."""

NAME = "serve"
HELP = "serve pushed models over TF Serving's REST and gRPC APIs"


def add_arguments(parser) -> None:
  from serving.model_server import flags as server_flags  # pylint: disable=import-outside-toplevel
  server_flags.add_arguments(parser)


def handle(args, terminal) -> int:
  from runners.handler import serve_handler  # pylint: disable=import-outside-toplevel
  return serve_handler.serve(args, terminal)
