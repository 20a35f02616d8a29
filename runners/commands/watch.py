"""`mnist-tfx watch`: run the pipeline whenever a newer span of data is published."""

from runners.commands import options

NAME = "watch"
HELP = ("poll --examples-dir DIR and run the pipeline when a span newer than the served "
        "model's appears (one run at a time; a failed or unblessed run is logged, not fatal)")
# The flags that are watch's own; every other flag is the `run` command's, passed on to it.
OWN_FLAGS = ("--interval", "--max-runs", "--request-logs")


def add_arguments(parser) -> None:
  options.add_pipeline_arguments(parser)
  options.add_store_arguments(parser)
  parser.add_argument("--interval", type=float, default=60.0, metavar="S",
                      help="seconds between polls of DIR (default 60)")
  parser.add_argument("--max-runs", type=int, metavar="N",
                      help="exit 0 after N pipeline runs, whatever their outcome (default: "
                      "watch until SIGTERM or Ctrl-C)")
  parser.add_argument("--request-logs", metavar="PREFIX",
                      help="also run when `mnist-tfx monitor` finds training/serving skew in "
                      "the model server's request logs under PREFIX (once per served version)")


def handle(args, terminal) -> int:
  from runners.handler import watch_handler  # pylint: disable=import-outside-toplevel
  return watch_handler.watch(args, terminal)
