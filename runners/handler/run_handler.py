"""`mnist-tfx run`: validate everything cheap, run the pipeline locally, print its summary."""

import dataclasses
import json
import os

from runners import errors
from runners.commands import options
from runners.errors import CommandError, UserError
from runners.handler import checks


def run(args, terminal) -> int:
  from pipelines import definition as definitions, metadata, registry  # pylint: disable=import-outside-toplevel
  from runners import local  # pylint: disable=import-outside-toplevel

  definition = registry.get(args.pipeline)
  home = local.LocalHome(args.home, metadata_spec=args.metadata)
  try:
    config = definition.configure(args.model, options.pipeline_values(args, definition),
                                  options.recipe_overrides(args))
    for key, value in config.environment.items():  # before anything imports TensorFlow
      os.environ.setdefault(key, value)
    checks.check_output_file("--summary-json", args.summary_json)
    options.check_beam_args(args.beam_arg)
    if args.metadata:  # a malformed URL or an unreachable server fails here, in one line
      metadata.check_connection(metadata.connection_config(args.metadata))
    home.prepare()
    result = local.run(definition, config, home, terminal.out, enable_cache=not args.no_cache,
                       beam_args=args.beam_arg, verbose_out=terminal.err if args.verbose else None)
  except local.HomeBusy as e:
    raise CommandError(str(e), errors.EXIT_HOME_BUSY) from None
  except (definitions.DefinitionError, local.HomeError, metadata.MetadataConfigError) as e:
    raise UserError(str(e)) from None
  summary = result.summary
  print_summary(summary, terminal.out)
  if args.summary_json:
    with open(args.summary_json, "w") as f:
      json.dump(dataclasses.asdict(summary), f, indent=2, sort_keys=True)
  if args.report:
    from runners.handler import report_handler  # pylint: disable=import-outside-toplevel
    output = report_handler.default_output(home.path, summary.run_id)
    terminal.out.write(report_handler.write(home.connection_config(read_only=True),
                                            summary.run_id, output))
  return errors.EXIT_PUSHED if summary.pushed_path else errors.EXIT_NOT_PUSHED


def print_summary(summary, out) -> None:
  out.write(f"\nRun {summary.run_id} finished in {summary.total_seconds:.1f} s "
            f"({len(summary.cached_components)} of {len(summary.component_seconds)} components cached)\n")
  for name, value in sorted(summary.metrics.items()):
    out.write(f"  {name:<30} {value:.4f}\n")
  for problem in summary.anomalies:
    out.write(f"  ANOMALY {problem}\n")
  for key, value in summary.details.items():
    out.write(f"  {key:<30} {value}\n")
  if summary.spans:
    out.write(f"  {'spans':<30} {', '.join(map(str, summary.spans))}\n")
  if summary.warm_start_from:
    out.write(f"  {'warm start from':<30} served version {summary.warm_start_from}\n")
  if summary.hyperparameters:
    chosen = ", ".join(f"{k} {v}" for k, v in sorted(summary.hyperparameters.items()))
    out.write(f"  {'tuned (trained with)':<30} {chosen}\n")
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
