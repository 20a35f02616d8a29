"""Node ids of the shared graph, as MLMD, progress lines and compiled specs show them.

A light module: the graph (pipeline.py) names its nodes with these, and readers of ML
Metadata (the run view, reports) find the nodes by them. The ExampleGen's id is its
component's own (MnistIdxExampleGen, ImportExampleGen, ...): readers find the examples
by artefact type instead.
"""

STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
SERVED_BASELINE = "ServedBaseline"
EXAMPLE_GATE = "ExampleGate"
TRANSFORM = "Transform"
TUNER = "Tuner"  # only with --tune N
TRAINER = "Trainer"
EVALUATOR = "Evaluator"
INFRA_VALIDATOR = "InfraValidator"
PUSHER = "Pusher"
GATES = (EXAMPLE_GATE,)
