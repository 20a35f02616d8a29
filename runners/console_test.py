"""The terminal's progress lines, fed the log records LocalDagRunner and the Trainer emit."""

import io
import logging

from models import training_progress
from runners import console


class _Terminal(io.StringIO):
  def __init__(self, tty: bool):
    super().__init__()
    self._tty = tty

  def isatty(self):
    return self._tty


def _record(message: str, training=None, name: str = "absl") -> logging.LogRecord:
  record = logging.LogRecord(name, logging.INFO, __file__, 0, message, None, None)
  if training is not None:
    record.training = training
  return record


def _epoch(n):
  return {"kind": "epoch", "epoch": n, "epochs": 2, "examples_per_s": 51234.0,
          "metrics": {"loss": 0.25, "accuracy": 0.93}}


def _batch(n):
  return {"kind": "batch", "epoch": 1, "epochs": 2, "batch": n, "steps": 550, "loss": 0.5}


def _feed(handler, records):
  for r in records:
    handler.emit(r)


RUN = [_record("Component Trainer is running."), _record("batch", _batch(100)),
       _record("batch", _batch(300)), _record("epoch", _epoch(1)), _record("epoch", _epoch(2)),
       _record("Component Trainer is finished.")]


def test_plain_output_has_one_line_per_epoch_and_no_bar():
  out = _Terminal(tty=False)
  handler = console.ProgressHandler(out, total=10)
  _feed(handler, RUN)
  lines = out.getvalue().splitlines()
  assert lines[0] == "      epoch 1/2  loss 0.2500  accuracy 0.9300  51,234 examples/s"
  assert lines[1].startswith("      epoch 2/2")
  assert lines[2].startswith("[ 1/10] Trainer") and "done" in lines[2]
  assert "\r" not in out.getvalue() and "batch/s" not in out.getvalue()
  assert [t.name for t in handler.timings] == ["Trainer"]


def test_a_terminal_gets_a_live_bar_then_the_epoch_lines():
  out = _Terminal(tty=True)
  handler = console.ProgressHandler(out, total=10)
  _feed(handler, RUN)
  text = out.getvalue()
  assert text.startswith("[ 1/10] Trainer") and "running..." in text.splitlines()[0]
  assert "epoch 1/2" in text and "300/550" in text and "loss=0.5000" in text  # the tqdm bar
  assert "      epoch 2/2  loss 0.2500  accuracy 0.9300  51,234 examples/s" in text
  assert text.rstrip().splitlines()[-1].lstrip("\r").startswith("[ 1/10] Trainer")


class _Capture(logging.Handler):
  def __init__(self):
    super().__init__()
    self.records = []

  def emit(self, record):
    self.records.append(record)


def test_a_real_fit_reports_epochs_and_keeps_batches_off_the_log(monkeypatch):
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tf_keras as keras  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(training_progress, "BATCH_INTERVAL_SECONDS", 0.0)
  root, batches = _Capture(), _Capture()
  root_logger = logging.getLogger()
  old_level = root_logger.level
  root_logger.addHandler(root)
  logging.getLogger(training_progress.BATCH_LOGGER).addHandler(batches)
  root_logger.setLevel(logging.INFO)
  try:
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(1,))])
    model.compile("sgd", "mse")
    x = np.linspace(0, 1, 64).reshape(-1, 1)
    model.fit(x, 2 * x + 1, batch_size=8, epochs=2, verbose=0,
              callbacks=[training_progress.callback(keras, batch_size=8)])
  finally:
    root_logger.removeHandler(root)
    logging.getLogger(training_progress.BATCH_LOGGER).removeHandler(batches)
    root_logger.setLevel(old_level)
  epochs = [r.training for r in root.records if hasattr(r, "training")]
  assert [(e["kind"], e["epoch"], e["epochs"]) for e in epochs] == [("epoch", 1, 2), ("epoch", 2, 2)]
  assert epochs[0]["metrics"]["loss"] > 0 and epochs[0]["examples_per_s"] > 0
  batch_records = [r.training for r in batches.records]
  assert batch_records and all(b["kind"] == "batch" for b in batch_records)
  assert max(b["batch"] for b in batch_records) == 8  # 64 examples / 8
  assert batch_records[-1]["steps"] == 8  # known after the first epoch
