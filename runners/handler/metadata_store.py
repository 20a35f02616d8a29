"""The store `runs`, `lineage` and `report` read: opened read-only, created never."""

import os

from runners.errors import UserError


def read_only_config(args):
  """A read-only ConnectionConfig for --metadata (or HOME/metadata.db); one-line errors for a
  store that is not there or cannot be opened."""
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


def view(args):
  from pipelines import run_view  # pylint: disable=import-outside-toplevel
  return run_view.MetadataView(read_only_config(args))
