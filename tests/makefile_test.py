"""`make run ARGS=...` runs the pipeline ARGS names, with the CLI's own defaults otherwise.

Cheap: `make -n` prints the command (the venv stamp taken as up to date, so nothing is
installed), and the printed command runs with a flag that fails at validation in seconds,
before any pipeline: which message it fails with shows which pipeline and model it chose.
"""

import shlex
import subprocess

from tests import fixtures


def _make_run_command(args):
  proc = subprocess.run(["make", "-s", "-n", "-o", ".venv/.installed", "run", f"ARGS={args}"],
                        capture_output=True, text=True, cwd=fixtures.ROOT, timeout=60)
  assert proc.returncode == 0, proc.stderr
  (command,) = proc.stdout.strip().splitlines()
  return shlex.split(command)


def test_make_run_passes_the_pipeline_in_args_alone(tmp_path):
  command = _make_run_command(f"--pipeline regression --examples 0 --home {tmp_path / 'home'}")
  assert command[0].endswith("/mnist-tfx") and command[1] == "run", command
  proc = subprocess.run(command, capture_output=True, text=True, cwd=fixtures.ROOT, timeout=300)
  # The regression pipeline's own validation, not "--model softmax: unknown regression model".
  assert proc.returncode == 2, (proc.stdout, proc.stderr)
  assert "regression data: num_examples must be at least 3, got 0" in proc.stderr, proc.stderr
  assert not (tmp_path / "home").exists()  # failed before the run made anything
  assert command.count("--pipeline") == 1 and "--model" not in command, command


def test_make_run_without_args_keeps_the_clis_defaults():
  command = _make_run_command("")
  assert command[1:] == ["run"], command
  helped = subprocess.run(command + ["--help"], capture_output=True, text=True,
                          cwd=fixtures.ROOT, timeout=300)
  assert helped.returncode == 0, helped.stderr
  text = " ".join(helped.stdout.split())
  assert "which pipeline (default mnist)" in text and "mnist: softmax, mlp, cnn (default softmax)" in text
