"""`mnist-tfx monitor`: what the served model receives, against what it was trained on.

The model server (or a real TF Serving with a collector writing this format) logs a
sample of its requests as `tensorflow.serving.PredictionLog` records in TFRecord
files (serving/model_server/request_log.py). This module reads every record under a
prefix, decodes the served inputs back into the pipeline's features (tf.Examples in
the request, or raw tensors named like a feature), computes TFDV statistics of them
in memory, and compares them with the training statistics the pushed version that
answered carries (components/pushed_model.STATISTICS_DIR):

- schema anomalies of the served inputs, validated against the curated schema in its
  SERVING environment (the label is not served: `not_in_environment: "SERVING"`);
- input skew: TFDV's skew comparators from the schema (Jensen-Shannon divergence for a
  numeric feature such as MNIST's pixels, L-infinity for categorical ones);
- prior shift: the predicted classes in the responses against the training labels
  (L-infinity), for classifiers. Its bound is the label's skew threshold from the
  schema plus an allowance for sampling: with n logged requests each class frequency
  has a standard error of at most 0.5/sqrt(n), and 3.5 of those (PRIOR_SHIFT_Z) bound
  the largest of ten classes' sampling deviations with < 0.5 % false alarms, so 1,000
  requests of the canonical test set (L-infinity ~0.01 against the training labels)
  do not alarm while a stream of one digit (~0.89) always does.

Each finding is one line (`image: Jensen-Shannon divergence 0.51 > 0.1`); the page
(`render`) shows the distributions side by side.
"""

import dataclasses
import datetime
import glob
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from components import pushed_model

PRIOR_SHIFT_Z = 3.5
TRAIN_SPLIT = "train"  # the split whose statistics a pushed version carries for this check
_SKEW_NAMES = {"JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon divergence", "L_INFTY": "L∞",
               "NORMALIZED_ABSOLUTE_DIFFERENCE": "normalized absolute difference"}


class MonitorError(ValueError):
  """Input the monitor cannot use; str() is one line naming it."""


@dataclasses.dataclass(frozen=True)
class Finding:
  """One thing wrong with the served traffic."""
  feature: str  # a feature name, or "predicted classes"
  message: str  # e.g. "Jensen-Shannon divergence 0.51 > 0.1"
  version: int
  value: Optional[float] = None
  threshold: Optional[float] = None

  def line(self, prefix_version: bool = False) -> str:
    return f"{f'version {self.version}: ' if prefix_version else ''}{self.feature}: {self.message}"


@dataclasses.dataclass
class LoggedRequests:
  """What the request logs under one prefix hold."""
  logs: List  # PredictionLog messages, in file order
  files: List[str]
  warnings: List[str]  # one line each (a torn last record skipped, ...)
  modified: Tuple[float, float]  # oldest and newest file modification time (seconds since epoch)


