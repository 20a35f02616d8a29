"""`mnist-tfx watch`: continuous training on a local machine.

Each poll is one decision, logged as one line: the latest published span of
--examples-dir (pipelines/examples_dir.spans: `span-<N>/`, `.`-prefixed folders
still being written are not looked at) against the spans behind the served model
(its training record, models/warm_start.py). A newer span — or, with
--request-logs, skew that `mnist-tfx monitor` finds in what the served version
receives — starts `mnist-tfx run` with the flags watch was given, as a child
process: its output goes to HOME/logs/watch-<time>.out, its exit status is the
outcome (0 pushed, 3 not pushed, 1 failed, 2 bad data such as an empty span), and
none of them stops the watch. A span that was tried is not retried until a newer
one arrives. The run takes the home lock, so watch never runs two pipelines at
once, nor one beside a `run` started by hand (that poll is skipped and said so).

SIGTERM or Ctrl-C stops the watch at once between runs; during a run the child is
sent SIGTERM and waited for (a killed run leaves no partial push: the Pusher is
atomic, and the next run resumes from TFX's cache), then watch exits 0.
"""

import datetime
import os
import signal
import subprocess
import sys
import threading
from typing import List, Optional, Sequence, TextIO

from runners import errors
from runners.commands import options, watch as watch_command
from runners.errors import UserError

_RUN_OUTCOMES = {errors.EXIT_PUSHED: "pushed", errors.EXIT_NOT_PUSHED: "not pushed (a gate said no)",
                 errors.EXIT_FAILED: "failed", errors.EXIT_USER_ERROR: "refused its input"}


def run_argv(argv: Sequence[str]) -> List[str]:
  """`watch ...` as given, minus watch's own flags: the arguments of `run`."""
  argv = list(argv)
  if argv and argv[0] == watch_command.NAME:
    argv = argv[1:]
  out, skip = [], False
  for arg in argv:
    if skip:
      skip = False
      continue
    flag = arg.split("=", 1)[0]
    if flag in watch_command.OWN_FLAGS:
      skip = "=" not in arg
      continue
    out.append(arg)
  return ["run", *out]


def served_spans(serving_dir: str, model: str):
  """(served version, the spans its model was trained on) — (None, None) if nothing of `model`
  is served, spans None if its record names none."""
  from components import pushed_model  # pylint: disable=import-outside-toplevel
  version = pushed_model.served_version(serving_dir)
  if version is None:
    return None, None
  record = pushed_model.training_record(os.path.join(serving_dir, version))
  if record is None or record.get("model") != model:
    return version, None
  return version, record.get("spans")


