"""The local runner's Beam mode: none for small or unknown inputs, multi-processing for
large ones, and the user's --beam-arg flags as given whatever the size."""

import pytest

from runners import local

MP = "--direct_running_mode=multi_processing"


@pytest.mark.parametrize("n", [None, 3, 70_000, local.MULTI_PROCESSING_FROM - 1])
def test_small_or_unknown_inputs_run_in_memory_with_no_flags_at_all(n):
  # No flag at all: any flag would make each TFX Beam executor build an sdist (3.3 s).
  mode = local.beam_mode(n, (), cores=2)
  assert mode.args == ()
  assert mode.description.startswith("in_memory")


@pytest.mark.parametrize("n", [local.MULTI_PROCESSING_FROM, 4_000_000])
def test_large_inputs_use_one_worker_per_core(n):
  mode = local.beam_mode(n, (), cores=2)
  assert mode.args[:2] == (MP, "--direct_num_workers=2")
  assert mode.description.startswith("multi_processing") and f"{n:,} examples" in mode.description
  # The project names its own dependency, so TFX's executors do not build an sdist of it.
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=import-outside-toplevel
  assert PipelineOptions(list(mode.args)).get_all_options()["setup_file"].endswith("setup.py")


def test_one_core_stays_in_memory():
  assert local.beam_mode(4_000_000, (), cores=1).args == ()


@pytest.mark.parametrize("n", [None, 1000, 4_000_000])
def test_user_flags_win_whatever_the_size(n):
  user = ("--runner=DataflowRunner", "--project=p", "--region=europe-west1")
  mode = local.beam_mode(n, user, cores=2)
  assert mode.args == user
  assert mode.description.startswith("as given by --beam-arg") and "--runner=DataflowRunner" in mode.description


def test_the_regression_pipeline_states_its_size_and_mnist_none():
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  regression = registry.get("regression")
  config = regression.configure("linear", {"examples": 2_000_000}, {})
  assert config.input_examples == 2_000_000
  assert local.beam_mode(config.input_examples, ()).args[:1] == (MP,) \
      or local._cores() < 2  # pylint: disable=protected-access
  small = regression.configure("linear", {"examples": 1000}, {})
  assert local.beam_mode(small.input_examples, ()).args == ()


def test_mnist_states_its_70000_examples_and_runs_in_memory():
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  config = registry.get("mnist").configure("softmax", {}, {"epochs": None, "train_steps": None})
  assert config.input_examples == 70_000
  mode = local.beam_mode(config.input_examples, ())
  assert mode.args == () and "70,000 examples < 2,000,000" in mode.description
