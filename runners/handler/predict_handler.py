"""`mnist-tfx predict --server URL --model NAME FILE...`: digits from PNG or IDX files, via a server.

The work is serving/client/cli.py's, shared with the client package's own
`mnist-tfx-client predict`; here IDX files are read by the pipeline's strict reader
(numpy only) and the client's one-line failures become this CLI's CommandError.
Nothing here or in what it imports loads TensorFlow when the client's protos are
generated (serving/client/protos.py), so the command costs its parse and one request.
"""

from runners import errors
from runners.errors import CommandError


def predict(args, terminal) -> int:
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from serving.client import cli  # pylint: disable=import-outside-toplevel
  try:
    cli.predict(args, terminal.out, idx_reader.read_images)
  except cli.Failure as e:
    raise CommandError(str(e), e.exit_code) from None
  return errors.EXIT_OK
