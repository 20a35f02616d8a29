"""BaselineEvaluator on real artefacts: a baseline marked absent is dropped, and the metric
and threshold properties it writes are TFMA's own figures.

The models are small real SavedModels (serving_default: serialized tf.Examples with `x` →
predictions 2x + 1 + offset) and the data real tf.Examples in TFX's Examples layout
(Split-test/*.gz), labels y = 2x + 1; Executor.Do runs TFX's Evaluator and TFMA's Beam
pipeline (DirectRunner) for real. The expected figures are computed here from the data.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import types
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import path_utils

from components import gate_result
from components.baseline_evaluator import FAILED_THRESHOLDS, METRIC_PREFIX
from components.baseline_evaluator.component import BaselineEvaluator
from components.baseline_evaluator.executor import Executor

X = np.linspace(0.0, 1.0, 50, dtype=np.float32)
Y = 2 * X + 1
MSE_UPPER_BOUND = 0.005


def _eval_config():
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key="y",
                                  prediction_key="predictions")],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="MeanSquaredError", threshold=tfma.MetricThreshold(
              value_threshold=tfma.GenericValueThreshold(upper_bound={"value": MSE_UPPER_BOUND}))),
          # Needs a baseline: skipped without one (TFX's rubber stamp), checked with one.
          tfma.MetricConfig(class_name="MeanAbsoluteError", threshold=tfma.MetricThreshold(
              change_threshold=tfma.GenericChangeThreshold(
                  direction=tfma.MetricDirection.LOWER_IS_BETTER, absolute={"value": 0.0}))),
      ])])


def _examples(tmp_path):
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / "examples")
  examples.split_names = artifact_utils.encode_split_names(["test"])
  os.makedirs(os.path.join(examples.uri, "Split-test"))
  path = os.path.join(examples.uri, "Split-test", "data_tfrecord-00000-of-00001.gz")
  with tf.io.TFRecordWriter(path, options="GZIP") as writer:
    for x, y in zip(X, Y):
      writer.write(tf.train.Example(features=tf.train.Features(feature={
          "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
          "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y]))})).SerializeToString())
  return examples


def _model(tmp_path, name, offset, artifact_type=standard_artifacts.Model):
  module = tf.Module()
  module.offset = tf.Variable(offset)
  spec = {"x": tf.io.FixedLenFeature([1], tf.float32)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve(examples):
    return {"predictions": 2.0 * tf.io.parse_example(examples, spec)["x"] + 1.0 + module.offset}

  module.serve = serve
  model = artifact_type()
  model.uri = str(tmp_path / name)
  tf.saved_model.save(module, path_utils.serving_model_path(model.uri),
                      signatures={"serving_default": serve})
  return model


def _evaluate(tmp_path, candidate, baseline):
  evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
  evaluation.uri, blessing.uri = str(tmp_path / "evaluation"), str(tmp_path / "blessing")
  os.makedirs(blessing.uri)
  component = BaselineEvaluator(  # the exec_properties pipelines/pipeline.py's Evaluator has
      examples=types.Channel(type=standard_artifacts.Examples),
      model=types.Channel(type=standard_artifacts.Model),
      baseline_model=types.Channel(type=standard_artifacts.Model),
      example_splits=["test"], eval_config=_eval_config())
  Executor().Do({standard_component_specs.EXAMPLES_KEY: [_examples(tmp_path)],
                 standard_component_specs.MODEL_KEY: [candidate],
                 standard_component_specs.BASELINE_MODEL_KEY: [baseline]},
                {standard_component_specs.EVALUATION_KEY: [evaluation],
                 standard_component_specs.BLESSING_KEY: [blessing]},
                dict(component.exec_properties))
  return evaluation, blessing


def _written(evaluation):
  metrics = {name[len(METRIC_PREFIX):]: value.double_value
             for name, value in evaluation.mlmd_artifact.custom_properties.items()
             if name.startswith(METRIC_PREFIX)}
  return metrics, json.loads(evaluation.get_string_custom_property(FAILED_THRESHOLDS))


def _tfma_overall(evaluation_uri):
  """TFMA's own overall-slice figures, read with its public API: {(model, name, is_diff): value}."""
  (overall,) = [m for m in tfma.load_metrics(evaluation_uri) if not m.slice_key.single_slice_keys]
  return {(kv.key.model_name, kv.key.name, kv.key.is_diff): kv.value.double_value.value
          for kv in overall.metric_keys_and_values}


def test_a_baseline_marked_absent_is_dropped_and_the_figures_are_tfmas(tmp_path):
  # What ServedBaseline outputs when nothing is served: an artefact with nothing in it.
  absent = standard_artifacts.Model()
  absent.uri = str(tmp_path / "nothing-served")
  os.makedirs(absent.uri)
  absent.set_int_custom_property(gate_result.BASELINE_PRESENT, 0)
  evaluation, blessing = _evaluate(tmp_path, _model(tmp_path, "candidate", 0.1), absent)

  tfma_figures = _tfma_overall(evaluation.uri)
  assert {model for model, _, _ in tfma_figures} == {""}  # one model: no baseline was evaluated
  metrics, failed = _written(evaluation)
  assert metrics == {name: value for (_, name, _), value in tfma_figures.items()}
  assert metrics["example_count"] == len(X)
  assert metrics["mean_squared_error"] == pytest.approx(0.01, rel=1e-4)  # offset 0.1, squared
  assert metrics["mean_absolute_error"] == pytest.approx(0.1, rel=1e-4)

  validation = tfma.load_validation_result(evaluation.uri)
  (failure,) = [f for s in validation.metric_validations_per_slice for f in s.failures]
  assert not validation.validation_ok and failure.metric_key.name == "mean_squared_error"
  value = failure.metric_value.double_value.value
  assert failed == [f"mean_squared_error {value:.4g} > upper bound {MSE_UPPER_BOUND:g} "
                    f"(over by {value - MSE_UPPER_BOUND:.4g})"]  # the change threshold: skipped
  assert blessing.get_int_custom_property("blessed") == 0
  assert os.listdir(blessing.uri) == ["NOT_BLESSED"]


def test_a_present_baseline_is_compared_and_the_diff_is_tfmas(tmp_path):
  baseline = _model(tmp_path, "served", 0.0)
  baseline.set_int_custom_property(gate_result.BASELINE_PRESENT, 1)
  evaluation, _ = _evaluate(tmp_path, _model(tmp_path, "candidate", 0.1), baseline)

  tfma_figures = _tfma_overall(evaluation.uri)
  assert {model for model, _, _ in tfma_figures} == {"candidate", "baseline"}
  metrics, failed = _written(evaluation)
  # The candidate's figures and its diffs; the served model's own figures are not copied.
  assert metrics == {(f"{name}_diff" if diff else name): value
                     for (model, name, diff), value in tfma_figures.items() if model == "candidate"}
  assert metrics["mean_absolute_error_diff"] == pytest.approx(0.1, rel=1e-4)
  assert tfma_figures[("baseline", "mean_absolute_error", False)] == pytest.approx(0.0, abs=1e-6)
  change = [line for line in failed if line.startswith("mean_absolute_error changed by")]
  assert change == [f"mean_absolute_error changed by {metrics['mean_absolute_error_diff']:+.4g} "
                    "against the served model (allowed +0; short by "
                    f"{metrics['mean_absolute_error_diff']:.4g})"], failed
  assert len(failed) == 2  # and the MSE bound, as without a baseline
