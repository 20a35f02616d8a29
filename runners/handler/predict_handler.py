"""`mnist-tfx predict --server URL --model NAME FILE...`: digits from PNG or IDX files, via a server.

URL http://host:port talks REST, grpc://host:port gRPC, to this project's server or
a real TF Serving. PNG files are converted as serving/client/mnist.py describes;
an MNIST IDX images file (`*-images-idx3-ubyte[.gz]`, read by the pipeline's strict
reader) contributes its first --limit images. One line per image:
`FILE[#i]: digit D (confidence 0.987)`.
"""

import os
import urllib.parse
from typing import List, Tuple

import numpy as np

from runners import errors
from runners.errors import CommandError, UserError


def _client(args):
  from serving.client.grpc_client import GrpcClient  # pylint: disable=import-outside-toplevel
  from serving.client.rest import RestClient  # pylint: disable=import-outside-toplevel
  url = urllib.parse.urlsplit(args.server)
  if url.scheme not in ("http", "https", "grpc") or not url.hostname or not url.port:
    raise UserError(f"--server {args.server}: expected http://HOST:PORT or grpc://HOST:PORT")
  if url.scheme == "grpc":
    return GrpcClient(f"{url.hostname}:{url.port}", args.model, args.version, args.label)
  return RestClient(f"{url.scheme}://{url.hostname}:{url.port}", args.model, args.version, args.label)


def load_images(files: List[str], limit: int) -> List[Tuple[str, np.ndarray]]:
  """(display name, uint8 [28, 28]) for every image the files hold."""
  from components.mnist_idx_example_gen import idx_reader  # pylint: disable=import-outside-toplevel
  from serving.client import mnist  # pylint: disable=import-outside-toplevel
  if limit <= 0:
    raise UserError(f"--limit must be a positive integer, got {limit}")
  images = []
  for path in files:
    if "idx3-ubyte" in path:
      try:
        pixels = idx_reader.read_images(path)
      except idx_reader.IdxFormatError as e:
        raise UserError(str(e)) from None
      images += [(f"{path}#{i}", pixels[i]) for i in range(min(limit, len(pixels)))]
    else:
      try:
        images.append((path, mnist.load_png(path)))
      except mnist.ImageError as e:
        raise UserError(str(e)) from None
  return images


def predict(args, terminal) -> int:
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # the client loads TF's protos; its CUDA chatter is noise
  from serving.client import errors as client_errors, mnist  # pylint: disable=import-outside-toplevel
  client = _client(args)
  images = load_images(args.files, args.limit)
  try:
    answers = mnist.classify(client, [image for _, image in images])
  except client_errors.ServerUnreachable as e:
    raise CommandError(f"{args.server}: no answer ({e.message})", errors.EXIT_FAILED) from None
  except client_errors.ServingError as e:
    raise UserError(f"{args.server}: {e}") from None
  for (name, _), (digit, confidence) in zip(images, answers):
    terminal.out.write(f"{name}: digit {digit} (confidence {confidence:.3f})\n")
  return errors.EXIT_OK
