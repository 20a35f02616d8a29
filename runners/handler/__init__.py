"""The work behind each `mnist-tfx` command (as TFX's tools/cli/handler/*); runners/commands parse.

Handlers raise runners.errors.CommandError for anything that ends a command early and
return an exit code only when the command ran to its end.
"""
