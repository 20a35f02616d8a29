"""One self-contained HTML page per run: what the data was, how training went, what the model gets wrong.

Read from ML Metadata (which executions ran, were cached or failed, and the
artefacts they wrote) and from those artefacts: TFDV statistics and the gate's
anomalies, the examples themselves (sample digits), the Trainer's TensorBoard
event files (tensorboard's event reader), the Evaluator's metrics and validation
result, the trained model run over the test split (confusion matrix, the digits it
gets wrong), the pushed SavedModel's signatures. Plots are matplotlib PNGs inlined
as data: URIs, so the file opens anywhere with no network; every string from the
run is HTML-escaped.
"""

import base64
import dataclasses
import datetime
import glob
import html
import io
import json
import os
from typing import Dict, List, Optional, Tuple

import ml_metadata as mlmd
import numpy as np
from ml_metadata.proto import metadata_store_pb2

from components.baseline_evaluator import FAILED_THRESHOLDS
from pipelines import nodes, run_history

_OUTPUTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_STATE = metadata_store_pb2.Execution.State
SECTIONS = ("Run", "Data", "Training", "Evaluation", "Push")  # headings the page always has
MISCLASSIFIED_SHOWN = 24


class ReportError(ValueError):
  """Nothing to report for what the user asked; str() is one line."""


@dataclasses.dataclass
class Step:
  node: str
  state: str
  seconds: float
  execution: metadata_store_pb2.Execution


@dataclasses.dataclass
class RunRecordDetail:
  record: run_history.RunRecord
  steps: List[Step]
  artifacts: Dict[Tuple[str, str], metadata_store_pb2.Artifact]  # (node, output type) -> artefact


def load_run(connection_config, run: str = "latest") -> RunRecordDetail:
  history = run_history.History(connection_config)
  records = history.runs()
  if not records:
    raise ReportError("no runs recorded in this metadata store")
  if run == "latest":
    record = records[0]
  else:
    matches = [r for r in records if r.run_id == run]
    if not matches:
      raise ReportError(f"--run {run}: no such run (see `mnist-tfx runs`)")
    record = matches[0]
  store: mlmd.MetadataStore = history.store
  context = store.get_context_by_type_and_name("pipeline_run", record.run_id)
  executions = sorted(store.get_executions_by_context(context.id),
                      key=lambda e: (e.create_time_since_epoch, e.id))
  steps, node_of = [], {}
  for execution in executions:
    node = history.node(execution.id)
    node_of[execution.id] = node
    steps.append(Step(node, _STATE.Name(execution.last_known_state).lower(),
                      (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000,
                      execution))
  types = {t.id: t.name for t in store.get_artifact_types()}
  artifacts = {}
  events = store.get_events_by_execution_ids([e.id for e in executions])
  by_id = {a.id: a for a in store.get_artifacts_by_id(
      [ev.artifact_id for ev in events if ev.type in _OUTPUTS])}
  for ev in events:
    if ev.type in _OUTPUTS and ev.artifact_id in by_id:
      artifact = by_id[ev.artifact_id]
      artifacts.setdefault((node_of[ev.execution_id], types[artifact.type_id]), artifact)
  return RunRecordDetail(record, steps, artifacts)


# --- plots ------------------------------------------------------------------------------------

def _png(figure) -> str:
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  plt.close(figure)
  return ('<img alt="plot" src="data:image/png;base64,'
          f'{base64.b64encode(buffer.getvalue()).decode()}">')


def _pyplot():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def _digit_grid(images: np.ndarray, titles: List[str], columns: int = 12) -> str:
  plt = _pyplot()
  rows = max(1, int(np.ceil(len(images) / columns)))
  figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05))
  for ax in np.asarray(axes).reshape(-1):
    ax.axis("off")
  for ax, image, title in zip(np.asarray(axes).reshape(-1), images, titles):
    ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=255)
    ax.set_title(title, fontsize=7)
  return _png(figure)


# --- sections ---------------------------------------------------------------------------------

def _escape(value) -> str:
  return html.escape(str(value), quote=True)


