"""The push destination's layout: TF Serving's model base path, plus what the pipeline adds.

`<base>/<integer version>/` holds a SavedModel; TF Serving's default policy serves
the highest version and ignores children whose name is not an integer, which is
why a push is written under `.incoming-*` and renamed into place. Each pushed
version also carries the statistics of the data it was trained on, under
`assets.extra/` (which TF Serving leaves alone), so the next run can measure
drift against the data behind the served model without any other store.
"""

import os
from typing import List, Optional

from tfx.dsl.io import fileio

STATISTICS_DIR = os.path.join("assets.extra", "mnist_tfx", "train_statistics")
INCOMING_PREFIX = ".incoming-"


def versions(base_directory: str) -> List[int]:
  """Integer versions under base_directory, ascending ([] if it does not exist)."""
  if not fileio.isdir(base_directory):
    return []
  names = (name.rstrip("/") for name in fileio.listdir(base_directory))
  return sorted(int(name) for name in names if name.isdigit())


def served_version(base_directory: str) -> Optional[str]:
  """The highest version: what TF Serving serves by default (None if nothing is pushed)."""
  found = versions(base_directory)
  return str(found[-1]) if found else None


def statistics_dir(version_dir: str) -> str:
  return os.path.join(version_dir, STATISTICS_DIR)
