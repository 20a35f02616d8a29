"""Node ids of the shared graph, as MLMD, progress lines and compiled specs show them.

A light module: the graph (pipeline.py) names its nodes with these, and readers of ML
Metadata (run_summary.py, reports) find the nodes by them.
"""

SERVED_BASELINE = "ServedBaseline"
EXAMPLE_GATE = "ExampleGate"
TRAINER = "Trainer"
EVALUATOR = "Evaluator"
INFRA_VALIDATOR = "InfraValidator"
PUSHER = "Pusher"
GATES = (EXAMPLE_GATE,)
