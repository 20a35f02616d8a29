"""`predict FILE...`: digits from PNG or IDX files, classified by a served model.

One implementation for two commands: `mnist-tfx predict` (runners/commands/predict.py)
and the client package's own `mnist-tfx-client predict` (client/mnist_tfx_client.py).
Each adds these arguments, calls predict() and prints a Failure as its one error line.

--server http://host:port talks REST, grpc://host:port gRPC, to this project's server
or a real TF Serving. PNG files are converted as serving/client/mnist.py describes;
an MNIST IDX images file (`*-images-idx3-ubyte[.gz]`) contributes its first --limit
images, read by the reader the caller passes (the pipeline's strict one,
components/mnist_idx_example_gen/idx_reader.py, in both commands). One line per image:
`FILE[#i]: digit D (confidence 0.987)`.

Only the standard library is imported until predict() runs: `mnist-tfx` builds every
command's parser on each call.
"""

import urllib.parse
from typing import Any, Callable, List, Optional, TextIO, Tuple

EXIT_FAILED = 1  # the server did not answer (runners/errors.py's codes)
EXIT_USER_ERROR = 2  # a flag, a file or an answer the user can act on

# path -> uint8 [N, 28, 28]; a ValueError whose str() is one line naming the file.
IdxReader = Callable[[str], Any]


class Failure(Exception):
  """Ends the command: str() is one line, exit_code the process's status."""

  def __init__(self, message: str, exit_code: int = EXIT_USER_ERROR):
    super().__init__(message)
    self.exit_code = exit_code


def add_arguments(parser) -> None:
  parser.add_argument("--server", required=True, metavar="URL",
                      help="http://HOST:PORT (REST) or grpc://HOST:PORT")
  parser.add_argument("--model", default="mnist", help="model name on the server (default mnist)")
  version = parser.add_mutually_exclusive_group()
  version.add_argument("--version", type=int, help="a specific version")
  version.add_argument("--label", help="a version label")
  parser.add_argument("--limit", type=int, default=10, metavar="N",
                      help="images per IDX file (default 10)")
  parser.add_argument("files", nargs="+", metavar="FILE", help="PNG images or an MNIST IDX images file")


def make_client(server: str, model: str, version: Optional[int] = None, label: Optional[str] = None):
  """A RestClient for http(s)://HOST:PORT, a GrpcClient for grpc://HOST:PORT."""
  url = urllib.parse.urlsplit(server)
  try:
    port = url.port
  except ValueError:
    port = None
  if url.scheme not in ("http", "https", "grpc") or not url.hostname or not port:
    raise Failure(f"--server {server}: expected http://HOST:PORT or grpc://HOST:PORT")
  if url.scheme == "grpc":
    from serving.client.grpc_client import GrpcClient  # pylint: disable=import-outside-toplevel
    return GrpcClient(f"{url.hostname}:{port}", model, version, label)
  from serving.client.rest import RestClient  # pylint: disable=import-outside-toplevel
  return RestClient(f"{url.scheme}://{url.hostname}:{port}", model, version, label)


def load_images(files: List[str], limit: int, read_idx: IdxReader) -> List[Tuple[str, Any]]:
  """(display name, uint8 [28, 28]) for every image the files hold."""
  from serving.client import mnist  # pylint: disable=import-outside-toplevel
  if limit <= 0:
    raise Failure(f"--limit must be a positive integer, got {limit}")
  images = []
  for path in files:
    try:
      if "idx3-ubyte" in path:
        pixels = read_idx(path)
        images += [(f"{path}#{i}", pixels[i]) for i in range(min(limit, len(pixels)))]
      else:
        images.append((path, mnist.load_png(path)))
    except ValueError as e:  # mnist.ImageError, idx_reader.IdxFormatError: one line naming the file
      raise Failure(str(e)) from None
  return images


def predict(args, out: TextIO, read_idx: IdxReader) -> None:
  """Classifies args.files with the model at args.server; one line per image on `out`."""
  from serving.client import errors, mnist  # pylint: disable=import-outside-toplevel
  client = make_client(args.server, args.model, args.version, args.label)
  images = load_images(args.files, args.limit, read_idx)
  try:
    answers = mnist.classify(client, [image for _, image in images])
  except errors.ServerUnreachable as e:
    raise Failure(f"{args.server}: no answer ({e.message})", EXIT_FAILED) from None
  except errors.ServingError as e:
    raise Failure(f"{args.server}: {e}") from None
  for (name, _), (digit, confidence) in zip(images, answers):
    out.write(f"{name}: digit {digit} (confidence {confidence:.3f})\n")
