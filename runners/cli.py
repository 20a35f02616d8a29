"""`mnist-tfx`: run the project's TFX pipelines.

    mnist-tfx run --pipeline mnist --model softmax [--data-dir DIR] [--home DIR]
    mnist-tfx run --pipeline regression --model linear [--examples N] [--noise S] [--seed S]

The terminal shows one line per component and a summary; everything TF,
Beam and absl print goes to <home>/logs/<pipeline>-<time>.log.
Exit codes: 0 a model was pushed (or the one already served was confirmed);
3 nothing was pushed (not blessed); 2 a user error (bad flag, file or path:
one line on stderr, nothing run); 1 the pipeline failed (one line, trace in
the log).
"""

import models  # noqa: F401  (first: sets the Keras 2 switch before anything imports TensorFlow)

import argparse
import dataclasses
import json
import os
import re
import sys
import warnings
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter stays out
# TensorFlow imports googleapiclient, whose google.api_core warns about Python 3.10 on import.
warnings.filterwarnings("ignore", category=FutureWarning, module="google")

EXIT_PUSHED = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_NOT_PUSHED = 3


class UserError(Exception):
  """Something the user can fix; printed as one line without a traceback."""


class _Parser(argparse.ArgumentParser):
  """argparse whose errors are one line (no usage block) and go through UserError."""

  def error(self, message):
    raise UserError(message)


