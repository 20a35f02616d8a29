"""The local runner's terminal: quiet logs, one progress line per component.

TF, absl, Beam and Keras write a lot; all of it (Python logging and the raw
stdout/stderr file descriptors, where TF's C++ logs and the harmless
`AtomicFunction.__del__` exit noise go) is sent to a log file. The terminal
gets one line per component from a logging handler that watches
LocalDagRunner's own "Component X is running/finished" records.
"""

import contextlib
import dataclasses
import logging
import os
import re
import sys
import time
from typing import Dict, Iterator, List, Optional, TextIO

_RUNNING = re.compile(r"^Component (\S+) is running\.$")
_FINISHED = re.compile(r"^Component (\S+) is finished\.$")
_CACHED = re.compile(r"^A cached execution \d+ is used\.$")


@dataclasses.dataclass
class ComponentTiming:
  name: str
  seconds: float = 0.0
  cached: bool = False


class ProgressHandler(logging.Handler):
  """Turns LocalDagRunner's log records into progress lines and timings."""

  def __init__(self, out: TextIO, total: int):
    super().__init__(level=logging.INFO)
    self._out = out
    self._total = total
    self._tty = out.isatty()
    self._start: Dict[str, float] = {}
    self._current: Optional[ComponentTiming] = None
    self._bar = None  # tqdm, while the Trainer reports batches
    self._bar_opened_line = False  # the "running..." line was ended to make room for training lines
    self.timings: List[ComponentTiming] = []

  def emit(self, record: logging.LogRecord) -> None:
    training = getattr(record, "training", None)
    if training is not None:
      self._training(training)
      return
    try:
      message = record.getMessage()
    except Exception:  # pylint: disable=broad-except
      return
    if m := _RUNNING.match(message):
      self._current = ComponentTiming(m.group(1))
      self._start[m.group(1)] = time.monotonic()
      self._bar_opened_line = False
      if self._tty:  # a live line, overwritten when the component finishes
        self._write(f"{self._step(len(self.timings) + 1)} {m.group(1):<30} running...", end="")
    elif _CACHED.match(message) and self._current:
      self._current.cached = True
    elif (m := _FINISHED.match(message)) and self._current and self._current.name == m.group(1):
      self._close_bar()
      self._current.seconds = time.monotonic() - self._start[m.group(1)]
      self.timings.append(self._current)
      status = "cached" if self._current.cached else "done"
      prefix = "\r" if self._tty else ""
      self._write(f"{prefix}{self._step(len(self.timings))} {m.group(1):<30} "
                  f"{status:<6} {self._current.seconds:6.1f} s")
      self._current = None

  def _training(self, figures: Dict) -> None:
    """The Trainer's progress (models/training_progress.py): a live bar on a TTY, else a line
    per epoch."""
    if figures.get("kind") == "batch":
      if not self._tty:
        return
      if self._bar is None:
        import tqdm  # pylint: disable=import-outside-toplevel
        if not self._bar_opened_line:
          self._out.write("\n")  # keep the component's "running..." line
          self._bar_opened_line = True
        self._bar = tqdm.tqdm(total=figures.get("steps"), file=self._out, leave=False,
                              unit="batch", dynamic_ncols=True,
                              mininterval=0)  # records arrive throttled already
      self._bar.set_description(f"      epoch {figures['epoch']}/{figures['epochs']}")
      self._bar.set_postfix(loss=f"{figures['loss']:.4f}", refresh=False)
      self._bar.update(figures["batch"] - self._bar.n)
      return
    self._close_bar()
    if self._tty and not self._bar_opened_line:
      self._out.write("\n")
      self._bar_opened_line = True
    if figures.get("kind") == "note":  # e.g. "warm start from served version 3 (...)"
      self._write(f"      {figures['text']}")
      return
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in figures.get("metrics", {}).items())
    self._write(f"      epoch {figures['epoch']}/{figures['epochs']}  {metrics}  "
                f"{figures['examples_per_s']:,.0f} examples/s")

  def _close_bar(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None

  def _step(self, index: int) -> str:
    """`[ 7/10]`: padded so the component names line up past the ninth."""
    width = len(str(self._total))
    return f"[{index:>{width}}/{self._total}]"

  @property
  def running(self) -> Optional[str]:
    """The component that started and has not finished (the one that failed, after a failure)."""
    return self._current.name if self._current else None

  def _write(self, text: str, end: str = "\n") -> None:
    self._out.write(text + end)
    self._out.flush()


@dataclasses.dataclass(frozen=True)
class Terminal:
  """The user's real stdout/stderr, still usable after fd 1/2 went to the log."""
  out: TextIO
  err: TextIO

  @classmethod
  def dup_current(cls) -> "Terminal":
    sys.stdout.flush()
    sys.stderr.flush()
    # backslashreplace: a non-UTF-8 path in a message must not turn into a traceback.
    return cls(out=os.fdopen(os.dup(1), "w", buffering=1, errors="backslashreplace"),
               err=os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace"))


@contextlib.contextmanager
def quiet_logs(log_path: str) -> Iterator[None]:
  """Sends all logging and fd 1/2 output to log_path (take a Terminal first).

  On exit the logging handlers are restored but fd 1/2 stay on the log, so
  TF's exit-time noise lands there too.
  """
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  sys.stdout.flush()
  sys.stderr.flush()
  log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
  os.dup2(log_fd, 1)
  os.dup2(log_fd, 2)
  os.close(log_fd)
  from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
  absl_logging.set_verbosity(absl_logging.INFO)
  root = logging.getLogger()
  old_handlers, old_level = root.handlers[:], root.level
  file_handler = logging.StreamHandler(sys.stderr)
  file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
  root.handlers = [file_handler]
  root.setLevel(logging.INFO)
  try:
    yield
  finally:
    root.handlers, root.level = old_handlers, old_level
    sys.stdout.flush()
    sys.stderr.flush()


@contextlib.contextmanager
def follow(log_path: str, out: Optional[TextIO]) -> Iterator[None]:
  """With `out` (`--verbose`), streams the run's log file to it live: everything TF, absl,
  Beam and TFX write, C++ lines included, as it is written. Without, does nothing."""
  if out is None:
    yield
    return
  import threading  # pylint: disable=import-outside-toplevel
  stop = threading.Event()

  def pump():
    with open(log_path, "r", errors="backslashreplace") as f:
      while True:
        chunk = f.read()
        if chunk:
          out.write(chunk)
          out.flush()
        elif stop.is_set():
          return
        else:
          stop.wait(0.1)

  thread = threading.Thread(target=pump, name="log-follower", daemon=True)
  thread.start()
  try:
    yield
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    stop.set()
    thread.join(timeout=5)
