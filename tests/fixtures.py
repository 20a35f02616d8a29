"""Paths and markers shared by the tests: real MNIST lives in ../shared/data/mnist."""

import os

import pytest

from pipelines import configs

MNIST_DIR = configs.default_data_dir() or configs.SHARED_MNIST_DIR

needs_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason=f"real MNIST not found at {MNIST_DIR}")