@dataclasses.dataclass
class VersionTraffic:
  """The requests one version answered, decoded, and what they are compared with."""
  model: str
  version: int
  requests: int
  examples: List[bytes]  # the served inputs as serialized tf.Examples of the pipeline's features
  predicted: List[int]  # predicted classes (classifiers only)
  serving_statistics: object  # DatasetFeatureStatisticsList
  training_statistics: object  # DatasetFeatureStatistics of the train split
  findings: List[Finding]
  # Every comparison made, over its threshold or not: (feature, measure, value, threshold).
  comparisons: List[Tuple[str, str, float, float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class MonitorResult:
  requests: LoggedRequests
  versions: List[VersionTraffic]
  label_key: str

  @property
  def findings(self) -> List[Finding]:
    return [f for v in self.versions for f in v.findings]

  def lines(self) -> List[str]:
    several = len(self.versions) > 1
    return [f.line(prefix_version=several) for f in self.findings]

  def as_json(self) -> Dict:
    start, end = self.requests.modified
    return {"records": len(self.requests.logs), "files": self.requests.files,
            "first_file_written": _iso(start), "last_file_written": _iso(end),
            "warnings": self.requests.warnings,
            "versions": [{"model": v.model, "version": v.version, "requests": v.requests,
                          "examples": len(v.examples)} for v in self.versions],
            "findings": [{"version": f.version, "feature": f.feature, "message": f.message,
                          "value": f.value, "threshold": f.threshold, "line": f.line()}
                         for f in self.findings]}


def _iso(seconds: float) -> str:
  return datetime.datetime.utcfromtimestamp(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- reading the logs -----------------------------------------------------------------------

def read_logs(prefix: str) -> LoggedRequests:
  """Every PredictionLog in the files whose names start with `prefix` (finished or being written).

  A torn last record (a server killed mid-write, a file still being written) is skipped
  with a warning; a file that does not start with a PredictionLog record is an error.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel
  files = sorted(f for f in glob.glob(glob.escape(prefix) + "*") if os.path.isfile(f))
  if not files:
    raise MonitorError(f"--request-logs {prefix}: no files start with this prefix")
  logs, warnings = [], []
  for path in files:
    if os.path.getsize(path) == 0:
      continue  # created, nothing written yet
    compression = "GZIP" if path.endswith(".gz") else ""
    count = 0
    try:
      for record in tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator():
        log = _prediction_log(record, prediction_log_pb2)
        if log is None:
          raise MonitorError(f"{path}: record {count + 1} is not a tensorflow.serving.PredictionLog")
        logs.append(log)
        count += 1
    except tf.errors.OpError as e:
      if count == 0:
        raise MonitorError(f"{path}: not a TFRecord file of PredictionLog records "
                           f"({e.message.splitlines()[0]})") from None
      warnings.append(f"{path}: stopped after record {count}, the rest is torn or unreadable "
                      f"({e.message.splitlines()[0]})")
  if not logs:
    raise MonitorError(f"--request-logs {prefix}: the files hold no records yet")
  mtimes = [os.path.getmtime(f) for f in files]
  return LoggedRequests(logs, files, warnings, (min(mtimes), max(mtimes)))


def _prediction_log(record: bytes, prediction_log_pb2):
  """The record as a PredictionLog, or None if it is not one (protobuf parses many things)."""
  from google.protobuf import message  # pylint: disable=import-outside-toplevel
  try:
    log = prediction_log_pb2.PredictionLog.FromString(record)
  except message.DecodeError:
    return None
  if log.WhichOneof("log_type") is None or not log.log_metadata.model_spec.name:
    return None
  return log


# --- decoding what was served -----------------------------------------------------------------

def _examples_of_input(model_input) -> List[bytes]:
  """tensorflow.serving.Input (Classify/Regress/MultiInference) → serialized tf.Examples, the
  context merged in as the server merges it."""
  from serving.model_server import errors, protos  # pylint: disable=import-outside-toplevel
  try:
    return protos.serialized_examples(model_input)
  except errors.ServingError:  # an empty Input: nothing was served
    return []


def _examples_of_tensors(inputs, feature_names: Sequence[str]) -> List[bytes]:
  """PredictRequest inputs → serialized tf.Examples: a DT_STRING tensor holds them already;
  numeric tensors named like a feature become that feature, one example per row."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tensorflow.core.framework import types_pb2  # pylint: disable=import-outside-toplevel
  for proto in inputs.values():
    if proto.dtype == types_pb2.DT_STRING:
      return list(proto.string_val)
  columns = {name: tf.make_ndarray(proto) for name, proto in inputs.items() if name in feature_names}
  if not columns:
    return []
  rows = min(len(v) for v in columns.values())
  out = []
  for i in range(rows):
    feature = {}
    for name, values in columns.items():
      row = np.asarray(values[i]).reshape(-1)
      if row.dtype.kind == "f":
        feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))
      else:
        feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=row.astype(np.int64).tolist()))
    out.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
  return out


def served_examples(log, feature_names: Sequence[str]) -> List[bytes]:
  kind = log.WhichOneof("log_type")
  if kind == "predict_log":
    return _examples_of_tensors(log.predict_log.request.inputs, feature_names)
  if kind in ("classify_log", "regress_log", "multi_inference_log"):
    return _examples_of_input(getattr(log, kind).request.input)
  return []


