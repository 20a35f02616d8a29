"""Which failures the local runner reports as a full disk.

The e2e test fills a real tmpfs, but who hits the full disk first (an artefact write or SQLite
inside MLMD) depends on timing; both forms must read the same to the user.
"""
import errno
import sqlite3

import pytest

from runners import local


def _raised_from(cause: BaseException) -> Exception:
  try:
    try:
      raise cause
    except BaseException as inner:  # pylint: disable=broad-except
      raise RuntimeError("component failed") from inner
  except RuntimeError as outer:
    return outer


@pytest.mark.parametrize("cause", [
    OSError(errno.ENOSPC, "No space left on device"),
    sqlite3.OperationalError("database or disk is full"),
    RuntimeError("Error when executing query: database or disk is full query: INSERT"),
])
def test_a_full_disk_is_recognised_however_it_surfaced(cause):
  assert local._is_disk_full(cause)  # pylint: disable=protected-access
  assert local._is_disk_full(_raised_from(cause))  # pylint: disable=protected-access


@pytest.mark.parametrize("cause", [
    OSError(errno.EACCES, "Permission denied"),
    ValueError("label 11 outside [0, 9]"),
])
def test_other_failures_are_not_called_a_full_disk(cause):
  assert not local._is_disk_full(_raised_from(cause))  # pylint: disable=protected-access


def _served(tmp_path, version, record):
  import json  # pylint: disable=import-outside-toplevel
  from components import pushed_model  # pylint: disable=import-outside-toplevel
  path = tmp_path / version / pushed_model.TRAINING_RECORD
  path.parent.mkdir(parents=True)
  path.write_text(json.dumps(record))


def _config(**kwargs):
  from pipelines.definition import ExamplesDir, RunConfig  # pylint: disable=import-outside-toplevel
  return RunConfig(model="mlp", recipe=None, source=ExamplesDir("/d", spans=(2,)),
                   description="", **kwargs)


def test_warm_start_plan_new_data_starts_from_what_is_served(tmp_path):
  _served(tmp_path, "5", {"model": "mlp", "data": "span 1", "warm_start_from": None})
  version, line = local.warm_start_plan(_config(warm_start="auto", data_identity="span 2"),
                                        str(tmp_path), "5")
  assert version == "5" and line.startswith("Trainer: warm start from served version 5 (mlp")


def test_warm_start_plan_a_rerun_starts_where_the_served_model_did(tmp_path):
  """Same data: the served model's own start (cold, or its base), so TFX's cache answers."""
  _served(tmp_path, "6", {"model": "mlp", "data": "span 2", "warm_start_from": "5"})
  _served(tmp_path, "4", {"model": "mlp", "data": "span 2", "warm_start_from": None})
  same = _config(warm_start="auto", data_identity="span 2")
  assert local.warm_start_plan(same, str(tmp_path), "6")[0] == "5"
  assert local.warm_start_plan(same, str(tmp_path), "4") == (
      None, "Trainer: cold start, as served version 4 did (trained on this same data)")


def test_warm_start_plan_cold_when_off_nothing_served_another_model_or_no_record(tmp_path):
  _served(tmp_path, "3", {"model": "cnn", "data": "span 1", "warm_start_from": None})
  new = dict(data_identity="span 2")
  assert local.warm_start_plan(_config(warm_start="off", **new), str(tmp_path), "3") == (
      None, "Trainer: cold start (--warm-start off)")
  assert local.warm_start_plan(_config(warm_start="auto", **new), str(tmp_path), None)[1] == (
      "Trainer: cold start (nothing served yet)")
  assert local.warm_start_plan(_config(warm_start="auto", **new), str(tmp_path), "3")[1] == (
      "Trainer: cold start (served version 3 is a cnn model, not mlp)")
  assert local.warm_start_plan(_config(warm_start="auto", **new), str(tmp_path), "9")[1] == (
      "Trainer: cold start (served version 9 has no training record)")
