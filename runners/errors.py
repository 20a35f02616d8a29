"""Exit codes of `mnist-tfx` and the one error path every command takes.

A command's handler raises CommandError (or a subclass) for anything that ends the
command early; runners/cli.py prints it as one line, `mnist-tfx: error: <message>`,
and exits with its code. No handler returns an error code of its own.
"""

EXIT_OK = 0  # the command did what it was asked
EXIT_PUSHED = EXIT_OK  # run: a model was pushed (or the one already served was confirmed)
EXIT_FAILED = 1  # a component failed, or a server did not answer
EXIT_USER_ERROR = 2  # a flag, a file or a path the user can fix; nothing was run
EXIT_NOT_PUSHED = 3  # run: a gate said no, nothing was pushed
# run: another run holds the home's lock; nothing was run, try again later (sysexits.h
# EX_TEMPFAIL). Its own code so that `watch` retries on it without reading the message.
EXIT_HOME_BUSY = 75


class CommandError(Exception):
  """Ends a command: str() is one line for the terminal, `exit_code` the process's status."""

  exit_code = EXIT_USER_ERROR

  def __init__(self, message: str, exit_code: int = None):
    super().__init__(message)
    if exit_code is not None:
      self.exit_code = exit_code


class UserError(CommandError):
  """Something the user can fix; printed as one line without a traceback (exit 2)."""
