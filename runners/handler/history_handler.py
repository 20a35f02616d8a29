"""`mnist-tfx runs` and `mnist-tfx lineage`: projections of the run view, ML Metadata only."""

import datetime
from typing import Optional

from runners.errors import UserError
from runners.handler import listing, metadata_store


def _pipeline_names(pipeline: Optional[str], model: Optional[str]):
  """The TFX pipeline names `--pipeline [--model]` means, or None for every run."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  if pipeline is None:
    if model is not None:
      raise UserError("--model needs --pipeline (e.g. --pipeline mnist --model cnn)")
    return None
  if pipeline in registry.PIPELINES:
    definition = registry.get(pipeline)
    if model is not None and model not in definition.models:
      raise UserError(f"--model {model}: unknown {pipeline} model, expected one of "
                      f"{', '.join(definition.models)}")
    return {definition.pipeline_name(m) for m in definition.models if model in (None, m)}
  if model is not None:
    raise UserError(f"--model goes with a pipeline of `run` ({', '.join(sorted(registry.PIPELINES))}), "
                    f"not with {pipeline}")
  return {pipeline}  # a TFX pipeline name, as the table shows it


RUNS_HEADER = ("run", "started (UTC)", "pipeline", "accuracy", "blessed", "version", "seconds",
               "status", "spans")


def runs(args, terminal) -> int:
  """Each run's headline metric is the one its definition names (accuracy, for the tutorials:
  the classifier's, or the regression's fraction within tolerance)."""
  names = _pipeline_names(args.pipeline, args.model)
  found = [r for r in metadata_store.view(args).runs() if names is None or r.pipeline in names]
  listing.emit(terminal, found, args.json, lambda r: r.record(), _row, RUNS_HEADER, "no runs recorded")
  return 0


def _row(r):
  return (r.run_id, datetime.datetime.utcfromtimestamp(r.started).strftime("%Y-%m-%d %H:%M:%S"),
          r.pipeline, listing.headline(r), listing.yes_no(r.blessed), r.pushed_version or "-",
          f"{r.seconds:.1f}", r.status, ",".join(map(str, r.spans)) or "-")


def lineage(args, terminal) -> int:
  from pipelines import run_view  # pylint: disable=import-outside-toplevel
  view = metadata_store.view(args)
  try:
    pushed = view.pushed_model(args.model)
  except run_view.RunNotFound as e:
    raise UserError(str(e)) from None
  terminal.out.write("\n".join(view.lineage(pushed)) + "\n")
  return 0
