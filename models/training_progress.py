"""Training progress as log records the local runner's terminal turns into a live bar.

The Trainer runs inside the orchestrator (in-process with LocalDagRunner, in a
container on Kubeflow), where it has no terminal of its own. It reports through
Python logging instead: one INFO record per epoch on PROGRESS_LOGGER (which
reaches the run's log file everywhere, and the terminal as a plain line), and
throttled per-batch records on BATCH_LOGGER, which does not propagate: only the
local runner's terminal listens to it, to draw a tqdm bar when stdout is a TTY.
The records carry their figures as a `training` attribute (a dict).
"""

import logging
import time

PROGRESS_LOGGER = "mnist_tfx.training"
BATCH_LOGGER = "mnist_tfx.training.batches"
BATCH_INTERVAL_SECONDS = 0.2


def announce(text: str) -> None:
  """One line of the Trainer's own (e.g. how it started), shown above the epoch lines."""
  logging.getLogger(PROGRESS_LOGGER).info("%s", text, extra={"training": {"kind": "note",
                                                                         "text": text}})


def callback(keras, batch_size: int):
  """A Keras callback (built lazily: this module must import without TensorFlow)."""
  epochs_log = logging.getLogger(PROGRESS_LOGGER)
  batches_log = logging.getLogger(BATCH_LOGGER)
  batches_log.propagate = False

  class TrainingProgress(keras.callbacks.Callback):

    def on_train_begin(self, logs=None):
      self._steps = self.params.get("steps")
      self._epochs = self.params.get("epochs")

    def on_epoch_begin(self, epoch, logs=None):
      self._epoch, self._seen = epoch + 1, 0
      self._started = self._last = self._trained_until = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
      self._seen = batch + 1
      now = self._trained_until = time.monotonic()
      if now - self._last >= BATCH_INTERVAL_SECONDS:
        self._last = now
        batches_log.info("batch %d", self._seen, extra={"training": {
            "kind": "batch", "epoch": self._epoch, "epochs": self._epochs, "batch": self._seen,
            "steps": self._steps, "loss": float((logs or {}).get("loss", float("nan")))}})

    def on_epoch_end(self, epoch, logs=None):
      # Training only: validation runs between the last batch and this call.
      seconds = max(1e-9, self._trained_until - self._started)
      if self._steps is None:  # the first epoch of an unsized dataset told us its length
        self._steps = self._seen
      figures = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float))}
      record = {"kind": "epoch", "epoch": self._epoch, "epochs": self._epochs,
                "examples_per_s": self._seen * batch_size / seconds, "metrics": figures}
      text = "  ".join(f"{k} {v:.4f}" for k, v in figures.items())
      epochs_log.info("epoch %d/%d: %s, %.0f examples/s", self._epoch, self._epochs, text,
                      record["examples_per_s"], extra={"training": record})

  return TrainingProgress()
