"""The examples folder's layout, as TFX's ImportExampleGen reads it: one fact, one place.

DIR/{train,eval,test}/*.tfrecord[.gz], or, for data that arrives in batches,
DIR/span-<N>/{train,eval,test}/... — TFX ExampleGen's `span-{SPAN}/<split>/*` pattern.
A `.`-prefixed folder is a span still being written and is not read. Import-light (no
TFX): the CLI checks a local folder with it before TensorFlow loads
(pipelines/examples_dir.py) and SpanWindow checks the cluster's folder with TFX's fileio.
"""

import os
import re
from typing import Callable, Dict, List, Tuple

SPLITS = ("train", "eval", "test")
FILE_PATTERN = "*.tfrecord*"  # *.tfrecord and *.tfrecord.gz (ImportExampleGen infers gzip)
SPAN_PREFIX = "span-"
SPAN_SPEC = "{SPAN}"  # tfx/components/example_gen/utils.py SPAN_SPEC
# span-0, span-12; not span-012: a static RangeConfig globs span-12 (utils.py
# _create_matching_glob_pattern writes the number without padding).
_SPAN_FOLDER = re.compile(r"span-(0|[1-9][0-9]*)")


class SpanLayoutError(ValueError):
  """The folder's spans cannot be read as asked; str() is one line naming the folder."""


def split_patterns(spans: bool = False) -> Dict[str, str]:
  """ImportExampleGen's split patterns, relative to DIR (under span-{SPAN}/ with spans)."""
  prefix = SPAN_PREFIX + SPAN_SPEC if spans else ""
  return {split: os.path.join(prefix, split, FILE_PATTERN) for split in SPLITS}


def span_dir(root: str, span: int) -> str:
  return os.path.join(root, f"{SPAN_PREFIX}{span}")


def spans(path: str, listdir: Callable[[str], List[str]] = os.listdir,
          isdir: Callable[[str], bool] = os.path.isdir) -> List[int]:
  """The published spans under DIR, ascending ([] if DIR is not laid out in spans).

  A `.`-prefixed folder is a span being written and is skipped; any other span-* name
  that is not span-<N> is a mistake the user must hear about (SpanLayoutError).
  `listdir`/`isdir`: TFX's fileio where DIR is an object store, whose listing ends
  folder names in `/`.
  """
  found = []
  for name in sorted(n.rstrip("/") for n in listdir(path)):
    if name.startswith(".") or not name.startswith(SPAN_PREFIX):
      continue
    match = _SPAN_FOLDER.fullmatch(name)
    if not match or not isdir(os.path.join(path, name)):
      raise SpanLayoutError(f"{os.path.join(path, name)}: not a span folder (expected "
                            "span-<N>/, N a non-negative integer without leading zeros)")
    found.append(int(match.group(1)))
  return sorted(found)


def window_of(published: List[int], window: int, path: str) -> Tuple[int, ...]:
  """The latest `window` of the `published` spans under `path`; SpanLayoutError if too few."""
  if not published:
    raise SpanLayoutError(f"--span-window {window}: {path} has no span-<N>/ folders")
  if window > len(published):
    raise SpanLayoutError(f"--span-window {window}: {path} has only {len(published)} "
                          f"span{'' if len(published) == 1 else 's'} "
                          f"({', '.join(map(str, published))})")
  return tuple(published[-window:])
