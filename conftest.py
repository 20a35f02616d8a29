"""Shared pytest set-up: the Keras 2 switch, real-MNIST fixtures, and no silent skips in CI.

Tests that need the real MNIST copy (../shared/data/mnist) carry `@fixtures.needs_mnist`
or use the `mnist_small` fixture. Where the data is missing they skip locally, with the
reason printed (`-rs`), but fail under CI=true: a CI run that could not test must not pass.
"""

import models  # noqa: F401  (first: the Keras 2 switch, before anything imports TensorFlow)

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import fixtures  # noqa: E402


require = fixtures.require


def pytest_runtest_setup(item):
  if item.get_closest_marker("needs_mnist"):
    require(fixtures.mnist_available(), f"real MNIST not found at {fixtures.MNIST_DIR}")


@pytest.fixture(scope="session")
def mnist_small():
  """(train_images, train_labels, test_images, test_labels): 3,000 + 1,000 real records."""
  require(fixtures.mnist_available(), f"real MNIST not found at {fixtures.MNIST_DIR}")
  from components.mnist_idx_example_gen import idx_reader
  train = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "train"))
  test = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "t10k"))
  return (train[0][:3000].reshape(-1, 784), train[1][:3000],
          test[0][:1000].reshape(-1, 784), test[1][:1000])


@pytest.fixture(scope="session")
def mnist_transform(mnist_small, tmp_path_factory):
  """preprocessing_fn analyzed by tft_beam on the small train set, as Transform would."""
  import schemas
  from models.mnist import preprocessing

  images, labels = mnist_small[0], mnist_small[1]
  instances = [{"image": img.astype(np.int64), "label": np.array([lab], np.int64)}
               for img, lab in zip(images, labels)]
  return fixtures.analyze_transform(
      preprocessing.preprocessing_fn, schemas.schema_path("mnist"),
      instances, str(tmp_path_factory.mktemp("mnist_transform")))
