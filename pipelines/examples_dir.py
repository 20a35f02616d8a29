"""`--examples-dir DIR`: bring your own tf.Examples, read through TFX's ImportExampleGen.

DIR/train/, DIR/eval/ and DIR/test/ hold TFRecord files (`*.tfrecord`, or
`*.tfrecord.gz` gzipped) of tf.Example in the pipeline's feature encoding
(schemas/<dataset>/contract.py). What the records contain is the ExampleGate's
business: it checks them against the curated schema before anything trains.
Here, before TensorFlow loads, only what a file system can tell: the layout
exists, each split has files, each file can be read.

Spans. Data that arrives in batches goes into DIR/span-<N>/ folders, each laid out
as above — TFX ExampleGen's `{SPAN}` pattern, `span-{SPAN}/<split>/*`. A folder
whose name starts with `.` is a span still being written (write `.incoming-span-3/`,
then rename it) and is not read. A run reads the latest `--span-window K` spans
(default 1), each with its own ImportExampleGen pinned to that span (a static
RangeConfig) and named after it, so TFX's cache reuses every span already
ingested: the cache key holds the node id, the span and the files' fingerprint
(tfx/orchestration/portable/cache_utils.py), not the window around it.
"""

import glob
import os
from typing import Dict, Iterable, List, Optional, Tuple

from components.span_example_gen import layout
from pipelines import nodes
from pipelines.definition import DefinitionError, ExamplesDir, Option

_GZIP_MAGIC = b"\x1f\x8b"
# The layout's facts live with the component that reads it on a cluster (import-light).
SPLITS, FILE_PATTERN, SPAN_PREFIX = layout.SPLITS, layout.FILE_PATTERN, layout.SPAN_PREFIX
split_patterns = layout.split_patterns


SPAN_WINDOW_OPTION = Option(
    "--span-window", int, None, "with --examples-dir DIR of span-<N>/ folders: train on the "
    "latest K spans (default 1, the newest); each span is ingested once", metavar="K")


def spans(path: str) -> List[int]:
  """The published spans under a local DIR, ascending (layout.spans); DefinitionError if a
  span-* folder is misnamed."""
  try:
    return layout.spans(path)
  except layout.SpanLayoutError as e:
    raise DefinitionError(str(e)) from None


def source(path: str, span_window: Optional[int] = None) -> ExamplesDir:
  """--examples-dir DIR [--span-window K], checked: DefinitionError (one line) if not usable."""
  path = _existing_dir(path)
  published = spans(path)
  if span_window is not None and span_window < 1:
    raise DefinitionError(f"--span-window {span_window}: the window must be at least 1 span")
  if not published:
    if span_window is not None:
      raise DefinitionError(f"--span-window {span_window}: {path} has no span-<N>/ folders")
    validate(path)
    return ExamplesDir(path)
  chosen = window_of(published, span_window or 1, path)
  for span in reversed(chosen):  # the latest first: the one a new batch most likely broke
    validate(layout.span_dir(path, span))
  return ExamplesDir(path, spans=chosen)


def cluster_window(uri: str, span_window: int) -> ExamplesDir:
  """compile --data-uri URI --span-window K: the latest K spans under URI, picked by the
  compiled spec's SpanWindow node when each run starts (nothing here can list URI)."""
  if span_window < 1:
    raise DefinitionError(f"--span-window {span_window}: the window must be at least 1 span")
  return ExamplesDir(uri, window=span_window)


def window_of(published: List[int], window: int, path: str) -> Tuple[int, ...]:
  try:
    return layout.window_of(published, window, path)
  except layout.SpanLayoutError as e:
    raise DefinitionError(str(e)) from None


