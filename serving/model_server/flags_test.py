"""`mnist-tfx serve` flags: each unusable combination is one ServerConfigError line, before TF loads."""

import argparse

import pytest

from serving.model_server import config, flags


def _configure(*argv):
  parser = argparse.ArgumentParser()
  flags.add_arguments(parser)
  return flags.configure(parser.parse_args(list(argv)))


@pytest.fixture()
def base(tmp_path):
  (tmp_path / "m" / "1").mkdir(parents=True)
  return str(tmp_path / "m")


def test_settings_carry_every_flag(tmp_path, base):
  path = tmp_path / "models.config"
  path.write_text(f'model_config_list {{ config {{ name: "m" base_path: "{base}" model_platform: "tensorflow" }} }}')
  settings = _configure("--model-config-file", str(path), "--model-config-file-poll-wait-seconds", "5",
                        "--file-system-poll-wait-seconds", "0", "--rest-port", "0", "--grpc-port", "0")
  assert [m.name for m in settings.models] == ["m"]
  assert settings.model_config_file == str(path) and settings.config_poll_seconds == 5.0
  assert settings.poll_seconds == 0.0 and settings.host == "127.0.0.1"


@pytest.mark.parametrize("argv, message", [
    ((), "give exactly one of --model-config-file FILE or --model-base-path DIR"),
    (("--model-base-path", "{base}", "--model-config-file-poll-wait-seconds", "1"),
     "--model-config-file-poll-wait-seconds needs --model-config-file"),
    (("--model-base-path", "{base}", "--rest-port", "8500"), "--rest-port and --grpc-port must differ"),
    (("--model-base-path", "{base}", "--grpc-port", "70000"), "--grpc-port 70000: not a TCP port"),
    (("--model-base-path", "{base}", "--file-system-poll-wait-seconds", "-1"), "must be >= 0"),
    (("--model-base-path", "{base}", "--batching-parameters-file", "x"),
     "--batching-parameters-file is set without setting --enable-batching"),
])
def test_unusable_flags_are_one_line(base, argv, message):
  with pytest.raises(config.ServerConfigError) as e:
    _configure(*(a.format(base=base) for a in argv))
  assert message in str(e.value) and "\n" not in str(e.value)
