"""Digits in, digits out: images as the MNIST model's tf.Examples, answers as (digit, confidence).

The model expects what the pipeline trained on (schemas/mnist/contract.py): 784
int64 pixels 0..255, row-major, light digit on dark ground. PNG files of any size
or mode are converted to that: grayscale, resized to 28x28 (Lanczos), and
inverted when the digit is dark on a light background (mean above mid-grey),
as a scanned or drawn digit usually is.
"""

import base64
from typing import List, Sequence, Tuple, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from schemas.mnist import contract
from serving.client.grpc_client import GrpcClient
from serving.client.protos import example_pb2, feature_pb2
from serving.client.rest import RestClient

Client = Union[RestClient, GrpcClient]


class ImageError(ValueError):
  """An image file that cannot be used; str() is one line naming the file."""


def load_png(path: str) -> np.ndarray:
  """uint8 [28, 28], MNIST's orientation (light digit on dark)."""
  try:
    with Image.open(path) as image:
      if image.format != "PNG":
        raise ImageError(f"{path}: not a PNG image ({image.format})")
      gray = image.convert("L")
      if gray.size != (contract.IMAGE_COLS, contract.IMAGE_ROWS):
        gray = gray.resize((contract.IMAGE_COLS, contract.IMAGE_ROWS), Image.LANCZOS)
      pixels = np.asarray(gray, dtype=np.uint8)
  except FileNotFoundError:
    raise ImageError(f"{path}: file not found") from None
  except UnidentifiedImageError:
    raise ImageError(f"{path}: not an image file") from None
  except OSError as e:
    raise ImageError(f"{path}: cannot be read ({e})") from None
  if pixels.mean() > contract.PIXEL_MAX / 2:
    pixels = contract.PIXEL_MAX - pixels
  return pixels


def example_bytes(image: np.ndarray) -> bytes:
  """A serialized tf.Example with the contract's image feature (no label)."""
  pixels = np.asarray(image).reshape(-1)
  if pixels.size != contract.NUM_PIXELS:
    raise ImageError(f"image has {pixels.size} pixels, expected {contract.NUM_PIXELS}")
  feature = feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=pixels.astype(np.int64).tolist()))
  return example_pb2.Example(features=feature_pb2.Features(
      feature={contract.IMAGE_KEY: feature})).SerializeToString()


def classify(client: Client, images: Sequence[np.ndarray]) -> List[Tuple[int, float]]:
  """(digit, confidence) per image, through the model's predict signature."""
  examples = [example_bytes(image) for image in images]
  if isinstance(client, RestClient):
    predictions = client.predict(
        instances=[{"b64": base64.b64encode(e).decode()} for e in examples],
        signature_name=contract.PREDICT_SIGNATURE)
    probabilities = np.array([p[contract.OUTPUT_PROBABILITIES] for p in predictions])
  else:
    outputs = client.predict({contract.PREDICT_INPUT: np.array(examples, dtype=object)},
                             signature_name=contract.PREDICT_SIGNATURE)
    probabilities = outputs[contract.OUTPUT_PROBABILITIES]
  return [(int(p.argmax()), float(p.max())) for p in probabilities]
