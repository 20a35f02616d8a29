"""BaselineEvaluator: TFX's Evaluator with an optional baseline (see component.py).

Import-light on purpose: the run view (pipelines/run_view.py), and through it `runs`,
the summary and the report, read these property names without importing TFX or TFMA.
"""

# Custom properties the executor writes on its ModelEvaluation artefact.
METRIC_PREFIX = "metric:"  # metric:<name> = the candidate's overall-slice value
FAILED_THRESHOLDS = "failed_thresholds"  # JSON list of lines, as executor.failed_thresholds returns
