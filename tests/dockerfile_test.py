"""The Kubeflow image compiles its bytecode at build, so no task compiles the stack at import.

There is no Docker engine here, so the Dockerfile is read, not built: its ENV must not set
PYTHONDONTWRITEBYTECODE, and its own `uv pip install` command, run as written there (only
`--system` becomes a fresh venv, and the project a one-module wheel), must leave bytecode
that the next import reads instead of compiling the source.
"""

import os
import re
import shlex
import subprocess
import sys
import zipfile

from tests import fixtures

_PROBE = "dockerfile_probe"


def _instructions():
  """[(INSTRUCTION, arguments)] of the Dockerfile, continuation lines joined, comments left out."""
  with open(os.path.join(fixtures.ROOT, "Dockerfile")) as f:
    lines = [line for line in f.read().splitlines() if not line.lstrip().startswith("#")]
  joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
  return [tuple(line.strip().split(None, 1)) for line in joined.splitlines() if line.strip()]


def _image_install_command():
  """The words of the image's `uv pip install ...` (one command of its RUN line)."""
  commands = [part for instruction, arguments in _instructions() if instruction == "RUN"
              for part in arguments.split("&&") if part.split()[:3] == ["uv", "pip", "install"]]
  assert len(commands) == 1, commands
  return shlex.split(commands[0])


def test_the_image_does_not_set_pythondontwritebytecode():
  env = {}
  for instruction, arguments in _instructions():
    if instruction == "ENV":
      env.update(word.split("=", 1) for word in shlex.split(arguments))
  assert "TF_CPP_MIN_LOG_LEVEL" in env  # the ENV lines were read
  assert "PYTHONDONTWRITEBYTECODE" not in env, env


def _wheel(directory):
  """A one-module wheel, written by hand: nothing to build, nothing fetched."""
  path = os.path.join(directory, f"{_PROBE}-0.1-py3-none-any.whl")
  info = f"{_PROBE}-0.1.dist-info"
  files = {f"{_PROBE}/__init__.py": "VALUE = 42\n",
           f"{info}/METADATA": "Metadata-Version: 2.1\nName: dockerfile-probe\nVersion: 0.1\n",
           f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: dockerfile_test\n"
                            "Root-Is-Purelib: true\nTag: py3-none-any\n"}
  files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
  with zipfile.ZipFile(path, "w") as wheel:
    for name, text in files.items():
      wheel.writestr(name, text)
  return path


def test_the_images_install_command_leaves_bytecode_the_import_reads(tmp_path):
  command = _image_install_command()
  assert command[command.index("-c") + 1] == "/tmp/constraints.txt"  # the layout swapped below
  venv = tmp_path / "venv"
  base_python = getattr(sys, "_base_executable", sys.executable)
  subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True)
  python = str(venv / "bin" / "python")
  swap = {"uv": os.path.join(os.path.dirname(sys.executable), "uv"),
          "--system": f"--python={python}",
          "/tmp/constraints.txt": os.path.join(fixtures.ROOT, "constraints.txt"),
          "/tmp/src": _wheel(str(tmp_path))}
  proc = subprocess.run([swap.get(word, word) for word in command], capture_output=True,
                        text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr

  # What a task's `python -m ...` does, with the image's environment (no PYTHONDONTWRITEBYTECODE
  # there, but -B here so this import cannot write the bytecode it is checking for).
  proc = subprocess.run([python, "-B", "-v", "-c", f"import {_PROBE}; print({_PROBE}.VALUE)"],
                        capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
  assert proc.returncode == 0 and proc.stdout.strip() == "42", proc.stderr
  loaded = [line for line in proc.stderr.splitlines() if f"/{_PROBE}/" in line]
  assert any(re.search(rf"code object from '.*/{_PROBE}/__pycache__/__init__\.cpython-\d+\.pyc'", line)
             for line in loaded), loaded
