"""One self-contained HTML page per run: what the data was, how training went, what the model does.

The page is the run view (pipelines/run_view.py) rendered: the run's header and steps,
its data, the Trainer's curves (TensorBoard event files, read with tensorboard's event
reader), the evaluation (the Evaluator's metrics, thresholds, blessing and what it was
compared with) and the push (the pushed SavedModel's signatures). What is specific to a
pipeline — which features to plot, what to run the trained model on — is not here:
each PipelineDefinition renders its own Data and Evaluation content through
`report_data` / `report_evaluation` (pipelines/definition.py), from its contract, with
the building blocks below. A pipeline this module has never heard of still gets a
report (the definition's defaults, or none for a pipeline no definition claims).

Plots are matplotlib PNGs inlined as data: URIs, each in a <figure> with a caption and
an alt text saying what it shows, so the file opens anywhere with no network and reads
without the pictures; every string from the run is HTML-escaped.
"""

import base64
import datetime
import glob
import html
import io
import json
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from pipelines import nodes, run_view

SECTIONS = ("Run", "Data", "Training", "Evaluation", "Push")  # the page's headings, in order


class ReportError(ValueError):
  """Nothing to report for what the user asked; str() is one line."""


# --- building blocks (the definitions' sections use these too) -------------------------------

def escape(value) -> str:
  return html.escape(str(value), quote=True)


