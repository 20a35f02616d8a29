"""`mnist-tfx monitor`: training/serving skew and drift, from a model server's request logs."""

NAME = "monitor"
HELP = ("compare what a served model received (its request logs) with what it was trained on; "
        "exit 0: nothing found, 3: findings, 2: bad input")


def add_arguments(parser) -> None:
  parser.add_argument("--request-logs", required=True, metavar="PREFIX",
                      help="the logging_config's filename_prefix: every file whose name starts "
                      "with it is read (finished and in-progress)")
  parser.add_argument("--model-base-path", required=True, metavar="DIR",
                      help="the served model's base path (<DIR>/<version>/, as pushed): each "
                      "version's training statistics are the reference")
  parser.add_argument("--output", metavar="FILE.html", help="also write a self-contained HTML "
                      "page with the distributions and the findings")
  parser.add_argument("--json", action="store_true", help="print the findings as one JSON "
                      "document (for alerting) instead of one line each")


def handle(args, terminal) -> int:
  from runners.handler import monitor_handler  # pylint: disable=import-outside-toplevel
  return monitor_handler.monitor(args, terminal)
