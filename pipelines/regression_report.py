"""The regression pipeline's own parts of the run report (PipelineDefinition.report_data/_evaluation).

The data's y and x, and the tutorial's check of the trained model: the fitted line over
the test data, the residuals, and w, b and the extrapolation to x in [1, 2] exactly as
the run summary reports them (RegressionDefinition.details, not recomputed here).
"""

import numpy as np

from pipelines import report, run_view
from schemas.regression import contract


def data(run: run_view.Run) -> str:
  parts = []
  stats = report.statistics(run)
  if stats:
    parts.append(report.distribution_figure(
        stats, contract.Y_KEY, contract.X_KEY, label_name=f"target {contract.Y_KEY}",
        value_name=f"input {contract.X_KEY}", value_split=contract.TRAIN_SPLIT))
  return "".join(parts) + report.data_section(run)


def _floats(records, key: str) -> np.ndarray:
  from tensorflow.core.example import example_pb2  # pylint: disable=import-outside-toplevel
  return np.asarray([example_pb2.Example.FromString(r).features.feature[key].float_list.value[0]
                     for r in records], np.float32)


def evaluation(run: run_view.Run, definition) -> str:
  """`definition`: the RegressionDefinition, whose details() are the summary's own check."""
  if run.model_uri is None:
    return ""
  records = report.read_examples(run, contract.TEST_SPLIT)
  details = definition.details(run.model_uri)
  w, b = details["w"], details["b"]
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  predict_x = tf.saved_model.load(report.serving_model_dir(run.model_uri)).signatures[
      contract.PREDICT_X_SIGNATURE]
  xs, ys = _floats(records, contract.X_KEY), _floats(records, contract.Y_KEY)
  predicted = predict_x(**{contract.PREDICT_X_INPUT: tf.constant(xs)})[
      contract.OUTPUT_PREDICTIONS].numpy().reshape(-1)
  grid = np.linspace(0.0, 2.0, 21)
  plt = report.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
  axes[0].scatter(xs, ys, s=6, label=f"{contract.TEST_SPLIT} data")
  axes[0].plot(grid, w * grid + b, color="C1", label=f"fitted y = {w:.4f}x + {b:.4f}")
  axes[0].axvspan(contract.X_MAX, 2.0, color="grey", alpha=0.15, label="extrapolation x in [1, 2]")
  axes[0].legend(fontsize=7)
  axes[1].scatter(xs, ys - predicted, s=6)
  axes[1].axhline(0, color="grey")
  axes[1].set_title(f"residuals ({contract.TEST_SPLIT})")
  n = len(xs)
  truth = lambda x: contract.TRUE_W * x + contract.TRUE_B  # noqa: E731
  rows = [[x, f"{y:.5f}", f"{truth(float(x)):.5f}"] for x, y in details["predictions"].items()]
  return (f"<p>learned w = {w:.6f}, b = {b:.6f} (truth: w = {contract.TRUE_W}, b = {contract.TRUE_B})</p>"
          + report.figure(fig, alt=f"the fitted line y = {w:.4f}x + {b:.4f} over the {n:,} test "
                                   "examples with its extrapolation to x in [1, 2], and the residuals "
                                   "of the trained model's predictions",
                          caption=f"Fitted line over the {n:,} test examples (left, extrapolated to "
                                  f"x = 2) and residuals y - prediction (right).")
          + "<h3>Extrapolation</h3>"
          + report.table(["x", "predicted", f"{contract.TRUE_W:g}x + {contract.TRUE_B:g}"], rows))