class Watcher:
  """The poll loop; `stop()` (a signal) ends it promptly."""

  def __init__(self, args, definition, model: str, examples_dir: str, home, out: TextIO):
    self.args, self.definition, self.model, self.home, self.out = args, definition, model, home, out
    self.examples_dir = examples_dir
    self.serving_dir = home.serving_dir(definition.serving_model_name)
    self._stop = threading.Event()
    self._child: Optional[subprocess.Popen] = None
    self._tried_span: Optional[int] = None  # the latest span a run was started for
    self._skew_checked: Optional[str] = None  # the served version monitor last ran against
    self._last_line = None
    self.runs = 0

  def log(self, text: str, repeat: bool = True) -> None:
    """One line per decision; a decision the same as the last is not repeated unless asked."""
    if not repeat and text == self._last_line:
      return
    self._last_line = text
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    self.out.write(f"watch {stamp} {text}\n")
    self.out.flush()

  def stop(self, signum=None, frame=None) -> None:  # pylint: disable=unused-argument
    self._stop.set()
    child = self._child
    if child is not None and child.poll() is None:
      child.send_signal(signal.SIGTERM)

  def loop(self) -> int:
    max_runs = self.args.max_runs
    while not self._stop.is_set():
      reason = self.decide()
      if reason is not None:
        self.run_pipeline(reason)
        if max_runs is not None and self.runs >= max_runs:
          self.log(f"done: {self.runs} run{'s' if self.runs != 1 else ''} (--max-runs {max_runs})")
          return errors.EXIT_OK
      self._stop.wait(self.args.interval)
    self.log("stopped")
    return errors.EXIT_OK

  def decide(self) -> Optional[str]:
    """Why to run now (one line), or None after logging why not."""
    from pipelines import examples_dir  # pylint: disable=import-outside-toplevel
    from pipelines.definition import DefinitionError  # pylint: disable=import-outside-toplevel
    try:
      published = examples_dir.spans(self.examples_dir)
    except (DefinitionError, OSError) as e:
      self.log(f"cannot read {self.examples_dir}: {e}; waiting", repeat=False)
      return None
    if not published:
      self.log(f"no span-<N>/ folders in {self.examples_dir} yet; waiting", repeat=False)
      return None
    latest = published[-1]
    version, spans = served_spans(self.serving_dir, self.model)
    behind = max(spans) if spans else None
    if behind is None or latest > behind:
      if latest == self._tried_span:
        self.log(f"span {latest} was tried and nothing of it is served; waiting for a newer span",
                 repeat=False)
        return None
      served = (f"served version {version} was trained on span {behind}" if behind is not None
                else f"served version {version} has no spans of this {self.model} model"
                if version else "nothing is served")
      self._tried_span = latest
      return f"span {latest} is new ({served}): running"
    skew = self.skew(version)
    if skew:
      return skew
    self.log(f"nothing new: latest span {latest}, served version {version} trained on it; "
             "waiting", repeat=False)
    return None

  def skew(self, version: Optional[str]) -> Optional[str]:
    """With --request-logs: `mnist-tfx monitor` once per served version; findings (exit 3) run."""
    if not self.args.request_logs or version is None or version == self._skew_checked:
      return None
    self._skew_checked = version
    proc = subprocess.run([sys.executable, "-m", "runners.cli", "monitor", "--request-logs",
                           self.args.request_logs, "--model-base-path", self.serving_dir],
                          capture_output=True, text=True, check=False)
    if proc.returncode == errors.EXIT_NOT_PUSHED:
      first = (proc.stdout.strip().splitlines() or ["findings"])[0]
      return f"monitor found skew for served version {version} ({first}): running"
    if proc.returncode != errors.EXIT_OK:
      last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
      self.log(f"monitor could not check served version {version}: {last}")
    return None

  def run_pipeline(self, reason: str) -> None:
    self.log(reason)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = os.path.join(self.home.log_dir, f"watch-{stamp}.out")
    with open(output, "w") as f:
      self._child = subprocess.Popen(  # pylint: disable=consider-using-with
          [sys.executable, "-m", "runners.cli", *run_argv(self.args.argv)],
          stdout=f, stderr=subprocess.STDOUT)
      code = self._child.wait()
      self._child = None
    if self._stop.is_set() and code != errors.EXIT_OK:
      self.log(f"run stopped by SIGTERM (exit {code}); output in {output}")
      return
    if code == errors.EXIT_HOME_BUSY:
      self._tried_span = None  # not tried: try again at the next poll
      self.log(f"the home is busy with another run; will retry ({output})")
      return
    self.runs += 1
    outcome = _RUN_OUTCOMES.get(code, f"exit {code}")
    self.log(f"run {self.runs}: {outcome} (exit {code}); output in {output}")


def watch(args, terminal) -> int:
  from pipelines import definition as definitions, examples_dir, registry  # pylint: disable=import-outside-toplevel
  from runners import local  # pylint: disable=import-outside-toplevel

  definition = registry.get(args.pipeline)
  values = options.pipeline_values(args, definition)
  if not values.get("examples_dir"):
    raise UserError("watch needs --examples-dir DIR (the folder where span-<N>/ folders arrive)")
  if args.interval <= 0:
    raise UserError(f"--interval {args.interval:g}: must be a positive number of seconds")
  if args.max_runs is not None and args.max_runs < 1:
    raise UserError(f"--max-runs {args.max_runs}: must be at least 1")
  home = local.LocalHome(args.home, metadata_spec=args.metadata)
  path = values["examples_dir"]
  try:
    if not os.path.isdir(path):
      raise UserError(f"--examples-dir {path}: not a directory")
    model = definition.check_model(args.model)
    # With spans already there, every flag is checked now, as `run` checks it. An empty DIR
    # is fine (watch waits for span-0 or span-1); the first run checks the rest.
    if examples_dir.spans(path):
      definition.configure(model, values, options.recipe_overrides(args))
    home.prepare()
  except (definitions.DefinitionError, local.HomeError) as e:
    raise UserError(str(e)) from None
  watcher = Watcher(args, definition, model, os.path.abspath(path), home, terminal.out)
  previous = {s: signal.signal(s, watcher.stop) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    watcher.log(f"watching {watcher.examples_dir} every {args.interval:g} s for "
                f"{definition.pipeline_name(model)} (home {home.path})")
    return watcher.loop()
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)
