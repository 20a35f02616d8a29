"""The MNIST pipeline's own parts of the run report (PipelineDefinition.report_data/_evaluation).

Digits, labels and the classifier's mistakes, drawn with pipelines/report.py's
building blocks; every name (features, splits, signature, outputs, image size,
classes) comes from the contract.
"""

from typing import List

import numpy as np

from pipelines import nodes, report, run_view
from schemas.mnist import contract

SAMPLES_SHOWN = 24
MISCLASSIFIED_SHOWN = 24
_BATCH = 2000  # test examples per call of the serving signature


def _digit_grid(images: np.ndarray, titles: List[str], alt: str, caption: str, columns: int = 12) -> str:
  """The digits tiled into one image, each titled above it. One axes, not one per digit:
  measured, 24 subplots cost matplotlib ~2.5 s a grid (their tick and title layout), one
  mosaic ~0.2 s."""
  plt = report.pyplot()
  h, w, gap, title = contract.IMAGE_ROWS, contract.IMAGE_COLS, 4, 12  # pixels
  rows = max(1, int(np.ceil(len(images) / columns)))
  mosaic = np.zeros((rows * (h + title + gap), columns * (w + gap)))
  for i, image in enumerate(images):
    r, c = divmod(i, columns)
    top, left = r * (h + title + gap) + title, c * (w + gap)
    mosaic[top:top + h, left:left + w] = np.asarray(image).reshape(h, w)
  fig, ax = plt.subplots(figsize=(columns * 0.9, rows * 1.15))
  ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=contract.PIXEL_MAX, interpolation="nearest")
  for i, text in enumerate(titles):
    r, c = divmod(i, columns)
    ax.text(c * (w + gap) + w / 2, r * (h + title + gap) + title - 2, text, ha="center",
            va="bottom", fontsize=7)
  ax.axis("off")
  return report.figure(fig, alt=alt, caption=caption)


def _decode(records: List[bytes]):
  """(labels [N], images [N, 784]) of serialized MNIST tf.Examples."""
  from tensorflow.core.example import example_pb2  # pylint: disable=import-outside-toplevel
  labels, images = [], []
  for record in records:
    features = example_pb2.Example.FromString(record).features.feature
    labels.append(features[contract.LABEL_KEY].int64_list.value[0])
    images.append(np.asarray(features[contract.IMAGE_KEY].int64_list.value))
  return np.asarray(labels), (np.stack(images) if images else np.zeros((0, contract.NUM_PIXELS)))


def _probabilities(model_uri: str, records: List[bytes]) -> np.ndarray:
  """serving_default's probabilities for the records, in batches."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  serve = tf.saved_model.load(report.serving_model_dir(model_uri)).signatures[contract.PREDICT_SIGNATURE]
  return np.concatenate([
      serve(**{contract.PREDICT_INPUT: tf.constant(records[i:i + _BATCH])})[
          contract.OUTPUT_PROBABILITIES].numpy() for i in range(0, len(records), _BATCH)])


def data(run: run_view.Run) -> str:
  """Label distribution per split, the pixel-intensity histogram, then the generic statistics
  and anomalies, then a sample of training digits."""
  parts = []
  stats = report.statistics(run)
  if stats:
    parts.append(report.distribution_figure(
        stats, contract.LABEL_KEY, contract.IMAGE_KEY, label_name="label (digit 0-9)",
        value_name="pixel intensity 0-255", value_split=contract.TRAIN_SPLIT))
  parts.append(report.data_section(run))
  labels, images = _decode(report.read_examples(run, contract.TRAIN_SPLIT, SAMPLES_SHOWN))
  if len(labels):
    parts.append("<h3>Sample training digits</h3>" + _digit_grid(
        images, [str(y) for y in labels],
        alt=f"the first {len(labels)} training digits, each titled with its label",
        caption=f"The first {len(labels)} digits of the train split, with their labels."))
  return "".join(parts)


def evaluation(run: run_view.Run) -> str:
  """The trained model run over the test split: confusion matrix, per-digit accuracy, mistakes."""
  if run.model_uri is None:
    return ""
  records = report.read_examples(run, contract.TEST_SPLIT)
  if not records:
    return ""
  probabilities = _probabilities(run.model_uri, records)
  labels, images = _decode(records)
  predicted = probabilities.argmax(axis=1)
  classes = contract.NUM_CLASSES
  confusion = np.zeros((classes, classes), dtype=int)
  np.add.at(confusion, (labels, predicted), 1)
  per_class = confusion.diagonal() / np.maximum(1, confusion.sum(axis=1))
  n = len(labels)
  plt = report.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
  axes[0].imshow(np.log1p(confusion), cmap="Blues")
  for i in range(classes):
    for j in range(classes):
      axes[0].text(j, i, confusion[i, j], ha="center", va="center", fontsize=6)
  axes[0].set_xlabel("predicted")
  axes[0].set_ylabel("true")
  axes[0].set_title(f"confusion matrix, {contract.TEST_SPLIT} split ({n:,} images)")
  axes[0].set_xticks(range(classes))
  axes[0].set_yticks(range(classes))
  axes[1].bar(range(classes), per_class)
  axes[1].set_ylim(max(0.0, per_class.min() - 0.05), 1.0)
  axes[1].set_xticks(range(classes))
  axes[1].set_title("per-digit accuracy")
  worst = int(per_class.argmin())
  parts = [report.figure(
      fig, alt=f"confusion matrix of the trained model on the {n:,} test images, and its accuracy "
               f"per digit (lowest: digit {worst} at {per_class[worst]:.4f})",
      caption=f"Confusion matrix (true digit by row, predicted by column) and per-digit accuracy of "
              f"the trained model on the {n:,} images of the {contract.TEST_SPLIT} split.")]
  header, rows = ["digit", "test images", "accuracy"], [
      [d, int(confusion[d].sum()), f"{per_class[d]:.4f}"] for d in range(classes)]
  served = run.output(nodes.SERVED_BASELINE, "Model") if run.served_version else None
  if served is not None:  # the model being served when the run started, on the same images
    served_predicted = _probabilities(served.uri, records).argmax(axis=1)
    header += [f"served version {run.served_version}", "difference"]
    for d, row in enumerate(rows):
      accuracy = float(np.mean(served_predicted[labels == d] == d)) if np.any(labels == d) else 0.0
      row += [f"{accuracy:.4f}", f"{per_class[d] - accuracy:+.4f}"]
  parts.append(report.table(header, rows))
  wrong_all = np.flatnonzero(predicted != labels)
  wrong = wrong_all[:MISCLASSIFIED_SHOWN]
  heading = (f"<h3>Misclassified test digits (true→predicted confidence), first "
             f"{len(wrong)} of {len(wrong_all)}</h3>")
  if not len(wrong):
    return "".join(parts) + heading + "<p>none</p>"
  grid = _digit_grid(
      images[wrong], [f"{labels[i]}→{predicted[i]} {probabilities[i, predicted[i]]:.2f}" for i in wrong],
      alt=f"{len(wrong)} test digits the model got wrong, each titled true digit, predicted digit "
          "and the model's confidence",
      caption=f"The first {len(wrong)} of the {len(wrong_all)} misclassified test images.")
  return "".join(parts) + heading + grid
