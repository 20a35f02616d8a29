"""`mnist-tfx rollback`: move a label back to the newest version below the one it names."""

NAME = "rollback"
HELP = "move a version label to the newest version below its current one (atomic write)"


def add_arguments(parser) -> None:
  parser.add_argument("--model-config-file", required=True, metavar="FILE",
                      help="TF Serving model_config_list text file to edit")
  parser.add_argument("--model", required=True, help="the model's name in the file")
  parser.add_argument("--label", default="stable", help="the label to move (default stable)")


def handle(args, terminal) -> int:
  from runners.handler import lifecycle_handler  # pylint: disable=import-outside-toplevel
  return lifecycle_handler.rollback(args, terminal)