def _add_pipeline_arguments(parser, local_paths: bool = True) -> None:
  """--pipeline, --model, the recipe overrides and each pipeline's own flags."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  parser.add_argument("--pipeline", choices=sorted(registry.PIPELINES), default="mnist")
  parser.add_argument("--model", help="trainer model; " + "; ".join(
      f"{d.name}: {', '.join(d.models)} (default {d.default_model})"
      for d in registry.PIPELINES.values()))
  parser.add_argument("--epochs", type=int, help="training epochs (overrides the recipe)")
  parser.add_argument("--train-steps", type=int, help="training steps (overrides --epochs)")
  # Each pipeline's own flags. Defaults are suppressed so that a flag given for the wrong
  # pipeline can be told apart from one left alone, and rejected.
  seen: Dict[str, object] = {}
  for definition in registry.PIPELINES.values():
    group = parser.add_argument_group(f"{definition.name} pipeline only")
    for option in definition.options:
      if option.flag in seen or (not local_paths and option.flag in LOCAL_PATH_FLAGS):
        continue
      seen[option.flag] = option
      group.add_argument(option.flag, type=option.type, default=argparse.SUPPRESS, help=option.help)


# Flags naming directories of this machine: meaningless in a spec compiled for a cluster.
LOCAL_PATH_FLAGS = ("--data-dir", "--examples-dir")


def _add_run_parser(sub) -> None:
  run = sub.add_parser("run", help="run a pipeline locally (LocalDagRunner, Beam DirectRunner)")
  _add_pipeline_arguments(run)
  run.add_argument("--home", default="tfx_home",
                   help="pipeline root, SQLite metadata, logs and serving/ (default: ./tfx_home)")
  run.add_argument("--metadata", metavar="PATH_OR_URL",
                   help="ML Metadata store: a SQLite file (default HOME/metadata.db) or "
                   "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (MySQL or MariaDB)")
  run.add_argument("--summary-json", help="write metrics, blessing, pushed path and "
                   "per-component seconds to this file")
  run.add_argument("--no-cache", action="store_true", help="rerun every component")
  run.add_argument("--verbose", action="store_true",
                   help="also stream the TF/absl/Beam log to stderr as it is written")
  run.add_argument("--report", action="store_true",
                   help="write the run's HTML report to HOME/reports/<run>.html at the end")
  _add_beam_argument(run)


def _add_beam_argument(parser) -> None:
  parser.add_argument("--beam-arg", action="append", default=[], metavar="FLAG",
                      help="a Beam pipeline flag for every Beam-backed component, repeatable, "
                      "e.g. --beam-arg=--direct_running_mode=multi_processing "
                      "--beam-arg=--direct_num_workers=2 (default: none; DirectRunner in-process)")


def _check_beam_args(flags: Sequence[str]) -> None:
  """Beam would reject a malformed flag only once a component starts; refuse it up front."""
  for flag in flags:
    if not re.fullmatch(r"--[A-Za-z_][A-Za-z0-9_]*(=.*)?", flag, re.DOTALL):
      raise UserError(f"--beam-arg {flag!r}: expected a Beam pipeline flag such as "
                      "--runner=DataflowRunner or --direct_num_workers=2")


def _add_compile_parser(sub) -> None:
  compile_ = sub.add_parser("compile", help="compile a pipeline for Kubeflow Pipelines v2 "
                            "(or Vertex AI); writes nothing but --output")
  _add_pipeline_arguments(compile_, local_paths=False)
  compile_.add_argument("--target", choices=["kubeflow", "vertex"], default="kubeflow",
                        help="kubeflow: a bare PipelineSpec (schema 2.1.0) for the open-source "
                        "backend; vertex: TFX's PipelineJob form")
  compile_.add_argument("--image", required=True, help="the pipeline image (see Dockerfile)")
  compile_.add_argument("--pipeline-root", required=True,
                        help="object-store URI for artefacts, e.g. gs://BUCKET/tfx")
  compile_.add_argument("--serving-root", help="push destination root (default "
                        "PIPELINE_ROOT/serving); models go to <root>/<model name>/<version>")
  compile_.add_argument("--data-uri", help="mnist: the IDX files' directory; regression: a "
                        "DIR/{train,eval,test}/*.tfrecord[.gz] tree (default: the pipeline's "
                        "own source); a run-time parameter of the compiled spec")
  _add_beam_argument(compile_)
  compile_.add_argument("--output", required=True, help="FILE.yaml or FILE.json")


def _parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="mnist-tfx", description=__doc__.splitlines()[0])
  sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
  _add_run_parser(sub)
  _add_compile_parser(sub)
  serve = sub.add_parser("serve", help="serve pushed models over TF Serving's REST and gRPC APIs")
  from serving.model_server import flags as server_flags  # pylint: disable=import-outside-toplevel
  server_flags.add_arguments(serve)
  for name, text in (("runs", "past runs from ML Metadata, newest first"),
                     ("lineage", "where a pushed model came from, back to its input data")):
    history = sub.add_parser(name, help=text)
    if name == "lineage":
      history.add_argument("model", metavar="PATH_OR_VERSION",
                           help="a pushed version directory or its version number")
    history.add_argument("--home", default="tfx_home", help="the runs' home (default ./tfx_home)")
    history.add_argument("--metadata", metavar="PATH_OR_URL",
                         help="the ML Metadata store (default HOME/metadata.db), or mysql://...")
    if name == "runs":
      history.add_argument("--pipeline", help="only this pipeline, e.g. mnist_softmax")
      history.add_argument("--json", action="store_true", help="one JSON document instead of a table")
  report = sub.add_parser("report", help="one self-contained HTML page of a run: data, training, "
                          "evaluation, push")
  report.add_argument("--home", default="tfx_home", help="the runs' home (default ./tfx_home)")
  report.add_argument("--metadata", metavar="PATH_OR_URL",
                      help="the ML Metadata store (default HOME/metadata.db), or mysql://...")
  report.add_argument("--run", default="latest", help="a run id from `mnist-tfx runs` (default latest)")
  report.add_argument("--output", help="FILE.html (default HOME/reports/<run>.html)")
  predict = sub.add_parser("predict", help="classify PNG or IDX digits with a served model")
  from runners import predict as predict_command_module  # pylint: disable=import-outside-toplevel
  predict_command_module.add_arguments(predict)
  return parser


def _pipeline_values(args, definition) -> Dict[str, object]:
  """The chosen pipeline's flags; UserError for a flag of another pipeline."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  own = {option.dest for option in definition.options}
  for other in registry.PIPELINES.values():
    for option in other.options:
      if option.dest not in own and hasattr(args, option.dest):
        raise UserError(f"{option.flag} does not apply to the {definition.name} pipeline "
                        f"(it is a {other.name} flag)")
  return {dest: getattr(args, dest) for dest in own if hasattr(args, dest)}


def _check_utf8(args) -> None:
  """Paths must be valid UTF-8: TensorFlow, TFX and ML Metadata cannot store anything else."""
  for name, value in vars(args).items():
    if isinstance(value, str):
      try:
        value.encode("utf-8")
      except UnicodeEncodeError:
        raw = os.fsencode(value)
        raise UserError(f"--{name.replace('_', '-')}: {raw!r} is not valid UTF-8; "
                        "TensorFlow and ML Metadata need UTF-8 paths") from None


def _check_output_file(flag: str, path: Optional[str]) -> None:
  if path is None:
    return
  parent = os.path.dirname(os.path.abspath(path))
  if os.path.isdir(path):
    raise UserError(f"{flag} {path}: is a directory")
  if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
    raise UserError(f"{flag} {path}: cannot write there ({parent} is missing or not writable)")


