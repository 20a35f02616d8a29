"""The one place a metadata-store connection is made from what a user types.

Runners, the run summary and reports all take a `ConnectionConfig` built here:
a SQLite file path (the local default, `<home>/metadata.db`) or a MySQL URL
`mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (ML Metadata's MySQL backend,
which MariaDB also serves). Imports only ml-metadata's protos, not TFX.
"""

import os
import urllib.parse

from ml_metadata.proto import metadata_store_pb2

MYSQL_DEFAULT_PORT = 3306


class MetadataConfigError(ValueError):
  """A metadata location the user gave cannot be used; str() is one line."""


def is_mysql_url(spec: str) -> bool:
  return spec.startswith("mysql://")


def connection_config(spec: str, read_only: bool = False) -> metadata_store_pb2.ConnectionConfig:
  """ConnectionConfig for a SQLite path or a mysql:// URL."""
  config = metadata_store_pb2.ConnectionConfig()
  if is_mysql_url(spec):
    url = urllib.parse.urlsplit(spec)
    database = url.path.lstrip("/")
    try:
      port = url.port
    except ValueError:
      raise MetadataConfigError(f"{_redacted(spec)}: the port is not a number") from None
    if not url.hostname or not url.username or not database or "/" in database:
      raise MetadataConfigError(f"{_redacted(spec)}: expected mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
    config.mysql.host = url.hostname
    config.mysql.port = port or MYSQL_DEFAULT_PORT
    config.mysql.database = database
    config.mysql.user = urllib.parse.unquote(url.username)
    if url.password:
      config.mysql.password = urllib.parse.unquote(url.password)
    return config
  if "://" in spec:
    raise MetadataConfigError(f"{spec}: unsupported metadata URL; use a SQLite file path or mysql://")
  config.sqlite.filename_uri = os.path.abspath(spec)
  config.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if read_only
                                   else metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
  return config


def describe(config: metadata_store_pb2.ConnectionConfig) -> str:
  """Where a config points, for messages; never shows a password."""
  if config.HasField("mysql"):
    return f"mysql://{config.mysql.user}@{config.mysql.host}:{config.mysql.port}/{config.mysql.database}"
  return config.sqlite.filename_uri


def _redacted(spec: str) -> str:
  url = urllib.parse.urlsplit(spec)
  if url.password:
    return spec.replace(f":{url.password}@", ":***@", 1)
  return spec


def check_connection(config: metadata_store_pb2.ConnectionConfig) -> None:
  """Opens the store once (creating its tables if new); MetadataConfigError if that fails.

  Run before a pipeline starts, so that a wrong password or an unreachable server is one
  line, not a failure inside the first component. ML Metadata's C++ logs its own lines to
  fd 2 on failure; they are kept off the terminal.
  """
  import ml_metadata as mlmd  # pylint: disable=import-outside-toplevel
  from ml_metadata import errors  # pylint: disable=import-outside-toplevel
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    mlmd.MetadataStore(config)
  except (errors.StatusError, RuntimeError, ValueError) as e:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    hint = (" (is the server running, and are user, password and database right?)"
            if config.HasField("mysql") else "")
    raise MetadataConfigError(f"cannot open the metadata store {describe(config)}: {first}{hint}") from None
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)