def _table(header: List[str], rows: List[List]) -> str:
  head = "".join(f"<th>{_escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{_escape(c)}</td>" for c in row) + "</tr>" for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def _run_section(detail: RunRecordDetail) -> str:
  r = detail.record
  started = datetime.datetime.utcfromtimestamp(r.started).strftime("%Y-%m-%d %H:%M:%S UTC")
  rows = [[s.node, s.state, f"{s.seconds:.1f}"] for s in detail.steps]
  trainer = next((s.execution for s in detail.steps if s.node == nodes.TRAINER), None)
  recipe = ""
  if trainer is not None and "custom_config" in trainer.custom_properties:
    recipe = trainer.custom_properties["custom_config"].string_value
    try:  # {"recipe": "<recipe JSON>"}: show the recipe's fields, not nested escapes
      fields = json.loads(json.loads(recipe)["recipe"])
      recipe = ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    except (ValueError, KeyError, TypeError):
      pass
  source = next((f"{k}: {s.execution.custom_properties[k].string_value}" for s in detail.steps
                 for k in ("input_base", "generator_config") if k in s.execution.custom_properties), "")
  return (f"<p>pipeline <b>{_escape(r.pipeline)}</b> · run {_escape(r.run_id)} · started {started} · "
          f"{r.seconds:.1f} s · status <b>{_escape(r.status)}</b></p>"
          f"<p>data source: <code>{_escape(source)}</code></p>"
          f"<p>trainer configuration: <code>{_escape(recipe)}</code></p>"
          + _table(["component", "state", "seconds"], rows))


def _statistics(detail: RunRecordDetail):
  artifact = detail.artifacts.get(("StatisticsGen", "ExampleStatistics"))
  if artifact is None:
    return {}
  # What tfdv.load_stats_binary reads, without importing TFDV (~2 s).
  from tensorflow_metadata.proto.v0 import statistics_pb2  # pylint: disable=import-outside-toplevel
  out = {}
  for path in sorted(glob.glob(os.path.join(artifact.uri, "Split-*", "FeatureStats.pb"))):
    split = os.path.basename(os.path.dirname(path))[len("Split-"):]
    with open(path, "rb") as f:
      out[split] = statistics_pb2.DatasetFeatureStatisticsList.FromString(f.read()).datasets[0]
  return out


def _feature(dataset, name: str):
  return next((f for f in dataset.features if f.path.step and f.path.step[0] == name), None)


def _anomalies(detail: RunRecordDetail) -> List[List[str]]:
  from components import gate_result  # pylint: disable=import-outside-toplevel
  for step in detail.steps:
    failure = gate_result.read_failure(step.execution)
    if failure:
      return [[failure[0], line] for line in failure[1]]
  return []


def _read_examples(examples_uri: str, split: str, limit: Optional[int] = None):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
  dataset = tf.data.TFRecordDataset(files, compression_type="GZIP" if files and files[0].endswith(".gz") else "")
  if limit:
    dataset = dataset.take(limit)
  return [r.numpy() for r in dataset]


