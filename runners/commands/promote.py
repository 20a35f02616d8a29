"""`mnist-tfx promote`: make a version label (stable, canary, ...) name a version, in TF Serving's config."""

NAME = "promote"
HELP = ("point a version label at a version in a TF Serving model config file (atomic write; "
        "a server polling the file, or reloading it, applies it live)")


def add_arguments(parser) -> None:
  parser.add_argument("--model-config-file", required=True, metavar="FILE",
                      help="TF Serving model_config_list text file to edit")
  parser.add_argument("--model", required=True, help="the model's name in the file")
  parser.add_argument("--version", required=True, type=int, help="a version under its base path")
  parser.add_argument("--label", default="stable", help="the label (default stable; e.g. canary)")


def handle(args, terminal) -> int:
  from runners.handler import lifecycle_handler  # pylint: disable=import-outside-toplevel
  return lifecycle_handler.promote(args, terminal)
