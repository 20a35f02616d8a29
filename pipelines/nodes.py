"""Node ids of the shared graph, as MLMD, progress lines and compiled specs show them.

A light module: the graph (pipeline.py) names its nodes with these, and readers of ML
Metadata (the run view, reports) find the nodes by them. The ExampleGen's id is its
component's own (MnistIdxExampleGen, ImportExampleGen, ...): readers find the examples
by artefact type instead.
"""

STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
SERVED_BASELINE = "ServedBaseline"
WARM_START_BASE = "WarmStartBase"  # a ServedBaseline pinned to the version a warm start begins from
EXAMPLE_GATE = "ExampleGate"
TRANSFORM = "Transform"
TUNER = "Tuner"  # only with --tune N
TRAINER = "Trainer"
EVALUATOR = "Evaluator"
INFRA_VALIDATOR = "InfraValidator"
PUSHER = "Pusher"
GATES = (EXAMPLE_GATE,)

# With --examples-dir of span-<N>/ folders, the data nodes are one per span, named after it.
_SPAN_SUFFIX = ".span-"
# A compiled spec cannot name nodes after spans it has not seen: its data nodes are one per
# position of the window (1 the oldest .. K the latest), and SpanWindow picks each position's
# span when the run starts (components/span_example_gen). Argo task names take no dots.
SPAN_WINDOW = "SpanWindow"
SPAN_UNION = "SpanUnion"  # the window's Examples as one artefact, for Transform and the Trainer
_WINDOW_SUFFIX = "-window-"


def span_suffix(span: int) -> str:
  return f"{_SPAN_SUFFIX}{span}"


def for_span(node: str, span: int) -> str:
  """The id of `node` for one span: `StatisticsGen.span-3`. Its cache key holds the id, so a
  span's ingestion and statistics are reused whatever window it falls in."""
  return node + span_suffix(span)


def window_suffix(position: int) -> str:
  """`-window-2`: the suffix of a compiled spec's data nodes for position 2 of the window."""
  return f"{_WINDOW_SUFFIX}{position}"


def split_span(node_id: str):
  """(`StatisticsGen`, 3) for `StatisticsGen.span-3`; (node_id, None) for other nodes."""
  base, sep, suffix = node_id.rpartition(_SPAN_SUFFIX)
  if sep and suffix.isdigit():
    return base, int(suffix)
  return node_id, None
