"""`mnist-tfx-client predict --server URL [--model NAME] FILE...`: the client package's command.

    mnist-tfx-client predict --server http://127.0.0.1:8501 digit.png
    mnist-tfx-client predict --server grpc://127.0.0.1:8500 t10k-images-idx3-ubyte.gz --limit 5

`mnist-tfx predict` for an install without the pipeline: serving/client/cli.py does
the work of both. The mnist-tfx-client wheel (client/setup.py) ships this module,
serving/client, the contracts it names and the pipeline's IDX reader
(components/mnist_idx_example_gen/idx_reader.py, numpy only) — no TensorFlow.
This module sits outside the layers tests/layering_test.py holds (it is packaging:
it joins the client to that reader) and outside the mnist-tfx wheel.
Exit codes as mnist-tfx's: 0 done, 1 the server did not answer, 2 a user error,
printed as one line `mnist-tfx-client: error: ...`.
"""

import argparse
import sys
from typing import List, Optional

from serving.client import cli

PROG = "mnist-tfx-client"


class _Parser(argparse.ArgumentParser):
  """argparse whose errors are one line (as mnist-tfx's runners/commands/options.Parser)."""

  def error(self, message):
    raise cli.Failure(message)


def parser() -> argparse.ArgumentParser:
  top = _Parser(prog=PROG, description="classify MNIST digits with a served model (TF Serving's APIs)")
  sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
  help_text = "classify PNG or IDX digits with a served model (this project's server or TF Serving)"
  cli.add_arguments(sub.add_parser("predict", help=help_text, description=help_text))
  return top


def main(argv: Optional[List[str]] = None) -> int:
  try:
    args = parser().parse_args(argv)
    from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
    cli.predict(args, sys.stdout, idx_reader.read_images)
  except cli.Failure as e:
    sys.stderr.write(f"{PROG}: error: {e}\n")
    return e.exit_code
  except KeyboardInterrupt:
    sys.stderr.write(f"{PROG}: interrupted\n")
    return 130
  return 0


def entry_point() -> None:
  """The `mnist-tfx-client` console script: main()'s code as the process's exit status."""
  sys.exit(main())


if __name__ == "__main__":
  entry_point()
