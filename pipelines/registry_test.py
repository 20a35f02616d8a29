"""Pipeline definitions by name; the CLI only dispatches, so a new pipeline needs no CLI change."""

import argparse

import pytest

from models import precision
from pipelines import registry
from pipelines.definition import (DataSource, DefinitionError, Option, PipelineDefinition,
                                  RunConfig, Target)
from pipelines.regression_pipeline import Generated
from runners import cli
from runners.commands import options
from runners.errors import UserError


def test_registered_pipelines():
  assert sorted(registry.PIPELINES) == ["mnist", "regression"]
  mnist, regression = registry.get("mnist"), registry.get("regression")
  assert mnist.models == ("softmax", "mlp", "cnn") and mnist.default_model == "softmax"
  assert regression.models == ("linear",)
  assert [o.flag for o in mnist.options] == ["--data-dir", "--examples-dir", "--span-window",
                                             "--tfds", "--precision", "--warm-start", "--tune"]
  assert [o.flag for o in regression.options] == ["--examples", "--noise", "--seed",
                                                  "--examples-dir", "--span-window"]
  assert mnist.pipeline_name("cnn") == "mnist_cnn"


def test_configure_validates_and_applies_recipe_overrides():
  regression = registry.get("regression")
  config = regression.configure(None, {"examples": 50}, {"epochs": 4, "train_steps": None})
  assert config.model == "linear" and config.recipe.epochs == 4
  assert isinstance(config.source, Generated) and config.source.generator.num_examples == 50
  assert config.input_examples == 50
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
  assert forced.recipe.precision == "float32" and ", float32, oneDNN " in forced.description
  # A compiled spec trains elsewhere: auto stays auto, for the training node's CPU — with a
  # data URI or with TFDS (before, compiling without --data-uri decided it here).
  compiled = mnist.configure("cnn", {}, no_overrides, target=Target.CLUSTER, data_uri="gs://bucket/mnist")
  assert compiled.recipe.precision == "auto" and compiled.source.uri == "gs://bucket/mnist"
  tfds = mnist.configure("cnn", {"tfds": True}, no_overrides, target=Target.CLUSTER)
  assert tfds.recipe.precision == "auto" and tfds.source.uri is None
  with pytest.raises(DefinitionError, match="--precision fp16: expected one of auto, float32, "
                     "mixed_bfloat16"):
    mnist.configure("cnn", {"precision": "fp16"}, no_overrides)


class _ToyDefinition(PipelineDefinition):
  name = "toy"
  dataset = "regression"
  serving_model_name = "toy"
  models = ("tiny",)
  default_model = "tiny"
  headline_metric = "loss"
  options = (Option("--size", int, 3, "toy size"),)

  def configure(self, model, given, recipe_overrides, target=Target.LOCAL, data_uri=None):
    size = self.option_values(given)["size"]
    if size > 10:
      raise DefinitionError("--size must be at most 10")
    return RunConfig(model=self.check_model(model), recipe=None, source=DataSource(),
                     description=f"toy of size {size}", input_examples=size)

  def build(self, config, runtime, epochs=None, train_steps=None):
    raise NotImplementedError


def test_a_third_pipeline_is_dispatched_without_touching_the_cli(monkeypatch):
  monkeypatch.setitem(registry.PIPELINES, "toy", _ToyDefinition())
  args = cli.parser().parse_args(["run", "--pipeline", "toy", "--size", "7"])
  definition = registry.get(args.pipeline)
  values = options.pipeline_values(args, definition)
  assert values == {"size": 7}
  assert definition.configure(args.model, values, {}).description == "toy of size 7"
  assert definition.configure(args.model, {}, {}).input_examples == 3  # Option.default, read once
  # Its flag is rejected for the others, and theirs for it.
  args = cli.parser().parse_args(["run", "--pipeline", "mnist", "--size", "7"])
  with pytest.raises(UserError, match="--size does not apply to the mnist pipeline"):
    options.pipeline_values(args, registry.get("mnist"))
  args = cli.parser().parse_args(["run", "--pipeline", "toy", "--noise", "1"])
  with pytest.raises(UserError, match="--noise does not apply to the toy pipeline"):
    options.pipeline_values(args, definition)


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