def run_command(args, terminal) -> int:
  from pipelines import definition as definitions, metadata, registry  # pylint: disable=import-outside-toplevel
  from runners import local  # pylint: disable=import-outside-toplevel

  definition = registry.get(args.pipeline)
  home = local.LocalHome(args.home, metadata_spec=args.metadata)
  try:
    config = definition.configure(args.model, _pipeline_values(args, definition),
                                  {"epochs": args.epochs, "train_steps": args.train_steps})
    _check_output_file("--summary-json", args.summary_json)
    _check_beam_args(args.beam_arg)
    if args.metadata:  # a malformed URL or an unreachable server fails here, in one line
      metadata.check_connection(metadata.connection_config(args.metadata))
    home.prepare()
    result = local.run(definition, config, home, terminal.out, enable_cache=not args.no_cache,
                       beam_args=args.beam_arg, verbose_out=terminal.err if args.verbose else None)
  except (definitions.DefinitionError, local.HomeError, metadata.MetadataConfigError) as e:
    raise UserError(str(e)) from None
  summary = result.summary
  _print_summary(summary, terminal.out)
  if args.summary_json:
    with open(args.summary_json, "w") as f:
      json.dump(dataclasses.asdict(summary), f, indent=2, sort_keys=True)
  if args.report:
    output = os.path.join(home.path, "reports", f"{_safe_name(summary.run_id)}.html")
    os.makedirs(os.path.dirname(output), exist_ok=True)
    terminal.out.write(_write_report(home.connection_config(read_only=True), summary.run_id, output))
  return EXIT_PUSHED if summary.pushed_path else EXIT_NOT_PUSHED


def _print_summary(summary, out) -> None:
  out.write(f"\nRun {summary.run_id} finished in {summary.total_seconds:.1f} s "
            f"({len(summary.cached_components)} of {len(summary.component_seconds)} components cached)\n")
  for name, value in sorted(summary.metrics.items()):
    out.write(f"  {name:<30} {value:.4f}\n")
  for problem in summary.anomalies:
    out.write(f"  ANOMALY {problem}\n")
  for key, value in summary.details.items():
    out.write(f"  {key:<30} {value}\n")
  for failure in summary.failed_thresholds:
    out.write(f"  FAILED threshold: {failure}\n")
  if summary.infra_blessed is False:
    out.write(f"  FAILED infra validation: {summary.infra_message}\n")
  if summary.stopped_by:
    out.write(f"  stopped by {summary.stopped_by} before training: nothing was trained or pushed\n")
  elif summary.pushed_path:
    out.write(f"  blessed: yes; pushed to {summary.pushed_path}\n")
  elif summary.blessed and summary.infra_blessed:
    out.write("  blessed: yes, but nothing was pushed\n")
  elif summary.blessed:
    out.write("  blessed: yes, but the model server could not serve it: nothing was pushed\n")
  else:
    out.write("  blessed: NO; the Evaluator's thresholds were not met, nothing was pushed\n")
  out.flush()


def compile_command(args, terminal) -> int:
  from pipelines import definition as definitions, registry  # pylint: disable=import-outside-toplevel
  from runners import console, kubeflow_v2  # pylint: disable=import-outside-toplevel

  if not args.output.endswith((".yaml", ".yml", ".json")):
    raise UserError(f"--output {args.output}: must end in .yaml or .json")
  _check_output_file("--output", args.output)
  _check_beam_args(args.beam_arg)
  for flag, value in (("--pipeline-root", args.pipeline_root), ("--serving-root", args.serving_root),
                      ("--data-uri", args.data_uri)):
    if value is not None and "://" not in value:
      raise UserError(f"{flag} {value}: expected a URI the cluster can read (gs://, s3://, "
                      "minio://, ...), not a path of this machine")
  definition = registry.get(args.pipeline)
  try:
    config = definition.configure(args.model, _pipeline_values(args, definition),
                                  {"epochs": args.epochs, "train_steps": args.train_steps},
                                  data_uri=args.data_uri)
  except definitions.DefinitionError as e:
    raise UserError(str(e)) from None
  placement = kubeflow_v2.KubeflowPlacement(image=args.image, pipeline_root=args.pipeline_root,
                                            serving_root=args.serving_root, beam_args=args.beam_arg)
  with console.quiet_logs(os.devnull):
    try:
      spec = kubeflow_v2.compile_pipeline(definition, config, placement, target=args.target)
    except kubeflow_v2.CompileError as e:
      raise UserError(str(e)) from None
  kubeflow_v2.write_spec(spec, args.output)
  terminal.out.write(f"wrote {args.output}: {args.target} spec of "
                     f"{definition.pipeline_name(config.model)} ({config.description})\n")
  return 0


