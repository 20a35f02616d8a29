"""`mnist-tfx`: run the project's TFX pipelines, serve what they push, and read what they did.

    mnist-tfx run --pipeline mnist --model softmax [--data-dir DIR] [--home DIR]
    mnist-tfx run --pipeline regression --model linear [--examples N] [--noise S] [--seed S]

The terminal shows one line per component and a summary; everything TF,
Beam and absl print goes to <home>/logs/<pipeline>-<time>.log.
Exit codes (runners/errors.py): 0 done (run: a model was pushed, or the one
already served was confirmed); 3 nothing was pushed (a gate said no); 2 a user
error (bad flag, file or path: one line on stderr, nothing run); 1 a component
failed or a server did not answer (one line, trace in the log).

Each command's arguments live in runners/commands/<command>.py and its work in
runners/handler/ (as TFX's own CLI: tools/cli/commands, tools/cli/handler); this
module builds the parser, dispatches, and is the one error path.
"""

import models  # noqa: F401  (first: sets the Keras 2 switch before anything imports TensorFlow)

import os
import sys
import traceback
import warnings
from typing import List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter stays out
# TensorFlow imports googleapiclient, whose google.api_core warns about Python 3.10 on import.
warnings.filterwarnings("ignore", category=FutureWarning, module="google")

from runners import errors  # noqa: E402
from runners.commands import COMMANDS, options  # noqa: E402


INTERNAL_ERROR = 1  # what Python's own uncaught exception would exit with


def parser() -> options.Parser:
  top = options.Parser(prog="mnist-tfx", description=__doc__.splitlines()[0])
  sub = top.add_subparsers(dest="command", required=True, parser_class=options.Parser)
  for command in COMMANDS:
    command.add_arguments(sub.add_parser(command.NAME, help=command.HELP,
                                         description=command.HELP))
  return top


def main(argv: Optional[List[str]] = None) -> int:
  # quiet_logs moves fd 1/2 to the log file; keep handles on the real terminal.
  from runners import console  # pylint: disable=import-outside-toplevel
  from runners.handler import checks  # pylint: disable=import-outside-toplevel
  terminal = console.Terminal.dup_current()
  try:
    args = parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as given (watch reruns `run` with it)
    checks.check_utf8(args)
    command = next(c for c in COMMANDS if c.NAME == args.command)
    return command.handle(args, terminal)
  except errors.CommandError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return e.exit_code
  except KeyboardInterrupt:
    terminal.err.write("mnist-tfx: interrupted\n")
    return 130
  except Exception as e:  # pylint: disable=broad-except
    # A bug, not a user error. fd 2 may be the command's log by now (console.quiet_logs):
    # the traceback goes there, and the terminal gets one line instead of silence.
    traceback.print_exc()
    terminal.err.write(f"mnist-tfx: internal error (a bug; the traceback is in the command's "
                       f"log): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}\n")
    return INTERNAL_ERROR


def entry_point() -> None:
  """The `mnist-tfx` console script (setup.py): main()'s code as the process's exit status."""
  sys.exit(main())


if __name__ == "__main__":
  entry_point()
