"""The local runner: LocalDagRunner in this process, Beam's DirectRunner, a home directory.

It decides what the graph must not: the pipeline root, the metadata store
(SQLite `<home>/metadata.db` unless a MySQL URL is given), the push destination
`<home>/serving/<model name>/` that TF Serving polls, the schema file of the
installed package, and the Beam flags. It also owns the quiet terminal: the log
file under `<home>/logs/` and one progress line per component.
"""

import contextlib
import dataclasses
import datetime
import errno
import fcntl
import logging
import os
import time
from typing import Iterator, Optional, Sequence, TextIO, Tuple

from pipelines import metadata
from pipelines.definition import PipelineDefinition, PipelineRuntime, RunConfig
from models import training_progress
from runners import console, errors
import schemas


class HomeError(ValueError):
  """--home cannot be used; str() is one line."""


class PipelineFailed(errors.CommandError):
  """A component failed; str() is one line, the trace is in the log (exit 1)."""

  exit_code = errors.EXIT_FAILED


class HomeBusy(HomeError):
  """Another run holds the home's lock."""


LOCK_FILE = ".mnist-tfx.lock"


@contextlib.contextmanager
def home_lock(home: "LocalHome") -> Iterator[None]:
  """One run per home at a time: a second run fails at once, naming the first.

  Two runs on one home would share the SQLite store and race to push into the same
  serving directory. flock is released by the kernel when the holder dies, so a
  killed run never leaves a stale lock behind.
  """
  path = os.path.join(home.path, LOCK_FILE)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
      raise HomeBusy(f"--home {home.root}: another mnist-tfx run (pid {holder}) is using it; "
                     "wait for it to finish or use another --home") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    yield
  finally:
    os.close(fd)  # releases the lock