def table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
  head = "".join(f"<th>{escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def pyplot():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def figure(fig, alt: str, caption: str) -> str:
  """The matplotlib figure as an inline PNG with its caption; `alt` says what it shows."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
  pyplot().close(fig)
  data = base64.b64encode(buffer.getvalue()).decode()
  return (f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
          f"<figcaption>{escape(caption)}</figcaption></figure>")


def statistics(run: run_view.Run):
  """{split: DatasetFeatureStatistics} of the run's StatisticsGen ({} if it did not run)."""
  artifact = run.latest_output(nodes.STATISTICS_GEN, "ExampleStatistics")
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


def feature_statistics(dataset, name: str):
  return next((f for f in dataset.features if f.path.step and f.path.step[0] == name), None)


def read_examples(run: run_view.Run, split: str, limit: Optional[int] = None) -> List[bytes]:
  """Serialized tf.Examples of `split` from the run's Examples artefact ([] if none)."""
  examples = run.output_of_type("Examples")
  if examples is None:
    return []
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  files = sorted(glob.glob(os.path.join(examples.uri, f"Split-{split}", "*")))
  if not files:
    return []
  dataset = tf.data.TFRecordDataset(files, compression_type="GZIP" if files[0].endswith(".gz") else "")
  if limit:
    dataset = dataset.take(limit)
  return [r.numpy() for r in dataset]


def serving_model_dir(model_uri: str) -> str:
  """Where a Model artefact keeps its SavedModel (TFX's layout, path_utils owns the name)."""
  from tfx.utils import path_utils  # pylint: disable=import-outside-toplevel
  return path_utils.serving_model_path(model_uri)


def distribution_figure(stats, feature: str, value_feature: Optional[str], label_name: str,
                        value_name: str, value_split: str) -> str:
  """Two plots from TFDV statistics: `feature`'s distribution per split, and a histogram of
  `value_feature` in `value_split` (log scale). Names say what the features are."""
  plt = pyplot()
  fig, axes = plt.subplots(1, 2 if value_feature else 1, figsize=(10 if value_feature else 5, 3))
  axes = np.atleast_1d(axes)
  for split, dataset in stats.items():
    stat = feature_statistics(dataset, feature)
    if stat is None:
      continue
    if stat.WhichOneof("stats") == "string_stats":  # categorical: the value counts
      counts = {v.value: v.frequency for v in stat.string_stats.top_values}
      values = sorted(counts, key=lambda v: float(v) if v.lstrip("-").replace(".", "", 1).isdigit() else 0)
      total = max(1.0, sum(counts.values()))
      axes[0].plot(values, [counts[v] / total for v in values], marker="o", label=split)
    elif stat.num_stats.histograms:
      hist = stat.num_stats.histograms[0]
      total = max(1.0, sum(b.sample_count for b in hist.buckets))
      axes[0].plot([(b.low_value + b.high_value) / 2 for b in hist.buckets],
                   [b.sample_count / total for b in hist.buckets], marker="o", label=split)
  axes[0].set_title(f"{label_name} per split (fraction)")
  axes[0].legend()
  parts = [f"{label_name} in the {', '.join(stats)} splits"]
  if value_feature:
    stat = feature_statistics(stats.get(value_split, next(iter(stats.values()))), value_feature)
    if stat is not None and stat.num_stats.histograms:
      hist = stat.num_stats.histograms[0]
      axes[1].bar([(b.low_value + b.high_value) / 2 for b in hist.buckets],
                  [b.sample_count for b in hist.buckets],
                  width=[(b.high_value - b.low_value) or 1 for b in hist.buckets])
      axes[1].set_yscale("log")
      axes[1].set_title(f"{value_name} histogram ({value_split})")
      examples = stats[value_split].num_examples if value_split in stats else 0
      parts.append(f"{value_name} histogram of the {examples:,} {value_split} examples (log scale)")
  return figure(fig, alt="; ".join(parts), caption="Distribution of " + "; ".join(parts) + ".")


# --- the generic sections ---------------------------------------------------------------------

def _recipe(run: run_view.Run) -> str:
  recipe = run.recipe
  return ", ".join(f"{k}={v}" for k, v in sorted(recipe.items())) if recipe else ""


def run_section(run: run_view.Run) -> str:
  started = datetime.datetime.utcfromtimestamp(run.started).strftime("%Y-%m-%d %H:%M:%S UTC")
  rows = [[s.node, s.state, f"{s.seconds:.1f}"] for s in run.steps]
  return (f"<p>pipeline <b>{escape(run.pipeline)}</b> · run {escape(run.run_id)} · started {started} · "
          f"{run.seconds:.1f} s · status <b>{escape(run.status)}</b></p>"
          f"<p>data source: <code>{escape(run.source)}</code>"
          + (f" · spans {escape(', '.join(map(str, run.spans)))}" if run.spans else "") + "</p>"
          + (f"<p>warm-started from served version {escape(run.warm_start_from)}</p>"
             if run.warm_start_from else "") +
          f"<p>trainer configuration: <code>{escape(_recipe(run))}</code></p>"
          + table(["component", "state", "seconds"], rows))


def data_section(run: run_view.Run) -> str:
  """Split sizes, every feature's TFDV statistics, and what the data gate found."""
  stats = statistics(run)
  parts = []
  if stats:
    parts.append(table(["split", "examples"], [[s, d.num_examples] for s, d in stats.items()]))
    rows = []
    for split, dataset in stats.items():
      for stat in dataset.features:
        name = ".".join(stat.path.step)
        if stat.WhichOneof("stats") == "string_stats":
          st = stat.string_stats
          rows.append([split, name, f"{st.unique} distinct values", "", "", "", st.common_stats.num_missing])
        else:
          n = stat.num_stats
          rows.append([split, name, f"{n.mean:.4g}", f"{n.std_dev:.4g}", f"{n.min:.4g}",
                       f"{n.max:.4g}", n.common_stats.num_missing])
    parts.append("<h3>TFDV statistics</h3>" + table(
        ["split", "feature", "mean", "std", "min", "max", "missing"], rows))
  else:
    parts.append("<p>no statistics (the run stopped before StatisticsGen)</p>")
  anomalies = [[run.stopped_by, line] for line in run.anomalies]
  parts.append("<h3>Anomalies</h3>" + (table(["gate", "problem"], anomalies) if anomalies
                                          else "<p>none</p>"))
  return "".join(parts)


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


def training_section(run: run_view.Run) -> str:
  model_run = run.output(nodes.TRAINER, "ModelRun")
  if model_run is None:
    return "<p>no training in this run</p>"
  curves = {sub: _scalars(os.path.join(model_run.uri, sub)) for sub in ("train", "validation")
            if os.path.isdir(os.path.join(model_run.uri, sub))}
  metrics = sorted({m for c in curves.values() for m in c})
  if not metrics:
    return "<p>no TensorBoard scalars were written</p>"
  plt = pyplot()
  fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3))
  epochs = 0
  for ax, metric in zip(np.atleast_1d(axes), metrics):
    for sub, series in curves.items():
      if metric in series:
        steps, values = zip(*series[metric])
        epochs = max(epochs, len(steps))
        ax.plot(np.asarray(steps) + 1, values, marker="o", label=sub)
    ax.set_title(metric)
    ax.set_xlabel("epoch")
    ax.legend()
  what = f"{', '.join(metrics)} per epoch over {epochs} epochs, for {' and '.join(curves)}"
  return (f"<p>TensorBoard logs: <code>{escape(model_run.uri)}</code></p>"
          + figure(fig, alt=f"training curves: {what}", caption=f"Training curves: {what}."))