def _data_section(detail: RunRecordDetail, mnist: bool) -> str:
  plt = _pyplot()
  stats = _statistics(detail)
  parts = []
  if stats:
    parts.append(_table(["split", "examples"], [[s, d.num_examples] for s, d in stats.items()]))
    label_key = "label" if mnist else "y"
    figure, axes = plt.subplots(1, 2, figsize=(10, 3))
    for split, dataset in stats.items():
      feature = _feature(dataset, label_key)
      if feature is None:
        continue
      if feature.WhichOneof("stats") == "string_stats":  # categorical: the label's value counts
        counts = {v.value: v.frequency for v in feature.string_stats.top_values}
        values = sorted(counts, key=lambda v: float(v) if v.lstrip("-").isdigit() else v)
        total = max(1.0, sum(counts.values()))
        axes[0].plot(values, [counts[v] / total for v in values], marker="o", label=split)
      elif feature.num_stats.histograms:
        hist = feature.num_stats.histograms[0]
        total = max(1.0, sum(b.sample_count for b in hist.buckets))
        axes[0].plot([(b.low_value + b.high_value) / 2 for b in hist.buckets],
                     [b.sample_count / total for b in hist.buckets], marker="o", label=split)
    axes[0].set_title(f"{label_key} distribution per split (fraction)")
    axes[0].legend()
    value_key = "image" if mnist else "x"
    feature = _feature(stats.get("train", next(iter(stats.values()))), value_key)
    if feature is not None and feature.num_stats.histograms:
      hist = feature.num_stats.histograms[0]
      axes[1].bar([(b.low_value + b.high_value) / 2 for b in hist.buckets],
                  [b.sample_count for b in hist.buckets],
                  width=[(b.high_value - b.low_value) or 1 for b in hist.buckets])
      axes[1].set_yscale("log")
      axes[1].set_title(f"{'pixel intensity' if mnist else 'x'} histogram (train)")
    parts.append(_png(figure))
    rows = []
    for split, dataset in stats.items():
      for feature in dataset.features:
        name = ".".join(feature.path.step)
        if feature.WhichOneof("stats") == "string_stats":
          st = feature.string_stats
          rows.append([split, name, f"{st.unique} distinct values", "", "", "",
                       st.common_stats.num_missing])
        else:
          n = feature.num_stats
          rows.append([split, name, f"{n.mean:.4g}", f"{n.std_dev:.4g}", f"{n.min:.4g}",
                       f"{n.max:.4g}", n.common_stats.num_missing])
    parts.append("<h3>TFDV statistics</h3>" + _table(
        ["split", "feature", "mean", "std", "min", "max", "missing"], rows))
  anomalies = _anomalies(detail)
  parts.append("<h3>Anomalies</h3>" + (_table(["gate", "problem"], anomalies) if anomalies
                                          else "<p>none</p>"))
  examples = detail.artifacts.get(("MnistIdxExampleGen", "Examples")) or next(
      (a for (n, t), a in detail.artifacts.items() if t == "Examples"), None)
  if mnist and examples is not None:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    records = _read_examples(examples.uri, "train", 24)
    images, titles = [], []
    for record in records:
      example = tf.train.Example.FromString(record)
      images.append(np.array(example.features.feature["image"].int64_list.value))
      titles.append(str(example.features.feature["label"].int64_list.value[0]))
    if images:
      parts.append("<h3>Sample training digits</h3>" + _digit_grid(np.stack(images), titles))
  return "".join(parts) or "<p>no statistics (the run stopped before StatisticsGen)</p>"


def _scalars(run_dir: str) -> Dict[str, List[Tuple[int, float]]]:
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
  from tensorboard.util import tensor_util  # pylint: disable=import-outside-toplevel
  accumulator = event_accumulator.EventAccumulator(
      run_dir, size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0})
  accumulator.Reload()
  out = {}
  for tag in accumulator.Tags().get("tensors", []):
    if tag.startswith("epoch_"):
      out[tag[len("epoch_"):]] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
                                  for e in accumulator.Tensors(tag)]
  for tag in accumulator.Tags().get("scalars", []):
    if tag.startswith("epoch_"):
      out[tag[len("epoch_"):]] = [(e.step, e.value) for e in accumulator.Scalars(tag)]
  return out


def _training_section(detail: RunRecordDetail) -> str:
  run = detail.artifacts.get((nodes.TRAINER, "ModelRun"))
  if run is None:
    return "<p>no training in this run</p>"
  curves = {sub: _scalars(os.path.join(run.uri, sub)) for sub in ("train", "validation")
            if os.path.isdir(os.path.join(run.uri, sub))}
  metrics = sorted({m for c in curves.values() for m in c})
  if not metrics:
    return "<p>no TensorBoard scalars were written</p>"
  plt = _pyplot()
  figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3))
  for ax, metric in zip(np.atleast_1d(axes), metrics):
    for sub, series in curves.items():
      if metric in series:
        steps, values = zip(*series[metric])
        ax.plot(np.asarray(steps) + 1, values, marker="o", label=sub)
    ax.set_title(metric)
    ax.set_xlabel("epoch")
    ax.legend()
  return f"<p>TensorBoard logs: <code>{_escape(run.uri)}</code></p>" + _png(figure)