def predicted_classes(log, class_output: str) -> List[int]:
  """The classes the model answered with: serving_default's class output, or the best-scoring
  label of a Classify result (labels that are not integers are left out)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  kind = log.WhichOneof("log_type")
  if kind == "predict_log":
    outputs = log.predict_log.response.outputs
    if class_output in outputs:
      return [int(c) for c in np.asarray(tf.make_ndarray(outputs[class_output])).reshape(-1)]
    return []
  results = []
  if kind == "classify_log":
    results = [log.classify_log.response.result]
  elif kind == "multi_inference_log":
    results = [r.classification_result for r in log.multi_inference_log.response.results
               if r.HasField("classification_result")][:1]
  out = []
  for result in results:
    for classification in result.classifications:
      if classification.classes:
        best = max(classification.classes, key=lambda c: c.score)
        if best.label.lstrip("-").isdigit():
          out.append(int(best.label))
  return out


# --- statistics and comparisons -----------------------------------------------------------------

def serving_statistics(examples: List[bytes], schema):
  """TFDV statistics of the served examples, in memory (tfx_bsl's C++ decoder, no Beam)."""
  import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel
  from tensorflow_data_validation.statistics import stats_impl  # pylint: disable=import-outside-toplevel
  from tfx_bsl.coders import example_coder  # pylint: disable=import-outside-toplevel
  batch = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(examples)
  return stats_impl.generate_statistics_in_memory(batch, tfdv.StatsOptions(schema=schema))


def training_statistics(version_dir: str):
  """The train split's statistics the pushed version carries (MonitorError if it has none)."""
  from tensorflow_metadata.proto.v0 import statistics_pb2  # pylint: disable=import-outside-toplevel
  path = os.path.join(pushed_model.statistics_dir(version_dir), f"Split-{TRAIN_SPLIT}", "FeatureStats.pb")
  if not os.path.isfile(path):
    raise MonitorError(f"{version_dir}: no training statistics in the pushed version (expected "
                       f"{os.path.relpath(path, version_dir)}; versions pushed by this pipeline carry them)")
  with open(path, "rb") as f:
    return statistics_pb2.DatasetFeatureStatisticsList.FromString(f.read())


def feature_statistics(dataset, name: str):
  return next((f for f in dataset.features if f.path.step and list(f.path.step) == [name]), None)


def class_distribution(dataset, name: str, classes: Optional[Sequence[int]] = None) -> Dict[int, float]:
  """{class: fraction} of a categorical int feature's value counts in TFDV statistics."""
  stat = feature_statistics(dataset, name)
  counts: Dict[int, float] = {}
  if stat is not None:
    for value in stat.string_stats.top_values:
      if value.value.lstrip("-").isdigit():
        counts[int(value.value)] = value.frequency
  for c in classes or ():
    counts.setdefault(c, 0.0)
  total = sum(counts.values()) or 1.0
  return {k: v / total for k, v in sorted(counts.items())}


def prior_shift_bound(base: float, requests: int) -> float:
  return base + PRIOR_SHIFT_Z * 0.5 / math.sqrt(max(1, requests))


def _anomaly_findings(anomalies, version: int) -> List[Finding]:
  findings = []
  for feature, info in sorted(anomalies.anomaly_info.items()):
    reasons = "; ".join(r.description or r.short_description for r in info.reason) or info.description
    findings.append(Finding(feature, reasons, version))
  if anomalies.HasField("dataset_anomaly_info"):
    reasons = "; ".join(r.description for r in anomalies.dataset_anomaly_info.reason)
    findings.append(Finding("dataset", reasons, version))
  return findings


def _skew(anomalies, version: int, comparisons: list) -> List[Finding]:
  """Findings for skew measurements over their threshold; every measurement goes to `comparisons`."""
  from tensorflow_metadata.proto.v0 import anomalies_pb2  # pylint: disable=import-outside-toplevel
  findings = []
  for info in anomalies.drift_skew_info:
    feature = ".".join(info.path.step)
    for m in info.skew_measurements:
      kind = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(m.type)
      measure = _SKEW_NAMES.get(kind, kind)
      comparisons.append((feature, measure, m.value, m.threshold))
      if m.value > m.threshold:
        findings.append(Finding(feature, f"{measure} {m.value:.3g} > {m.threshold:g}", version,
                                m.value, m.threshold))
  return findings


def _prior_shift(traffic_predicted: List[int], training, schema, label_key: str,
                 version: int, comparisons: list) -> List[Finding]:
  import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel
  if not traffic_predicted:
    return []
  label = tfdv.get_feature(schema, label_key)
  base = label.skew_comparator.infinity_norm.threshold if label.HasField("skew_comparator") else 0.05
  train = class_distribution(training, label_key)
  predicted = np.asarray(traffic_predicted)
  served_share = {c: float(np.mean(predicted == c)) for c in set(train) | set(traffic_predicted)}
  worst = max(served_share, key=lambda c: abs(served_share[c] - train.get(c, 0.0)))
  distance = abs(served_share[worst] - train.get(worst, 0.0))
  bound = prior_shift_bound(base, len(traffic_predicted))
  comparisons.append(("predicted classes", f"L∞ against the training {label_key}", distance, bound))
  if distance <= bound:
    return []
  return [Finding("predicted classes", f"L∞ {distance:.2f} > {bound:.2f} (class {worst}: "
                  f"{served_share[worst]:.1%} of predictions, {train.get(worst, 0.0):.1%} of training "
                  f"labels; bound {base:g} + sampling allowance for {len(traffic_predicted)} "
                  "predictions)", version, distance, bound)]


def analyse(requests: LoggedRequests, model_base_path: str, schema, label_key: str,
            class_output: Optional[str]) -> MonitorResult:
  """Findings per version that answered, against that version's training statistics."""
  import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel
  feature_names = [f.name for f in schema.feature]
  by_version: Dict[Tuple[str, int], list] = {}
  for log in requests.logs:
    spec = log.log_metadata.model_spec
    by_version.setdefault((spec.name, spec.version.value), []).append(log)
  versions = []
  for (model, version), logs in sorted(by_version.items()):
    version_dir = os.path.join(model_base_path, str(version))
    if not os.path.isdir(version_dir):
      raise MonitorError(f"--model-base-path {model_base_path}: no version {version}, which "
                         f"answered {len(logs)} logged requests for model {model}")
    training = training_statistics(version_dir)
    train_split = next((d for d in training.datasets), None)
    examples = [e for log in logs for e in served_examples(log, feature_names)]
    predicted = [c for log in logs for c in predicted_classes(log, class_output)] if class_output else []
    findings: List[Finding] = []
    comparisons: list = []
    stats = None
    if examples:
      stats = serving_statistics(examples, schema)
      findings += _anomaly_findings(tfdv.validate_statistics(stats, schema, environment="SERVING"), version)
      # Skew is measured by validating the training statistics with the serving ones beside them
      # (TFDV's API); only the skew measurements are read from that result.
      findings += _skew(tfdv.validate_statistics(training, schema, environment="TRAINING",
                                                 serving_statistics=stats), version, comparisons)
    findings += _prior_shift(predicted, train_split, schema, label_key, version, comparisons)
    versions.append(VersionTraffic(model, version, len(logs), examples, predicted, stats, train_split,
                                   findings, comparisons))
  return MonitorResult(requests, versions, label_key)


# --- the page ---------------------------------------------------------------------------------

def _histogram(stat) -> Tuple[np.ndarray, np.ndarray]:
  """(bucket centres, fraction per bucket) of a numeric feature's standard histogram."""
  if stat is None or not stat.num_stats.histograms:
    return np.zeros(0), np.zeros(0)
  buckets = stat.num_stats.histograms[0].buckets
  counts = np.asarray([b.sample_count for b in buckets], float)
  return (np.asarray([(b.low_value + b.high_value) / 2 for b in buckets]),
          counts / max(1.0, counts.sum()))


def _version_section(traffic: VersionTraffic, schema, label_key: str) -> str:
  from pipelines import report  # pylint: disable=import-outside-toplevel
  from tensorflow_metadata.proto.v0 import schema_pb2  # pylint: disable=import-outside-toplevel
  from tfx_bsl.coders import example_coder  # pylint: disable=import-outside-toplevel
  plt = report.pyplot()
  parts = [f"<h2>Model {report.escape(traffic.model)}, version {traffic.version}</h2>"
           f"<p>{traffic.requests:,} logged requests, {len(traffic.examples):,} served examples</p>",
           report.table(["feature", "measure", "served vs training", "threshold", ""],
                        [[f, m, f"{v:.4g}", f"{t:.4g}", "over" if v > t else "ok"]
                         for f, m, v, t in traffic.comparisons])]
  serving = traffic.serving_statistics.datasets[0] if traffic.serving_statistics else None
  numeric = [f.name for f in schema.feature if f.name != label_key and f.type in (schema_pb2.INT, schema_pb2.FLOAT)]
  for name in numeric:
    served_x, served_p = _histogram(feature_statistics(serving, name) if serving else None)
    train_x, train_p = _histogram(feature_statistics(traffic.training_statistics, name))
    if not len(served_x) and not len(train_x):
      continue
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    width = (train_x[1] - train_x[0]) * 0.4 if len(train_x) > 1 else 0.4
    axes[0].bar(train_x - width / 2, train_p, width=width, label="training")
    axes[0].bar(served_x + width / 2, served_p, width=width, label="served")
    axes[0].set_yscale("log")
    axes[0].set_title(f"{name}: values, fraction per bucket")
    axes[0].legend()
    means = []
    if traffic.examples:
      batch = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(traffic.examples)
      if name in batch.schema.names:
        column = batch.column(batch.schema.get_field_index(name)).to_pylist()
        means = [float(np.mean(v)) for v in column if v]
    axes[1].hist(means, bins=30, label="served")
    train_stat = feature_statistics(traffic.training_statistics, name)
    if train_stat is not None:
      axes[1].axvline(train_stat.num_stats.mean, color="C1", label="training mean")
    axes[1].set_title(f"{name}: mean value per served example")
    axes[1].legend()
    parts.append(report.figure(
        fig, alt=f"{name} value histogram of the {len(traffic.examples):,} served examples against the "
                 f"training split's, and the mean {name} value per served example against the training mean",
        caption=f"{name}: served against training values (left, log scale) and the mean per served "
                "example (right)."))
  if traffic.predicted:
    train = class_distribution(traffic.training_statistics, label_key)
    classes = sorted(set(train) | set(traffic.predicted))
    served = [float(np.mean(np.asarray(traffic.predicted) == c)) for c in classes]
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(len(classes))
    ax.bar(x - 0.2, [train.get(c, 0.0) for c in classes], width=0.4, label=f"training {label_key}")
    ax.bar(x + 0.2, served, width=0.4, label="predicted (served)")
    ax.set_xticks(x)
    ax.set_xticklabels([str(c) for c in classes])
    ax.legend()
    parts.append(report.figure(
        fig, alt=f"distribution of the {len(traffic.predicted):,} predicted classes against the "
                 f"training {label_key} distribution",
        caption="Predicted classes of the served requests against the training labels."))
  return "".join(parts)


def render(result: MonitorResult, schema, prefix: str, model_base_path: str) -> str:
  """A self-contained HTML page: what was read, the findings, and the distributions per version."""
  from pipelines import report  # pylint: disable=import-outside-toplevel
  start, end = result.requests.modified
  lines = result.lines()
  head = (f"<p>{len(result.requests.logs):,} logged requests in {len(result.requests.files)} "
          f"{'file' if len(result.requests.files) == 1 else 'files'} "
          f"<code>{report.escape(prefix)}*</code>, written between {_iso(start)} and {_iso(end)}; "
          f"compared with the training statistics of the versions under "
          f"<code>{report.escape(model_base_path)}</code></p>")
  findings = ("<h2>Findings</h2>" + (report.table(["finding"], [[l] for l in lines]) if lines
                                      else "<p>none: the served traffic looks like the training data</p>"))
  warnings = ("<h3>Warnings</h3>" + report.table(["warning"], [[w] for w in result.requests.warnings])
              if result.requests.warnings else "")
  body = head + findings + warnings + "".join(_version_section(v, schema, result.label_key)
                                              for v in result.versions)
  title = report.escape(f"served traffic under {prefix}")
  return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
          f"<style>{report.STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>")
