"""`mnist-tfx predict --server URL --model NAME FILE...`: digits from PNG or IDX files, via a server.

URL http://host:port talks REST, grpc://host:port gRPC, to this project's server or
a real TF Serving. PNG files are converted as serving/client/mnist.py describes;
an MNIST IDX images file (`*-images-idx3-ubyte[.gz]`, read by the pipeline's strict
reader) contributes its first --limit images. One line per image:
`FILE[#i]: digit D (confidence 0.987)`.
"""

import urllib.parse
from typing import List, TextIO, Tuple

import numpy as np

EXIT_OK, EXIT_UNREACHABLE, EXIT_USER_ERROR = 0, 1, 2


class PredictError(ValueError):
  """One line for the user; `exit_code` says which kind of failure it was."""

  def __init__(self, message: str, exit_code: int = EXIT_USER_ERROR):
    super().__init__(message)
    self.exit_code = exit_code


def add_arguments(parser) -> None:
  parser.add_argument("--server", required=True, help="http://HOST:PORT (REST) or grpc://HOST:PORT")
  parser.add_argument("--model", default="mnist", help="model name on the server (default mnist)")
  version = parser.add_mutually_exclusive_group()
  version.add_argument("--version", type=int, help="a specific version")
  version.add_argument("--label", help="a version label")
  parser.add_argument("--limit", type=int, default=10, help="images per IDX file (default 10)")
  parser.add_argument("files", nargs="+", metavar="FILE", help="PNG images or an MNIST IDX images file")


def _client(args):
  from serving.client.grpc_client import GrpcClient  # pylint: disable=import-outside-toplevel
  from serving.client.rest import RestClient  # pylint: disable=import-outside-toplevel
  url = urllib.parse.urlsplit(args.server)
  if url.scheme not in ("http", "https", "grpc") or not url.hostname or not url.port:
    raise PredictError(f"--server {args.server}: expected http://HOST:PORT or grpc://HOST:PORT")
  if url.scheme == "grpc":
    return GrpcClient(f"{url.hostname}:{url.port}", args.model, args.version, args.label)
  return RestClient(f"{url.scheme}://{url.hostname}:{url.port}", args.model, args.version, args.label)


def load_images(files: List[str], limit: int) -> List[Tuple[str, np.ndarray]]:
  """(display name, uint8 [28, 28]) for every image the files hold."""
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from serving.client import mnist  # pylint: disable=import-outside-toplevel
  if limit <= 0:
    raise PredictError(f"--limit must be a positive integer, got {limit}")
  images = []
  for path in files:
    if "idx3-ubyte" in path:
      try:
        pixels = idx_reader.read_images(path)
      except idx_reader.IdxFormatError as e:
        raise PredictError(str(e)) from None
      images += [(f"{path}#{i}", pixels[i]) for i in range(min(limit, len(pixels)))]
    else:
      try:
        images.append((path, mnist.load_png(path)))
      except mnist.ImageError as e:
        raise PredictError(str(e)) from None
  return images


def run(args, out: TextIO) -> int:
  from serving.client import errors, mnist  # pylint: disable=import-outside-toplevel
  client = _client(args)
  images = load_images(args.files, args.limit)
  try:
    answers = mnist.classify(client, [image for _, image in images])
  except errors.ServerUnreachable as e:
    raise PredictError(f"{args.server}: no answer ({e.message})", EXIT_UNREACHABLE) from None
  except errors.ServingError as e:
    raise PredictError(f"{args.server}: {e}") from None
  for (name, _), (digit, confidence) in zip(images, answers):
    out.write(f"{name}: digit {digit} (confidence {confidence:.3f})\n")
  return EXIT_OK


