"""Under CI=true a test that cannot run fails: the full-disk test on a machine that cannot mount.

The full-disk test needs a tmpfs. Its pytest runs here, with CI=true, as a process without
CAP_SYS_ADMIN (setpriv drops it from the bounding set, so `mount` is refused): it must be
reported failed with the mount's reason, never skipped, and fail before any pipeline runs.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from tests import fixtures

_NO_SYS_ADMIN = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"]


def _mount_is_refused(path) -> bool:
  os.makedirs(path)
  if subprocess.run(_NO_SYS_ADMIN + ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path],
                    capture_output=True).returncode == 0:
    subprocess.run(["umount", path], check=False)
    return False
  return True


def test_the_full_disk_test_fails_under_ci_when_it_cannot_mount(tmp_path):
  fixtures.require(_mount_is_refused(str(tmp_path / "probe")),
                   "setpriv cannot take CAP_SYS_ADMIN away here, so mount is not refused")
  report = tmp_path / "report.xml"
  env = {**os.environ, "CI": "true"}
  proc = subprocess.run(
      _NO_SYS_ADMIN + [sys.executable, "-m", "pytest", "tests/safety_e2e_test.py",
                       "-k", "test_a_full_disk_fails", f"--junitxml={report}",
                       f"--basetemp={tmp_path / 'inner'}"],
      capture_output=True, text=True, cwd=fixtures.ROOT, env=env, timeout=300)
  assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: tests failed (a skip exits 0)
  (case,) = ET.parse(report).getroot().iter("testcase")
  assert case.get("name") == "test_a_full_disk_fails_naming_the_component_and_pushes_nothing"
  assert case.find("skipped") is None
  failure = case.find("failure")
  assert failure is not None, ET.tostring(case, encoding="unicode")
  assert "mounting a tmpfs is not permitted here: mount: " in failure.get("message"), failure.get("message")
  assert "CI=true" in failure.get("message")
  assert float(case.get("time")) < 30  # failed at the mount, not after a pipeline run