def write_splits(root: str, splits: Dict[str, Iterable[bytes]]) -> str:
  """DIR/<split>/data.tfrecord.gz from {split: serialized tf.Examples}; returns DIR (imports TF)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  for split, records in splits.items():
    os.makedirs(os.path.join(root, split), exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(root, split, "data.tfrecord.gz"),
                              options=tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
      for record in records:
        writer.write(record)
  return root


def publish_span(root: str, span: int, splits: Dict[str, Iterable[bytes]]) -> str:
  """Writes DIR/span-<span>/<split>/data.tfrecord.gz from serialized tf.Examples as a producer
  should: under `.incoming-span-<span>/`, renamed into place when complete (a run never reads
  a half-written span). Returns the span's folder. Imports TensorFlow."""
  incoming = write_splits(os.path.join(root, f".incoming-{SPAN_PREFIX}{span}"), splits)
  published = os.path.join(root, f"{SPAN_PREFIX}{span}")
  os.rename(incoming, published)
  return published


def _existing_dir(path: str) -> str:
  if not os.path.exists(path):
    raise DefinitionError(f"--examples-dir {path}: not found")
  if not os.path.isdir(path):
    raise DefinitionError(f"--examples-dir {path}: is a file, not a directory")
  return os.path.abspath(path)


def validate(path: str) -> str:
  """The absolute DIR of one dataset (no spans); DefinitionError (one line) if not usable."""
  path = _existing_dir(path)
  for split in SPLITS:
    if not os.path.isdir(os.path.join(path, split)):
      raise DefinitionError(f"{path}: no {split}/ directory "
                            f"(expected {', '.join(s + '/' for s in SPLITS)})")
  for split, pattern in split_patterns().items():
    split_dir = os.path.join(path, split)
    files = sorted(glob.glob(os.path.join(path, pattern)))
    if not files:
      raise DefinitionError(f"{split_dir}: no *.tfrecord or *.tfrecord.gz files (empty split)")
    for name in files:
      try:
        with open(name, "rb") as f:
          head = f.read(2)
      except OSError as e:
        raise DefinitionError(f"{name}: cannot be read ({e.strerror})") from None
      if not head:
        raise DefinitionError(f"{name}: empty file")
      if name.endswith(".gz") and head != _GZIP_MAGIC:
        raise DefinitionError(f"{name}: named .gz but not gzip data")
  return path


def import_example_gen(examples_dir: str, span: Optional[int] = None):
  """TFX's ImportExampleGen over DIR's three splits, or over span-<span>/'s (imports TFX).

  A span's node is pinned to it (static RangeConfig) and named after it
  (`ImportExampleGen.span-3`); TFX records `span` on the Examples artefact.
  """
  from tfx.components import ImportExampleGen  # pylint: disable=import-outside-toplevel
  from tfx.proto import example_gen_pb2, range_config_pb2  # pylint: disable=import-outside-toplevel
  input_config = example_gen_pb2.Input(splits=[
      example_gen_pb2.Input.Split(name=split, pattern=pattern)
      for split, pattern in split_patterns(spans=span is not None).items()])
  if span is None:
    return ImportExampleGen(input_base=examples_dir, input_config=input_config)
  return ImportExampleGen(
      input_base=examples_dir, input_config=input_config,
      range_config=range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
          start_span_number=span, end_span_number=span))).with_id(nodes.for_span("ImportExampleGen", span))


def example_gens(source: ExamplesDir) -> List[Tuple[str, object]]:
  """[(node id suffix, ExampleGen)] for the source's spans, oldest first; [("", gen)] without.

  A compiled spec's window (source.window = K): K SpanImportExampleGens, one per position,
  each given its span by the one SpanWindow node when the run starts.
  """
  if source.window:
    from components.span_example_gen.component import SpanImportExampleGen, span_window  # pylint: disable=import-outside-toplevel
    window = span_window(source.uri, source.window).with_id(nodes.SPAN_WINDOW)
    gens = []
    for position in range(1, source.window + 1):
      gen = SpanImportExampleGen(input_base=source.uri, span=window.span(position)).with_id(
          "ImportExampleGen" + nodes.window_suffix(position))
      gen.add_upstream_node(window)  # a dynamic exec property is no edge of TFX's graph
      gens.append((nodes.window_suffix(position), gen))
    return gens
  if not source.spans:
    return [("", import_example_gen(source.uri))]
  return [(nodes.span_suffix(span), import_example_gen(source.uri, span)) for span in source.spans]
