"""Regression feature names, shared by preprocessing, the trainer and serving."""

from components.regression_example_gen.generator import X_KEY, Y_KEY  # noqa: F401


def transformed_name(key: str) -> str:
  return key + "_xf"
