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