def _span(root, name, splits=("train", "eval", "test")):
  for split in splits:
    (root / name / split).mkdir(parents=True)
    (root / name / split / "data.tfrecord").write_bytes(b"\0" * 16)


def test_spans_the_latest_by_default_a_window_on_request_in_progress_ones_ignored(tmp_path):
  mnist = registry.get("mnist")
  _span(tmp_path, "span-1")
  _span(tmp_path, "span-10")
  _span(tmp_path, ".incoming-span-11", splits=("train",))  # still being written
  config = mnist.configure("softmax", {"examples_dir": str(tmp_path)}, {})
  assert config.source.spans == (10,) and "span 10" in config.description
  config = mnist.configure("softmax", {"examples_dir": str(tmp_path), "span_window": 2}, {})
  assert config.source.spans == (1, 10) and "spans 1, 10" in config.description
  assert config.data_identity == config.source.describe()
  with pytest.raises(DefinitionError, match="--span-window 3: .* has only 2 spans \\(1, 10\\)"):
    mnist.configure("softmax", {"examples_dir": str(tmp_path), "span_window": 3}, {})
  for bad in (0, -1):
    with pytest.raises(DefinitionError, match=f"--span-window {bad}: the window must be at least 1"):
      mnist.configure("softmax", {"examples_dir": str(tmp_path), "span_window": bad}, {})
  with pytest.raises(DefinitionError, match="--span-window needs --examples-dir"):
    mnist.configure("softmax", {"span_window": 2}, {})


def test_an_empty_or_missing_split_in_the_latest_span_is_named(tmp_path):
  mnist = registry.get("mnist")
  _span(tmp_path, "span-1")
  _span(tmp_path, "span-2", splits=("train", "eval"))
  with pytest.raises(DefinitionError, match=f"^{tmp_path}/span-2: no test/ directory"):
    mnist.configure("softmax", {"examples_dir": str(tmp_path)}, {})
  (tmp_path / "span-2" / "test").mkdir()
  with pytest.raises(DefinitionError, match=f"^{tmp_path}/span-2/test: no .* files \\(empty split\\)"):
    mnist.configure("softmax", {"examples_dir": str(tmp_path)}, {})
  (tmp_path / "span-02").mkdir()
  with pytest.raises(DefinitionError, match="span-02: not a span folder"):
    mnist.configure("softmax", {"examples_dir": str(tmp_path)}, {})


def test_warm_start_is_auto_or_off():
  mnist, overrides = registry.get("mnist"), {"epochs": None, "train_steps": None}
  assert mnist.configure("softmax", {}, overrides).warm_start == "auto"
  assert mnist.configure("softmax", {"warm_start": "off"}, overrides).warm_start == "off"


def test_compiling_mnist_needs_a_uri_or_tfds_and_never_a_path_of_this_machine():
  """Before: without --data-uri the spec got ../shared/data/mnist (or TFDS) as its default."""
  mnist, overrides = registry.get("mnist"), {"epochs": None, "train_steps": None}
  with pytest.raises(DefinitionError, match="needs the data as the cluster reads it: --data-uri URI"):
    mnist.configure("softmax", {}, overrides, target=Target.CLUSTER)
  with pytest.raises(DefinitionError, match="--data-uri and --tfds are alternatives"):
    mnist.configure("softmax", {"tfds": True}, overrides, target=Target.CLUSTER, data_uri="gs://b/m")


def test_help_shows_every_default_and_choice_once_and_groups_shared_flags():
  text = cli.parser()._subparsers._group_actions[0].choices["run"].format_help()  # pylint: disable=protected-access
  assert "--examples N          examples to generate (default 1000)" in text
  assert "(default 0.0)" in text and "generator seed (default 0)" in text
  assert "{auto,float32,mixed_bfloat16}" in text and "which pipeline (default mnist)" in text
  # --examples-dir is taken by both pipelines: not listed as one pipeline's flag.
  assert "every pipeline:\n  --examples-dir DIR" in text
  assert "2,000,000 input" in " ".join(text.split())  # the automatic Beam mode, not "none"


def test_parser_errors_are_one_line_user_errors():
  with pytest.raises(UserError, match="invalid choice: 'nope'"):
    cli.parser().parse_args(["run", "--pipeline", "nope"])
  assert isinstance(cli.parser(), argparse.ArgumentParser)
