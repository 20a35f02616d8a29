"""Session fixtures of the end-to-end tests: the full-MNIST scenario is run once and shared."""

import dataclasses
import os
from typing import Any, Dict, List

import numpy as np
import pytest
import tensorflow as tf

from components.mnist_idx_example_gen import idx_reader
from schemas.mnist import contract
from tests import fixtures


@dataclasses.dataclass
class Step:
  stdout: str
  stderr: str
  summary: Dict[str, Any]
  versions_after: List[str]  # serving/mnist/ listing right after this step


@dataclasses.dataclass
class Scenario:
  home: str
  first: Step
  again: Step
  worse: Step
  drifted: Step
  broken: Step


def _step(home: str, extra: List[str], expect_exit: int) -> Step:
  source = [] if "--examples-dir" in extra else ["--data-dir", fixtures.MNIST_DIR]
  proc, summary = fixtures.run_pipeline(
      home, ["--pipeline", "mnist", "--model", "softmax", *source, *extra], expect_exit=expect_exit)
  serving = os.path.join(home, "serving", contract.SERVING_MODEL_NAME)
  return Step(proc.stdout, proc.stderr, summary, sorted(os.listdir(serving)))


@pytest.fixture(scope="session")
def mnist_scenario(tmp_path_factory) -> Scenario:
  """The MNIST e2e scenario (tests/mnist_pipeline_e2e_test.py), run once per session;
  tests/serving_e2e_test.py serves the model it pushed."""
  if not fixtures.mnist_available():
    pytest.skip("real MNIST missing")  # the marker turns this into a failure under CI=true
  home = str(tmp_path_factory.mktemp("home"))
  first = _step(home, [], expect_exit=0)
  again = _step(home, [], expect_exit=0)
  # One training step instead of ten epochs: the data components stay cached, the model
  # is far worse than the one served.
  worse = _step(home, ["--train-steps", "1"], expect_exit=3)
  # Real MNIST, but only digits 0-4: every record is valid, the label distribution drifted.
  test = fixtures.mnist_examples("t10k", 0, 1000)
  low = fixtures.write_examples_dir(str(tmp_path_factory.mktemp("low_digits")), {
      "train": fixtures.mnist_examples("train", 0, 6000, keep=lambda y: y <= 4),
      "eval": fixtures.mnist_examples("train", 55000, 55500), "test": test})
  drifted = _step(home, ["--examples-dir", low], expect_exit=3)
  # Real MNIST with four broken records in train: a pixel of 300, a label of 11, no image,
  # an image of 783 values.
  train = list(fixtures.mnist_examples("train", 0, 3000))
  train += [_record(_image(0, pixel=300), 3), _record(_image(1), 11), _record(None, 4),
            _record(_image(2)[:783], 5)]
  broken = fixtures.write_examples_dir(str(tmp_path_factory.mktemp("broken")), {
      "train": train, "eval": fixtures.mnist_examples("train", 55000, 55500), "test": test})
  broken_step = _step(home, ["--examples-dir", broken], expect_exit=3)
  return Scenario(home, first, again, worse, drifted, broken_step)


def _image(index, pixel=None):
  images, _ = idx_reader.read_pair(idx_reader.find_pair(fixtures.MNIST_DIR, "train"))
  image = images[index].reshape(-1).astype(np.int64)
  if pixel is not None:
    image[400] = pixel
  return image


def _record(image, label) -> bytes:
  feature = {contract.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
  if image is not None:
    feature[contract.IMAGE_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=image.tolist()))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


