"""promote / rollback on real TF Serving config files, and `mnist-tfx models|promote|rollback`.

Version directories are real (a saved_model.pb file is what makes a version loadable);
the files written are parsed back with TF Serving's own ModelServerConfig proto.
"""

import json
import os

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import model_config
from tests import fixtures

CONFIG = """model_config_list {
  config { name: "mnist" base_path: "%s" model_platform: "tensorflow" }
  config { name: "other" base_path: "/nowhere" model_platform: "tensorflow" }
}
"""


@pytest.fixture()
def served(tmp_path):
  base = tmp_path / "serving" / "mnist"
  for version in (10, 20, 30):
    (base / str(version)).mkdir(parents=True)
    (base / str(version) / "saved_model.pb").write_bytes(b"\x08\x01")
  (base / "25").mkdir()  # a partial push: no saved_model.pb
  (base / ".incoming-40-123").mkdir()
  path = tmp_path / "models.config"
  path.write_text(CONFIG % base)
  return path, base


def _parsed(path):
  return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())


def test_promote_labels_a_version_and_serves_exactly_the_labelled_ones(served):
  path, _ = served
  assert model_config.promote(str(path), "mnist", 20, "stable") == (None, 20)
  assert model_config.promote(str(path), "mnist", 30, "canary") == (None, 30)
  mnist = _parsed(path).model_config_list.config[0]
  assert dict(mnist.version_labels) == {"stable": 20, "canary": 30}
  assert list(mnist.model_version_policy.specific.versions) == [20, 30]
  assert _parsed(path).model_config_list.config[1].name == "other"  # the rest is kept
  assert model_config.promote(str(path), "mnist", 30, "stable") == (20, 30)
  mnist = _parsed(path).model_config_list.config[0]
  assert list(mnist.model_version_policy.specific.versions) == [30]  # 20 is no longer wanted


def test_rollback_moves_the_label_to_the_newest_loadable_version_below(served):
  path, _ = served
  model_config.promote(str(path), "mnist", 30, "stable")
  assert model_config.rollback(str(path), "mnist") == (30, 20)  # 25 is partial: skipped
  assert model_config.rollback(str(path), "mnist") == (20, 10)
  before = path.read_bytes()
  with pytest.raises(model_config.ModelConfigError, match="no version of mnist below 10"):
    model_config.rollback(str(path), "mnist")
  assert path.read_bytes() == before


@pytest.mark.parametrize("change, message", [
    (lambda p: model_config.promote(p, "mnist", 25, "stable"),
     r"--version 25: no such version of mnist under .* \(there: 10, 20, 30\)"),
    (lambda p: model_config.promote(p, "mnist", 99, "stable"), "--version 99: no such version"),
    (lambda p: model_config.promote(p, "nope", 10, "stable"), r"--model nope: not in the config \(models: mnist, other\)"),
    (lambda p: model_config.promote(p, "mnist", 10, "a/b"), "--label 'a/b': use letters"),
    (lambda p: model_config.rollback(p, "mnist", "canary"), "--label canary: mnist has no such label"),
])
def test_refusals_leave_the_file_byte_identical(served, change, message):
  path, _ = served
  before = path.read_bytes()
  with pytest.raises(model_config.ModelConfigError, match=message):
    change(str(path))
  assert path.read_bytes() == before
  assert sorted(os.listdir(path.parent)) == ["models.config", "serving"]  # no temporary left


def test_a_malformed_file_is_one_line_and_untouched(tmp_path):
  path = tmp_path / "models.config"
  path.write_text("model_config_list { config { name: \"mnist\" base_path: }\n")
  before = path.read_bytes()
  with pytest.raises(model_config.ModelConfigError, match="not a TF Serving model config"):
    model_config.promote(str(path), "mnist", 1, "stable")
  assert path.read_bytes() == before


def test_the_commands_answer_in_one_line_and_exit_2_on_bad_input(served, tmp_path):
  path, base = served
  proc = fixtures.run_cli(["promote", "--model-config-file", str(path), "--model", "mnist",
                           "--version", "30", "--label", "canary"], timeout=60)
  assert proc.returncode == 0 and proc.stdout == f"mnist: label canary → version 30 ({path})\n"
  proc = fixtures.run_cli(["promote", "--model-config-file", str(path), "--model", "mnist",
                           "--version", "7"], timeout=60)
  assert proc.returncode == 2 and proc.stderr.startswith("mnist-tfx: error: --version 7: no such version")
  proc = fixtures.run_cli(["models", "--home", str(tmp_path), "--model-config-file", str(path), "--json"],
                          timeout=60)
  assert proc.returncode == 0, proc.stderr
  listed = [(v["model"], v["version"], v["labels"], v["loadable"], v["recorded"])
            for v in json.loads(proc.stdout)]
  assert listed == [("mnist", 30, ["canary"], True, False), ("mnist", 25, [], False, False),
                    ("mnist", 20, [], True, False), ("mnist", 10, [], True, False)]


def test_models_imports_no_tensorflow(served, tmp_path):
  path, _ = served
  code = ("import sys; from runners import cli; rc = cli.main(['models', '--home', %r, "
          "'--model-config-file', %r]); print('HEAVY', [m for m in ('tensorflow', 'tfx.dsl') "
          "if m in sys.modules]); sys.exit(rc)" % (str(tmp_path), str(path)))
  proc = fixtures.run_python(code, timeout=60)
  assert proc.returncode == 0, proc.stderr
  assert "HEAVY []" in proc.stdout and "(no record)" in proc.stdout