def _evaluation_section(detail: RunRecordDetail, mnist: bool) -> str:
  record = detail.record
  parts = []
  if record.metrics:
    parts.append(_table(["metric", "value"], [[k, f"{v:.6g}"] for k, v in sorted(record.metrics.items())]))
  blessing = detail.artifacts.get((nodes.EVALUATOR, "ModelBlessing"))
  evaluation = detail.artifacts.get((nodes.EVALUATOR, "ModelEvaluation"))
  if blessing is not None:
    blessed = bool(blessing.custom_properties["blessed"].int_value) if "blessed" in blessing.custom_properties else False
    failures = []
    if evaluation is not None:
      # Written by components/baseline_evaluator (no TFMA import here).
      if FAILED_THRESHOLDS in evaluation.custom_properties:
        failures = json.loads(evaluation.custom_properties[FAILED_THRESHOLDS].string_value)
      with open(os.path.join(evaluation.uri, "eval_config.json")) as f:
        config = json.load(f)
      thresholds = [[m.get("className"), json.dumps(m.get("threshold", {}))]
                    for spec in config.get("evalConfig", config).get("metricsSpecs", [])
                    for m in spec.get("metrics", []) if m.get("threshold")]
      parts.append("<h3>Thresholds</h3>" + _table(["metric", "threshold"], thresholds))
    baseline = "a served model as baseline" if any(k.endswith("_diff") for k in record.metrics) else "no served model yet (no baseline)"
    parts.append(f"<p>blessing: <b>{'blessed' if blessed else 'not blessed'}</b>, against {baseline}</p>")
    if failures:
      parts.append(_table(["failed threshold"], [[f] for f in failures]))
  model = detail.artifacts.get((nodes.TRAINER, "Model"))
  examples = next((a for (n, t), a in detail.artifacts.items() if t == "Examples"), None)
  if model is not None and examples is not None:
    parts.append(_model_on_test(model.uri, examples.uri, mnist))
  return "".join(parts) or "<p>no evaluation in this run</p>"


def _model_on_test(model_uri: str, examples_uri: str, mnist: bool) -> str:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  plt = _pyplot()
  loaded = tf.saved_model.load(os.path.join(model_uri, "Format-Serving"))
  serve = loaded.signatures["serving_default"]
  records = _read_examples(examples_uri, "test")
  if mnist:
    probabilities = np.concatenate([serve(examples=tf.constant(records[i:i + 2000]))["probabilities"].numpy()
                                    for i in range(0, len(records), 2000)])
    labels, images = [], []
    for record in records:
      example = tf.train.Example.FromString(record)
      labels.append(example.features.feature["label"].int64_list.value[0])
      images.append(example.features.feature["image"].int64_list.value)
    labels = np.asarray(labels)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(1, confusion.sum(axis=1))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    axes[0].imshow(np.log1p(confusion), cmap="Blues")
    for i in range(10):
      for j in range(10):
        axes[0].text(j, i, confusion[i, j], ha="center", va="center", fontsize=6)
    axes[0].set_xlabel("predicted")
    axes[0].set_ylabel("true")
    axes[0].set_title(f"confusion matrix, test split ({len(labels)} images)")
    axes[0].set_xticks(range(10))
    axes[0].set_yticks(range(10))
    axes[1].bar(range(10), per_class)
    axes[1].set_ylim(max(0.0, per_class.min() - 0.05), 1.0)
    axes[1].set_xticks(range(10))
    axes[1].set_title("per-class accuracy")
    wrong = np.flatnonzero(predicted != labels)[:MISCLASSIFIED_SHOWN]
    grid = _digit_grid(np.asarray([images[i] for i in wrong]),
                       [f"{labels[i]}→{predicted[i]} {probabilities[i, predicted[i]]:.2f}" for i in wrong]) \
        if len(wrong) else "<p>none</p>"
    return (_png(figure) + f"<h3>Misclassified test digits (true→predicted confidence), first "
            f"{len(wrong)} of {int((predicted != labels).sum())}</h3>" + grid)
  xs, ys = [], []
  for record in records:
    example = tf.train.Example.FromString(record)
    xs.append(example.features.feature["x"].float_list.value[0])
    ys.append(example.features.feature["y"].float_list.value[0])
  xs, ys = np.asarray(xs, np.float32), np.asarray(ys, np.float32)
  predict_x = loaded.signatures["predict_x"]
  grid = np.linspace(0.0, 2.0, 21, dtype=np.float32)
  fitted = predict_x(x=tf.constant(grid))["predictions"].numpy().reshape(-1)
  predicted = predict_x(x=tf.constant(xs))["predictions"].numpy().reshape(-1)
  w, b = float(fitted[10] - fitted[0]), float(fitted[0])
  figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
  axes[0].scatter(xs, ys, s=6, label="test data")
  axes[0].plot(grid, fitted, color="C1", label=f"fitted y = {w:.4f}x + {b:.4f}")
  axes[0].axvspan(1.0, 2.0, color="grey", alpha=0.15, label="extrapolation x in [1, 2]")
  axes[0].legend(fontsize=7)
  axes[1].scatter(xs, ys - predicted, s=6)
  axes[1].axhline(0, color="grey")
  axes[1].set_title("residuals (test)")
  rows = [[f"{x:.1f}", f"{y:.5f}", f"{2 * x + 1:.5f}"] for x, y in zip(grid[10::2], fitted[10::2])]
  return (f"<p>learned w = {w:.6f}, b = {b:.6f}</p>" + _png(figure)
          + "<h3>Extrapolation</h3>" + _table(["x", "predicted", "2x + 1"], rows))