def _thresholds(evaluation) -> List[List[str]]:
  """The EvalConfig's thresholds (metric, slice, threshold), from the eval_config.json TFMA
  writes beside its results."""
  path = os.path.join(evaluation.uri, "eval_config.json")
  if not os.path.isfile(path):
    return []
  with open(path) as f:
    config = json.load(f)
  rows = []
  for spec in config.get("evalConfig", config).get("metricsSpecs", []):
    for m in spec.get("metrics", []):
      if m.get("threshold"):
        rows.append([m.get("className"), "every slice", json.dumps(m["threshold"])])
      for per_slice in m.get("perSliceThresholds", []):
        slices = "; ".join(", ".join(s.get("featureKeys", [])) or "overall"
                           for s in per_slice.get("slicingSpecs", []))
        rows.append([m.get("className"), f"per {slices}" if slices != "overall" else slices,
                     json.dumps(per_slice.get("threshold", {}))])
  return rows


def baseline_text(run: run_view.Run) -> str:
  """What the Evaluator compared the candidate with, from what ServedBaseline found."""
  if run.compared_with_served:
    return f"compared with the served model, version {run.served_version}"
  if run.served_version:
    return (f"version {run.served_version} was served; this pipeline's gate does not compare "
            "with it (value thresholds only)")
  return "no model was served yet (nothing to compare with)"


def evaluation_section(run: run_view.Run) -> str:
  parts = []
  if run.metrics:
    parts.append(table(["metric", "value"], [[k, f"{v:.6g}"] for k, v in sorted(run.metrics.items())]))
  if run.evaluation is not None:
    parts.append("<h3>Thresholds</h3>" + table(["metric", "slice", "threshold"], _thresholds(run.evaluation)))
  if run.blessed is not None:
    parts.append(f"<p>blessing: <b>{'blessed' if run.blessed else 'not blessed'}</b>; "
                 f"{escape(baseline_text(run))}</p>")
    if run.failed_thresholds:
      parts.append(table(["failed threshold"], [[f] for f in run.failed_thresholds]))
  return "".join(parts) or "<p>no evaluation in this run</p>"


def push_section(run: run_view.Run) -> str:
  if run.pushed_path is None:
    return "<p>nothing was pushed</p>"
  from tensorflow.core.framework import types_pb2  # pylint: disable=import-outside-toplevel
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=import-outside-toplevel
  saved = saved_model_pb2.SavedModel()
  with open(os.path.join(run.pushed_path, "saved_model.pb"), "rb") as f:
    saved.ParseFromString(f.read())
  rows = []
  for key, signature in sorted(saved.meta_graphs[0].signature_def.items()):
    if key.startswith("__"):
      continue
    for direction, tensors in (("input", signature.inputs), ("output", signature.outputs)):
      for name, info in sorted(tensors.items()):
        shape = [d.size for d in info.tensor_shape.dim]
        rows.append([key, direction, name, types_pb2.DataType.Name(info.dtype), str(shape)])
  return (f"<p>version <b>{escape(run.pushed_version)}</b> at <code>{escape(run.pushed_path)}</code></p>"
          + table(["signature", "", "tensor", "dtype", "shape"], rows))


# --- the page -----------------------------------------------------------------------------------

STYLE = """body{font-family:sans-serif;max-width:1150px;margin:1em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}
th{background:#eee}code{font-size:12px;word-break:break-all}img{max-width:100%}h2{border-bottom:2px solid #468}
figure{margin:.5em 0}figcaption{font-size:13px;color:#555}"""


def render(run: run_view.Run, definition=None) -> str:
  """The page; `definition` (a PipelineDefinition, or None) renders the pipeline's own parts."""
  data = definition.report_data(run) if definition is not None else data_section(run)
  evaluation = evaluation_section(run) + (definition.report_evaluation(run) if definition else "")
  content = dict(zip(SECTIONS, (run_section(run), data, training_section(run), evaluation,
                                push_section(run))))
  body = "".join(f'<section id="{name.lower()}"><h2>{name}</h2>{content[name]}</section>'
                 for name in SECTIONS)
  title = escape(f"{run.pipeline} run {run.run_id}")
  return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
          f"<style>{STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>")


def find_run(connection_config, run_id: str = "latest") -> run_view.Run:
  view = run_view.MetadataView(connection_config)
  try:
    return view.latest() if run_id == "latest" else view.run(run_id)
  except run_view.RunNotFound as e:
    raise ReportError(str(e)) from None


def write_report(run: run_view.Run, output: str) -> str:
  """Renders `run` with the definition that owns its pipeline and writes the page to `output`."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  page = render(run, registry.owner_of(run.pipeline))
  with open(output, "w", encoding="utf-8") as f:
    f.write(page)
  return output
