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


def for_span(node: str, span: int) -> str:
  """The id of `node` for one span: `StatisticsGen.span-3`. Its cache key holds the id, so a
  span's ingestion and statistics are reused whatever window it falls in."""
  return f"{node}{_SPAN_SUFFIX}{span}"


def split_span(node_id: str):
  """(`StatisticsGen`, 3) for `StatisticsGen.span-3`; (node_id, None) for other nodes."""
  base, sep, suffix = node_id.rpartition(_SPAN_SUFFIX)
  if sep and suffix.isdigit():
    return base, int(suffix)
  return node_id, None
