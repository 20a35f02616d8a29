"""`mnist-tfx predict`: digits from PNG or IDX files, classified by a served model."""

NAME = "predict"
HELP = "classify PNG or IDX digits with a served model (this project's server or TF Serving)"


def add_arguments(parser) -> None:
  parser.add_argument("--server", required=True, metavar="URL",
                      help="http://HOST:PORT (REST) or grpc://HOST:PORT")
  parser.add_argument("--model", default="mnist", help="model name on the server (default mnist)")
  version = parser.add_mutually_exclusive_group()
  version.add_argument("--version", type=int, help="a specific version")
  version.add_argument("--label", help="a version label")
  parser.add_argument("--limit", type=int, default=10, metavar="N",
                      help="images per IDX file (default 10)")
  parser.add_argument("files", nargs="+", metavar="FILE", help="PNG images or an MNIST IDX images file")


def handle(args, terminal) -> int:
  from runners.handler import predict_handler  # pylint: disable=import-outside-toplevel
  return predict_handler.predict(args, terminal)