@dataclasses.dataclass(frozen=True)
class LocalHome:
  """The layout of a local home directory."""
  root: str
  metadata_spec: Optional[str] = None  # SQLite path or mysql:// URL; default <root>/metadata.db

  @property
  def path(self) -> str:
    return os.path.abspath(self.root)

  def pipeline_root(self, pipeline_name: str) -> str:
    return os.path.join(self.path, "pipelines", pipeline_name)

  def serving_dir(self, serving_model_name: str) -> str:
    """TF Serving model base path: <home>/serving/<name>/<version>/."""
    return os.path.join(self.path, "serving", serving_model_name)

  @property
  def log_dir(self) -> str:
    return os.path.join(self.path, "logs")

  @property
  def metadata_path(self) -> str:
    return self.metadata_spec or os.path.join(self.path, "metadata.db")

  def connection_config(self, read_only: bool = False):
    return metadata.connection_config(self.metadata_path, read_only=read_only)

  def prepare(self) -> None:
    """Creates the home if needed; HomeError (one line) if it is a file or not writable."""
    path = self.path
    if os.path.exists(path) and not os.path.isdir(path):
      raise HomeError(f"--home {self.root}: is a file, not a directory")
    try:
      os.makedirs(self.log_dir, exist_ok=True)
    except OSError as e:
      raise HomeError(f"--home {self.root}: cannot create it ({e.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK) or not os.access(self.log_dir, os.W_OK | os.X_OK):
      raise HomeError(f"--home {self.root}: not writable")


# Measured on 2 cores, regression pipeline, --train-steps 200, whole-run wall in-memory vs
# multi_processing: 10^6 77.5 vs 96.4 s, 2·10^6 101.6 vs 97.0 s, 4·10^6 142.8 vs 112.4 s.
# Every Beam stage in multi_processing mode starts its own workers (Beam + TFDV/TFMA
# imports, ~8 s), which only the data stages' per-record work (StatisticsGen ~20 µs a
# record) pays back: the crossover is ~1.8·10^6.
MULTI_PROCESSING_FROM = 2_000_000
DIRECT_RUNNING_MODE = "--direct_running_mode"


@dataclasses.dataclass(frozen=True)
class BeamMode:
  """The Beam flags of a run and one line saying which mode they give, and why.

  The description starts with the mode's name (in_memory, multi_processing, or "as given by
  --beam-arg"); the terminal and the summary's details["beam_mode"] show it.
  """
  args: Tuple[str, ...]
  description: str


def _cores() -> int:
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not Linux
    return os.cpu_count() or 1


def beam_mode(input_examples: Optional[int], user_args: Sequence[str] = (),
              cores: Optional[int] = None) -> BeamMode:
  """The DirectRunner mode for a run of `input_examples` examples; `--beam-arg` flags win.

  Large inputs: multi_processing with one worker per core. Small or unknown ones (MNIST's
  70,000): no flags at all, the in-process runner. Any flag would make every TFX Beam
  executor build an sdist of the project for remote workers (`setup.py sdist` in a
  subprocess, 3.3 s a run); DirectRunner workers are local processes of this Python
  that never install it, so the automatic mode names the project's dependency itself
  (--setup_file), which TFX takes as already provided.
  """
  if user_args:
    return BeamMode(tuple(user_args), "as given by --beam-arg: " + " ".join(user_args))
  cores = cores or _cores()
  if input_examples is None or input_examples < MULTI_PROCESSING_FROM or cores < 2:
    why = ("input size not stated" if input_examples is None else
           "one core" if cores < 2 else
           f"{input_examples:,} examples < {MULTI_PROCESSING_FROM:,}")
    return BeamMode((), f"in_memory DirectRunner, no Beam flags ({why})")
  args = (f"{DIRECT_RUNNING_MODE}=multi_processing", f"--direct_num_workers={cores}")
  setup = _setup_file()
  if setup:
    args += (f"--setup_file={setup}",)
  return BeamMode(args, f"multi_processing DirectRunner, {cores} workers "
                        f"({input_examples:,} examples >= {MULTI_PROCESSING_FROM:,})")


def _setup_file() -> Optional[str]:
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")
  return path if os.path.exists(path) else None


def warm_start_plan(config: RunConfig, serving_dir: str,
                    served: Optional[str]) -> Tuple[Optional[str], str]:
  """(the version the Trainer gets as base_model or None, the line that says why).

  The served version's training record (models/warm_start.py) says which model it is,
  what it learnt from and what it started from. Same model, other data: start from it
  (the Trainer checks the layer shapes). Same data: this is a rerun of what is served, so
  start where the served model started — cold, or its own base version — which gives the
  Trainer the cache key that trained the served model, and TFX reuses that execution
  instead of training a model from itself on the data it has already seen.
  """
  from components import pushed_model  # pylint: disable=import-outside-toplevel
  if config.warm_start != "auto":
    return None, "Trainer: cold start (--warm-start off)"
  if served is None:
    return None, "Trainer: cold start (nothing served yet)"
  record = pushed_model.training_record(os.path.join(serving_dir, served))
  if record is None:
    return None, f"Trainer: cold start (served version {served} has no training record)"
  if record.get("model") != config.model:
    return None, (f"Trainer: cold start (served version {served} is a {record.get('model')} "
                  f"model, not {config.model})")
  if config.data_identity is not None and record.get("data") == config.data_identity:
    base = record.get("warm_start_from")
    if base is None:
      return None, (f"Trainer: cold start, as served version {served} did (trained on this same "
                    "data)")
    return str(base), (f"Trainer: warm start from version {base}, as served version {served} "
                       "did (trained on this same data)")
  return served, (f"Trainer: warm start from served version {served} ({config.model}, trained "
                  f"on {record.get('data') or 'other data'}) if its layer shapes match")


def runtime(definition: PipelineDefinition, config: RunConfig, home: LocalHome, mode: BeamMode,
            enable_cache: bool = True) -> PipelineRuntime:
  """Where `definition` runs locally under `home` (imports TFX: call inside quiet_logs)."""
  from components import pushed_model  # pylint: disable=import-outside-toplevel
  serving_dir = home.serving_dir(definition.serving_model_name)
  served = pushed_model.served_version(serving_dir)
  warm_start_from, _ = warm_start_plan(config, serving_dir, served)
  return PipelineRuntime(
      pipeline_root=home.pipeline_root(definition.pipeline_name(config.model)),
      serving_dir=home.serving_dir(definition.serving_model_name),
      schema_uri=schemas.schema_path(definition.dataset),
      metadata_connection_config=home.connection_config(),
      beam_pipeline_args=mode.args,
      enable_cache=enable_cache,
      served_version=served, warm_start_from=warm_start_from)


@dataclasses.dataclass
class LocalRun:
  summary: "run_summary.RunSummary"  # noqa: F821  (imported where used: it loads ML Metadata)
  log_path: str


def run(definition: PipelineDefinition, config: RunConfig, home: LocalHome, out: TextIO,
        enable_cache: bool = True, beam_args: Sequence[str] = (),
        verbose_out: Optional[TextIO] = None) -> LocalRun:
  """Runs the pipeline in this process, quietly; returns its summary read back from MLMD.

  Take a console.Terminal before calling: fd 1/2 go to the log file from here on.
  """
  home.prepare()
  with home_lock(home):
    return _run_locked(definition, config, home, out, enable_cache, beam_args, verbose_out)


def _run_locked(definition: PipelineDefinition, config: RunConfig, home: LocalHome, out: TextIO,
                enable_cache: bool, beam_args: Sequence[str],
                verbose_out: Optional[TextIO] = None) -> LocalRun:
  pipeline_name = definition.pipeline_name(config.model)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  log_path = os.path.join(home.log_dir, f"{pipeline_name}-{stamp}.log")
  started = time.monotonic()
  run_id = new_run_id()
  with console.quiet_logs(log_path):
    progress = None
    try:
      mode = beam_mode(config.input_examples, beam_args)
      where = runtime(definition, config, home, mode, enable_cache)
      pipeline = definition.build(config, where)
      out.write(f"{pipeline_name} pipeline: {config.description}\n"
                f"home {home.path}; log {log_path}\n"
                f"Beam: {mode.description}\n")
      if definition.warm_starts:
        out.write(warm_start_plan(config, where.serving_dir, where.served_version)[1] + "\n")
      progress = console.ProgressHandler(out, total=len(pipeline.components))
      logging.getLogger().addHandler(progress)
      batches = logging.getLogger(training_progress.BATCH_LOGGER)
      batches.addHandler(progress)
      try:
        with console.follow(log_path, verbose_out):
          summary = _run_and_summarise(pipeline, run_id, home)
      finally:
        batches.removeHandler(progress)
      if summary.model_uri:
        summary.details = definition.details(summary.model_uri)
      summary.details["beam_mode"] = mode.description
    except Exception as e:  # pylint: disable=broad-except
      logging.exception("pipeline %s failed", pipeline_name)  # the trace, to the log
      first_line = str(e).splitlines()[0] if str(e) else ""
      where = f" in {progress.running}" if progress and progress.running else ""
      cause = f"{type(e).__name__}: {first_line}"
      if _is_disk_full(e):
        cause = f"No space left on device under {home.path} ({cause})"
      raise PipelineFailed(f"pipeline failed{where}: {cause} (full trace in {log_path})") from None
    finally:
      if progress:
        logging.getLogger().removeHandler(progress)
  summary.total_seconds = round(time.monotonic() - started, 2)
  return LocalRun(summary=summary, log_path=log_path)


def _is_disk_full(error: BaseException) -> bool:
  """A full disk surfaces differently depending on who hit it first: the OS (ENOSPC from an
  artefact write) or SQLite inside MLMD ("database or disk is full", SQLITE_FULL). Say one thing."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
      return True
    text = str(error)
    if "No space left on device" in text or "database or disk is full" in text:
      return True
    error = error.__cause__ or error.__context__
  return False


def new_run_id() -> str:
  """A run id in TFX's own format (LocalDagRunner uses datetime.now().isoformat())."""
  return datetime.datetime.now().isoformat()


def _run_and_summarise(pipeline, run_id: str, home: LocalHome):
  """LocalDagRunner under `run_id`, then that run's summary from MLMD; a gate stopping the
  run is not an error."""
  from tfx.orchestration.local.local_dag_runner import LocalDagRunner  # pylint: disable=import-outside-toplevel
  from tfx.orchestration.portable import runtime_parameter_utils  # pylint: disable=import-outside-toplevel
  from tfx.dsl.compiler import constants  # pylint: disable=import-outside-toplevel
  from pipelines import run_summary  # pylint: disable=import-outside-toplevel

  class RunIdLocalDagRunner(LocalDagRunner):
    """LocalDagRunner that runs under the id the caller chose, so the caller can find the run
    it started (LocalDagRunner.run_with_ir substitutes only a still-unset run id)."""

    def run_with_ir(self, pipeline_ir, run_options=None):  # pylint: disable=arguments-renamed
      runtime_parameter_utils.substitute_runtime_parameter(
          pipeline_ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
      return super().run_with_ir(pipeline_ir, run_options)

  config = home.connection_config(read_only=True)
  try:
    RunIdLocalDagRunner().run(pipeline)
  except Exception:  # pylint: disable=broad-except
    # A gate stopping the run is a failed execution too; MLMD says which it was.
    summary = run_summary.of_run(config, run_id)
    if not summary.stopped_by:
      raise
    logging.info("pipeline %s stopped by %s", pipeline.pipeline_info.pipeline_name, summary.stopped_by)
    return summary
  return run_summary.of_run(config, run_id)
