"""`mnist-tfx models`, `promote`, `rollback`: what is pushed, and which version each label names."""

import datetime
import os

from runners.errors import UserError
from runners.handler import listing


def _config(path):
  from serving import model_config  # pylint: disable=import-outside-toplevel
  try:
    return model_config.read(path)
  except model_config.ModelConfigError as e:
    raise UserError(str(e)) from None


def models(args, terminal) -> int:
  from pipelines import metadata, run_view, served_models  # pylint: disable=import-outside-toplevel
  from serving import model_config  # pylint: disable=import-outside-toplevel
  labels = {}
  if args.model_config_file:
    config = _config(args.model_config_file)
    base_paths = {e.name: e.base_path for e in config.model_config_list.config}
    labels = {e.name: model_config.labels_by_version(e) for e in config.model_config_list.config}
  else:
    serving_dir = os.path.join(args.home, "serving")
    if not os.path.isdir(serving_dir):
      raise UserError(f"{serving_dir}: nothing pushed here (no run has pushed to this --home yet)")
    base_paths = {name: os.path.join(serving_dir, name) for name in sorted(os.listdir(serving_dir))
                  if not name.startswith(".") and os.path.isdir(os.path.join(serving_dir, name))}
  spec = args.metadata or os.path.join(args.home, "metadata.db")
  view = None
  if metadata.is_mysql_url(spec) or os.path.isfile(spec):
    from runners.handler import metadata_store  # pylint: disable=import-outside-toplevel
    view = run_view.MetadataView(metadata_store.read_only_config(args))
  found = served_models.pushed_versions(base_paths, view, labels)
  listing.emit(terminal, found, args.json, lambda v: v.record(), _row, MODELS_HEADER, "no versions pushed")
  return 0


MODELS_HEADER = ("model", "version", "pushed (UTC)", "run", "pipeline", "accuracy", "blessed",
                 "labels", "MiB")


def _row(v):
  run = v.run
  return (v.model, str(v.version) + ("" if v.loadable else " (partial)"),
          datetime.datetime.utcfromtimestamp(v.pushed_at).strftime("%Y-%m-%d %H:%M:%S"),
          run.run_id if run else "(no record)", run.pipeline if run else "-", listing.headline(run),
          listing.yes_no(run.blessed if run else None), ",".join(v.labels) or "-",
          f"{v.size_bytes / 2**20:.1f}")


def promote(args, terminal) -> int:
  from serving import model_config  # pylint: disable=import-outside-toplevel
  try:
    previous, version = model_config.promote(args.model_config_file, args.model, args.version, args.label)
  except model_config.ModelConfigError as e:
    raise UserError(str(e)) from None
  moved = f"from {previous} " if previous is not None and previous != version else ""
  terminal.out.write(f"{args.model}: label {args.label} {moved}→ version {version} "
                     f"({args.model_config_file})\n")
  return 0


def rollback(args, terminal) -> int:
  from serving import model_config  # pylint: disable=import-outside-toplevel
  try:
    current, older = model_config.rollback(args.model_config_file, args.model, args.label)
  except model_config.ModelConfigError as e:
    raise UserError(str(e)) from None
  terminal.out.write(f"{args.model}: label {args.label} rolled back from version {current} to "
                     f"{older} ({args.model_config_file})\n")
  return 0
