"""The wheel is complete: installed into a fresh venv outside the checkout, it runs a pipeline.

This is what the Kubeflow image does with it. The wheel is built from a copy of the
working tree (setuptools writes build/ beside the sources), installed with the pinned
stack (constraints.txt; uv's cache makes that ~20 s), and run from a directory where
nothing of the checkout is importable.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import fixtures

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
_IGNORE = shutil.ignore_patterns(".venv", ".git", "tfx_home", "build", "*.egg-info", "__pycache__",
                                 "results", "docs")


def _run(cmd, **kwargs):
  proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)
  assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
  return proc


def test_wheel_installs_into_a_fresh_venv_and_runs_the_regression_pipeline(tmp_path):
  source, dist, venv, work = (tmp_path / d for d in ("source", "dist", "venv", "work"))
  shutil.copytree(fixtures.ROOT, source, ignore=_IGNORE)
  _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", str(dist), str(source)])
  (wheel,) = dist.glob("mnist_tfx-*.whl")
  base_python = getattr(sys, "_base_executable", sys.executable)
  _run([base_python, "-m", "venv", str(venv)])
  uv = os.path.join(os.path.dirname(sys.executable), "uv")
  _run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
        "-c", os.path.join(fixtures.ROOT, "constraints.txt"), str(wheel)])

  work.mkdir()
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
  where = _run([str(venv / "bin" / "python"), "-c",
                "import schemas, pipelines, runners; print(schemas.schema_path('regression'))"],
               cwd=work, env=env).stdout.strip()
  assert where.startswith(str(venv)) and os.path.isfile(where)

  summary_path = work / "summary.json"
  _run([str(venv / "bin" / "mnist-tfx"), "run", "--pipeline", "regression", "--examples", "500",
        "--home", str(work / "home"), "--summary-json", str(summary_path)], cwd=work, env=env)
  summary = json.loads(summary_path.read_text())
  assert summary["blessed"] is True
  assert summary["pushed_path"].startswith(str(work / "home" / "serving" / "regression"))
  assert abs(summary["details"]["w"] - 2) < 0.01 and abs(summary["details"]["b"] - 1) < 0.01
