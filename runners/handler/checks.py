"""Checks of what a user typed that several commands share: before anything heavy loads."""

import os
import re
from typing import Optional

from runners.errors import UserError


def check_utf8(args) -> None:
  """Paths must be valid UTF-8: TensorFlow, TFX and ML Metadata cannot store anything else."""
  for name, value in vars(args).items():
    if isinstance(value, str):
      try:
        value.encode("utf-8")
      except UnicodeEncodeError:
        raw = os.fsencode(value)
        raise UserError(f"--{name.replace('_', '-')}: {raw!r} is not valid UTF-8; "
                        "TensorFlow and ML Metadata need UTF-8 paths") from None


def check_output_file(flag: str, path: Optional[str]) -> None:
  """A file the command will write: not a directory, in a directory that exists and is writable."""
  if path is None:
    return
  parent = os.path.dirname(os.path.abspath(path))
  if os.path.isdir(path):
    raise UserError(f"{flag} {path}: is a directory")
  if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
    raise UserError(f"{flag} {path}: cannot write there ({parent} is missing or not writable)")


def safe_name(text: str) -> str:
  """A run id as a file name."""
  return re.sub(r"[^A-Za-z0-9_.-]", "_", text)