def serve_command(args, terminal) -> int:
  from serving.model_server import config as server_config, flags as server_flags  # pylint: disable=import-outside-toplevel
  try:
    server_flags.configure(args)  # flags and config files, before TensorFlow loads
    # A server logs to stderr; TF's C++ start-up lines about absent CUDA plugins are not news.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from serving.model_server import server as model_server  # pylint: disable=import-outside-toplevel
    return model_server.run(args, terminal.out)
  except server_config.ServerConfigError as e:
    raise UserError(str(e)) from None
  except OSError as e:
    raise UserError(f"cannot listen on {args.host}: {e.strerror or e}") from None


def predict_command(args, terminal) -> int:
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # the client loads TF's protos; its CUDA chatter is noise
  from runners import predict  # pylint: disable=import-outside-toplevel
  try:
    return predict.run(args, terminal.out)
  except predict.PredictError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return e.exit_code


def _store_config(args):
  """A read-only connection to the store the user named (`runs`, `lineage`, `report`);
  one-line errors for a store that is not there. Creates nothing."""
  from pipelines import metadata  # pylint: disable=import-outside-toplevel
  spec = args.metadata or os.path.join(args.home, "metadata.db")
  try:
    if not metadata.is_mysql_url(spec) and not os.path.isfile(spec):
      raise UserError(f"{spec}: no metadata store here (no run has used this --home yet)")
    config = metadata.connection_config(spec, read_only=True)
    if args.metadata:
      metadata.check_connection(config)
    return config
  except metadata.MetadataConfigError as e:
    raise UserError(str(e)) from None


def _history(args):
  from pipelines import run_history  # pylint: disable=import-outside-toplevel
  return run_history.History(_store_config(args))


def runs_command(args, terminal) -> int:
  from pipelines import run_history  # pylint: disable=import-outside-toplevel
  records = _history(args).runs(args.pipeline)
  if args.json:
    json.dump([dataclasses.asdict(r) for r in records], terminal.out, indent=2)
    terminal.out.write("\n")
  elif not records:
    terminal.out.write("no runs recorded\n")
  else:
    terminal.out.write(run_history.format_runs(records) + "\n")
  return 0


def lineage_command(args, terminal) -> int:
  from pipelines import run_history  # pylint: disable=import-outside-toplevel
  history = _history(args)
  try:
    pushed = history.pushed_model(args.model)
  except run_history.HistoryError as e:
    raise UserError(str(e)) from None
  terminal.out.write("\n".join(history.lineage(pushed)) + "\n")
  return 0


def report_command(args, terminal) -> int:
  config = _store_config(args)  # before anything heavy loads
  output = args.output or os.path.join(args.home, "reports", f"{_safe_name(args.run)}.html")
  if not output.endswith((".html", ".htm")):
    raise UserError(f"--output {output}: must end in .html")
  if not args.output:
    os.makedirs(os.path.dirname(output), exist_ok=True)
  _check_output_file("--output", output)
  terminal.out.write(_write_report(config, args.run, output))
  return 0


def _safe_name(run_id: str) -> str:
  return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def _write_report(connection_config, run: str, output: str) -> str:
  """Renders the report with TF/absl logs kept off the terminal; returns the line to print."""
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
  import logging  # pylint: disable=import-outside-toplevel
  for name in ("tensorflow", "absl"):  # TF's Python deprecation notes
    logging.getLogger(name).setLevel(logging.ERROR)
  from pipelines import report  # pylint: disable=import-outside-toplevel
  try:
    report.write_report(connection_config, output, run)
  except report.ReportError as e:
    raise UserError(str(e)) from None
  return f"report: {output}\n"


COMMANDS = {"run": run_command, "compile": compile_command, "serve": serve_command,
            "predict": predict_command, "runs": runs_command, "lineage": lineage_command,
            "report": report_command}


def main(argv: Optional[List[str]] = None) -> int:
  # quiet_logs moves fd 1/2 to the log file; keep handles on the real terminal.
  from runners import console, local  # pylint: disable=import-outside-toplevel
  terminal = console.Terminal.dup_current()
  try:
    args = _parser().parse_args(argv)
    _check_utf8(args)
    return COMMANDS[args.command](args, terminal)
  except UserError as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return EXIT_USER_ERROR
  except local.PipelineFailed as e:
    terminal.err.write(f"mnist-tfx: error: {e}\n")
    return EXIT_FAILED
  except KeyboardInterrupt:
    terminal.err.write("mnist-tfx: interrupted\n")
    return 130


def entry_point() -> None:
  """Console-script entry: exit without the interpreter's teardown noise on the terminal."""
  sys.exit(main())


if __name__ == "__main__":
  entry_point()
