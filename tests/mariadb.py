"""A real MariaDB server for tests: Debian's mariadb-server, on 127.0.0.1, port and data in a temp dir.

ML Metadata 1.16 speaks MySQL's protocol with mysql_native_password, which MariaDB 10.11
serves. The server is started per test session and removed afterwards; nothing is
installed or left on the machine (.ci/run installs the package when it is missing).
"""

import contextlib
import os
import shutil
import socket
import subprocess
import time
from typing import Iterator

USER, PASSWORD, DATABASE = "mlmd", "mlmd-test-password", "mlmd"


def available() -> bool:
  return all(shutil.which(b) for b in ("mariadbd", "mariadb-install-db", "mariadb"))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def server(root: str) -> Iterator[str]:
  """Yields the mysql:// URL of a fresh database on a private MariaDB server."""
  datadir, sock = os.path.join(root, "data"), os.path.join(root, "mariadb.sock")
  subprocess.run(["mariadb-install-db", f"--datadir={datadir}", "--user=root",
                  "--auth-root-authentication-method=socket", "--skip-test-db"],
                 check=True, capture_output=True, timeout=180)
  port = _free_port()
  proc = subprocess.Popen(
      ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}", f"--port={port}",
       "--bind-address=127.0.0.1", "--user=root", f"--pid-file={root}/mariadb.pid",
       f"--log-error={root}/mariadb.err", "--skip-name-resolve"],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.monotonic() + 60
    while subprocess.run(["mariadb", f"--socket={sock}", "-uroot", "-e", "SELECT 1"],
                         capture_output=True).returncode:
      if proc.poll() is not None or time.monotonic() > deadline:
        raise RuntimeError(f"MariaDB did not start: {open(os.path.join(root, 'mariadb.err')).read()[-2000:]}")
      time.sleep(0.2)
    sql = (f"CREATE DATABASE {DATABASE}; "
           f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
           f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'127.0.0.1';")
    subprocess.run(["mariadb", f"--socket={sock}", "-uroot", "-e", sql], check=True, capture_output=True)
    yield f"mysql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
  finally:
    proc.terminate()
    try:
      proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
      proc.kill()
