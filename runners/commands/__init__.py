"""`mnist-tfx` commands, one module each: the command's arguments (as TFX's tools/cli/commands/*).

Every module has NAME, HELP, `add_arguments(parser)` and `handle(args, terminal)`, which
imports its handler (runners/handler/*, the work) only when the command runs, so parsing
stays light. runners/cli.py builds the parser from COMMANDS and takes the one error path.
"""

from runners.commands import (compile as compile_command, lineage, models, monitor, predict, promote,
                              report, rollback, run, runs, serve, watch)

COMMANDS = (run, compile_command, watch, serve, predict, monitor, models, promote, rollback, runs,
            lineage, report)
