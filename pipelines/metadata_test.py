"""The one metadata-connection factory: SQLite paths and MySQL URLs."""

import os
import re

import pytest
from ml_metadata.proto import metadata_store_pb2

from pipelines import metadata


def test_sqlite_path_is_made_absolute():
  config = metadata.connection_config("home/metadata.db")
  assert config.sqlite.filename_uri == os.path.abspath("home/metadata.db")
  assert (config.sqlite.connection_mode
          == metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
  read_only = metadata.connection_config("m.db", read_only=True)
  assert read_only.sqlite.connection_mode == metadata_store_pb2.SqliteMetadataSourceConfig.READONLY


def test_mysql_url():
  config = metadata.connection_config("mysql://tfx:p%40ss@db.example:3307/mlmd")
  assert (config.mysql.host, config.mysql.port, config.mysql.database) == ("db.example", 3307, "mlmd")
  assert (config.mysql.user, config.mysql.password) == ("tfx", "p@ss")
  assert metadata.connection_config("mysql://root@127.0.0.1/m").mysql.port == 3306
  assert metadata.describe(config) == "mysql://tfx@db.example:3307/mlmd"  # no password


@pytest.mark.parametrize("spec, message", [
    ("mysql://127.0.0.1/m", "expected mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"),
    ("mysql://u:secret@h/", "mysql://u:***@h/: expected"),
    ("mysql://u@h:port/db", "the port is not a number"),
    ("postgres://u@h/db", "unsupported metadata URL"),
])
def test_bad_specs_are_one_line_errors(spec, message):
  with pytest.raises(metadata.MetadataConfigError, match=re.escape(message)):
    metadata.connection_config(spec)
