"""`mnist-tfx serve`: the config files checked before TensorFlow loads, then the server in the foreground."""

import os

from runners.errors import UserError


def serve(args, terminal) -> int:
  from serving.model_server import config as server_config, flags as server_flags  # pylint: disable=import-outside-toplevel
  try:
    settings = server_flags.configure(args)  # flags and config files, once, before TensorFlow loads
    # A server logs to stderr; TF's C++ start-up lines about absent CUDA plugins are not news.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from serving.model_server import server as model_server  # pylint: disable=import-outside-toplevel
    return model_server.run(settings, terminal.out)
  except server_config.ServerConfigError as e:
    raise UserError(str(e)) from None
  except OSError as e:  # the server's own message names the address and port
    raise UserError(e.strerror or f"cannot listen on {args.host}: {e}") from None
