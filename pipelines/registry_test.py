"""Pipeline definitions by name; the CLI only dispatches, so a new pipeline needs no CLI change."""

import argparse

import pytest

from models import precision
from pipelines import registry
from pipelines.definition import DefinitionError, Option, PipelineDefinition, RunConfig
from runners import cli


def test_registered_pipelines():
  assert sorted(registry.PIPELINES) == ["mnist", "regression"]
  mnist, regression = registry.get("mnist"), registry.get("regression")
  assert mnist.models == ("softmax", "mlp", "cnn") and mnist.default_model == "softmax"
  assert regression.models == ("linear",)
  assert [o.flag for o in mnist.options] == ["--data-dir", "--examples-dir", "--precision"]
  assert [o.flag for o in regression.options] == ["--examples", "--noise", "--seed", "--examples-dir"]
  assert mnist.pipeline_name("cnn") == "mnist_cnn"


def test_configure_validates_and_applies_recipe_overrides():
  regression = registry.get("regression")
  config = regression.configure(None, {"examples": 50}, {"epochs": 4, "train_steps": None})
  assert config.model == "linear" and config.recipe.epochs == 4
  assert config.settings["generator"].num_examples == 50
  with pytest.raises(DefinitionError, match="--train-steps must be a positive integer, got 0"):
    regression.configure(None, {}, {"epochs": None, "train_steps": 0})
  with pytest.raises(DefinitionError, match="--model cnn: unknown regression model"):
    regression.configure("cnn", {}, {})


def test_mnist_precision_is_decided_where_it_trains():
  mnist, no_overrides = registry.get("mnist"), {"epochs": None, "train_steps": None}
  here = precision.resolve(precision.AUTO, precision.cpu_flags())
  # A local run trains on this CPU: auto is resolved now, so MLMD records what ran.
  assert mnist.configure("cnn", {}, no_overrides).recipe.precision == here
  assert mnist.configure("mlp", {}, no_overrides).recipe.precision == "float32"  # measured
  assert mnist.configure("mlp", {"precision": "auto"}, no_overrides).recipe.precision == here
  forced = mnist.configure("cnn", {"precision": "float32"}, no_overrides)
  assert forced.recipe.precision == "float32" and forced.description.endswith("float32")
  # A compiled spec trains elsewhere: auto stays auto, for the training node's CPU.
  compiled = mnist.configure("cnn", {}, no_overrides, data_uri="gs://bucket/mnist")
  assert compiled.recipe.precision == "auto"
  with pytest.raises(DefinitionError, match="--precision fp16: expected one of auto, float32, "
                     "mixed_bfloat16"):
    mnist.configure("cnn", {"precision": "fp16"}, no_overrides)


class _ToyDefinition(PipelineDefinition):
  name = "toy"
  dataset = "regression"
  serving_model_name = "toy"
  models = ("tiny",)
  default_model = "tiny"
  options = (Option("--size", int, 3, "toy size"),)

  def configure(self, model, values, recipe_overrides, data_uri=None):
    if values.get("size", 3) > 10:
      raise DefinitionError("--size must be at most 10")
    return RunConfig(model=self.check_model(model), recipe=None, data_uri=None,
                     description="toy", settings={"size": values.get("size", 3)})

  def build(self, config, runtime, epochs=None, train_steps=None):
    raise NotImplementedError


def test_a_third_pipeline_is_dispatched_without_touching_the_cli(monkeypatch):
  monkeypatch.setitem(registry.PIPELINES, "toy", _ToyDefinition())
  args = cli._parser().parse_args(["run", "--pipeline", "toy", "--size", "7"])  # pylint: disable=protected-access
  definition = registry.get(args.pipeline)
  values = cli._pipeline_values(args, definition)  # pylint: disable=protected-access
  assert values == {"size": 7}
  assert definition.configure(args.model, values, {}).settings == {"size": 7}
  # Its flag is rejected for the others, and theirs for it.
  args = cli._parser().parse_args(["run", "--pipeline", "mnist", "--size", "7"])  # pylint: disable=protected-access
  with pytest.raises(cli.UserError, match="--size does not apply to the mnist pipeline"):
    cli._pipeline_values(args, registry.get("mnist"))  # pylint: disable=protected-access
  args = cli._parser().parse_args(["run", "--pipeline", "toy", "--noise", "1"])  # pylint: disable=protected-access
  with pytest.raises(cli.UserError, match="--noise does not apply to the toy pipeline"):
    cli._pipeline_values(args, definition)  # pylint: disable=protected-access


def test_examples_dir_is_validated_before_tensorflow(tmp_path):
  regression = registry.get("regression")
  with pytest.raises(DefinitionError, match="--examples-dir .*: not found"):
    regression.configure(None, {"examples_dir": str(tmp_path / "nope")}, {})
  (tmp_path / "train").mkdir()
  with pytest.raises(DefinitionError, match="no eval/ directory"):
    regression.configure(None, {"examples_dir": str(tmp_path)}, {})
  for split in ("eval", "test"):
    (tmp_path / split).mkdir()
  with pytest.raises(DefinitionError, match="train: no \\*.tfrecord or \\*.tfrecord.gz files"):
    regression.configure(None, {"examples_dir": str(tmp_path)}, {})
  for split in ("train", "eval", "test"):
    (tmp_path / split / "part.tfrecord.gz").write_bytes(b"not gzip")
  with pytest.raises(DefinitionError, match="named .gz but not gzip data"):
    regression.configure(None, {"examples_dir": str(tmp_path)}, {})
  with pytest.raises(DefinitionError, match="--examples, --seed configure the generator"):
    regression.configure(None, {"examples_dir": str(tmp_path), "examples": 5, "seed": 1}, {})
  with pytest.raises(DefinitionError, match="--data-dir and --examples-dir are alternatives"):
    registry.get("mnist").configure(None, {"examples_dir": str(tmp_path), "data_dir": "x"}, {})


def test_parser_errors_are_one_line_user_errors():
  with pytest.raises(cli.UserError, match="invalid choice: 'nope'"):
    cli._parser().parse_args(["run", "--pipeline", "nope"])  # pylint: disable=protected-access
  assert isinstance(cli._parser(), argparse.ArgumentParser)  # pylint: disable=protected-access