def _push_section(detail: RunRecordDetail) -> str:
  pushed = detail.artifacts.get((nodes.PUSHER, "PushedModel"))
  if pushed is None or "pushed" not in pushed.custom_properties or not pushed.custom_properties["pushed"].int_value:
    return "<p>nothing was pushed</p>"
  destination = pushed.custom_properties["pushed_destination"].string_value
  version = pushed.custom_properties["pushed_version"].string_value
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=import-outside-toplevel
  saved = saved_model_pb2.SavedModel()
  with open(os.path.join(destination, "saved_model.pb"), "rb") as f:
    saved.ParseFromString(f.read())
  rows = []
  from tensorflow.python.framework import dtypes  # pylint: disable=import-outside-toplevel
  for key, signature in sorted(saved.meta_graphs[0].signature_def.items()):
    if key.startswith("__"):
      continue
    for direction, tensors in (("input", signature.inputs), ("output", signature.outputs)):
      for name, info in sorted(tensors.items()):
        shape = [d.size for d in info.tensor_shape.dim]
        rows.append([key, direction, name, dtypes.as_dtype(info.dtype).name, str(shape)])
  return (f"<p>version <b>{_escape(version)}</b> at <code>{_escape(destination)}</code></p>"
          + _table(["signature", "", "tensor", "dtype", "shape"], rows))


_STYLE = """body{font-family:sans-serif;max-width:1150px;margin:1em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}
th{background:#eee}code{font-size:12px;word-break:break-all}img{max-width:100%}h2{border-bottom:2px solid #468}"""


def render(detail: RunRecordDetail) -> str:
  mnist = detail.record.pipeline.startswith("mnist")
  sections = [("Run", _run_section(detail)), ("Data", _data_section(detail, mnist)),
              ("Training", _training_section(detail)),
              ("Evaluation", _evaluation_section(detail, mnist)), ("Push", _push_section(detail))]
  body = "".join(f'<section id="{name.lower()}"><h2>{name}</h2>{content}</section>'
                 for name, content in sections)
  title = _escape(f"{detail.record.pipeline} run {detail.record.run_id}")
  return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
          f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>")


def write_report(connection_config, output: str, run: str = "latest") -> str:
  detail = load_run(connection_config, run)
  page = render(detail)
  with open(output, "w", encoding="utf-8") as f:
    f.write(page)
  return output
