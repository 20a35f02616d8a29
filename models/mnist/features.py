"""MNIST feature names, shared by preprocessing, the trainer and serving."""

from components.mnist_example_encoding import IMAGE_KEY, LABEL_KEY, NUM_PIXELS  # noqa: F401

NUM_CLASSES = 10


def transformed_name(key: str) -> str:
  return key + "_xf"
