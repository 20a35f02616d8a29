"""`mnist-tfx serve` flags, TF Serving's model_server flags in this project's spelling.

Import-light (argparse and the config parser only): the CLI builds its parser and
validates a config file before TensorFlow loads.
"""

DEFAULT_HOST = "127.0.0.1"


def add_arguments(parser) -> None:
  source = parser.add_argument_group("what to serve (one of)")
  source.add_argument("--model-config-file", help="TF Serving model_config_list text file")
  source.add_argument("--model-base-path", help="a model's base path: <dir>/<version>/saved_model.pb")
  parser.add_argument("--model-name", help="the model's name with --model-base-path (default: the "
                      "directory's name)")
  parser.add_argument("--host", default=DEFAULT_HOST, help="interface to bind (default 127.0.0.1)")
  parser.add_argument("--rest-port", type=int, default=8501, help="REST port (default 8501; 0 = any)")
  parser.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (default 8500; 0 = any)")
  parser.add_argument("--enable-batching", action="store_true",
                      help="merge concurrent Predict calls into batches")
  parser.add_argument("--batching-parameters-file",
                      help="TF Serving BatchingParameters text file (with --enable-batching)")
  parser.add_argument("--file-system-poll-wait-seconds", type=float, default=1.0,
                      help="how often to look for new versions (default 1; 0 = only at start, as "
                      "TF Serving's --file_system_poll_wait_seconds)")
  parser.add_argument("--model-config-file-poll-wait-seconds", type=float, default=0.0,
                      help="re-read --model-config-file this often and apply what changed: models, "
                      "version policies, labels (default 0: read once, as TF Serving's "
                      "--model_config_file_poll_wait_seconds)")
  parser.add_argument("--monitoring-config-file",
                      help="TF Serving MonitoringConfig text file: prometheus_config { enable: true } "
                      "serves metrics at /monitoring/prometheus/metrics on the REST port")
  parser.add_argument("--request-log-max-file-bytes", type=int, default=64 << 20,
                      help="a request log file is closed and the next opened at this size "
                      "(default 64 MiB)")
  parser.add_argument("--request-log-max-file-seconds", type=float, default=3600.0,
                      help="... or at this age (default 3600)")
  parser.add_argument("--rest-api-num-threads", type=int, default=0,
                      help="REST worker threads (default 0: 4 per core, as TF Serving)")
  parser.add_argument("--tensorflow-intra-op-parallelism", type=int, default=0,
                      help="threads one TF op may use (default 0: TensorFlow's, one per core)")
  parser.add_argument("--tensorflow-inter-op-parallelism", type=int, default=0,
                      help="TF ops run at once (default 0: TensorFlow's, one per core)")


def configure(args):
  """The server's settings from the parsed flags, config files read and validated once.

  A config.ServerSettings that server.run starts from; ServerConfigError (one line)
  if unusable, before TensorFlow loads.
  """
  import os  # pylint: disable=import-outside-toplevel
  from serving.model_server import config as server_config  # pylint: disable=import-outside-toplevel
  if bool(args.model_config_file) == bool(args.model_base_path):
    raise server_config.ServerConfigError(
        "give exactly one of --model-config-file FILE or --model-base-path DIR [--model-name NAME]")
  for flag, port in (("--rest-port", args.rest_port), ("--grpc-port", args.grpc_port)):
    if not 0 <= port <= 65535:
      raise server_config.ServerConfigError(f"{flag} {port}: not a TCP port")
  if args.rest_port and args.rest_port == args.grpc_port:
    raise server_config.ServerConfigError("--rest-port and --grpc-port must differ")
  if args.batching_parameters_file and not args.enable_batching:
    raise server_config.ServerConfigError(
        "--batching-parameters-file is set without setting --enable-batching")
  if args.file_system_poll_wait_seconds < 0:
    raise server_config.ServerConfigError(
        f"--file-system-poll-wait-seconds {args.file_system_poll_wait_seconds}: must be >= 0")
  if args.model_config_file_poll_wait_seconds < 0:
    raise server_config.ServerConfigError(
        f"--model-config-file-poll-wait-seconds {args.model_config_file_poll_wait_seconds}: must be >= 0")
  if args.model_config_file_poll_wait_seconds and not args.model_config_file:
    raise server_config.ServerConfigError(
        "--model-config-file-poll-wait-seconds needs --model-config-file")
  if args.request_log_max_file_bytes <= 0 or args.request_log_max_file_seconds <= 0:
    raise server_config.ServerConfigError(
        "--request-log-max-file-bytes and --request-log-max-file-seconds must be positive")
  for flag, value in (("--rest-api-num-threads", args.rest_api_num_threads),
                      ("--tensorflow-intra-op-parallelism", args.tensorflow_intra_op_parallelism),
                      ("--tensorflow-inter-op-parallelism", args.tensorflow_inter_op_parallelism)):
    if value < 0:
      raise server_config.ServerConfigError(f"{flag} {value}: must be >= 0")
  if args.model_config_file:
    models = server_config.load_model_config(args.model_config_file)
  else:
    name = args.model_name or os.path.basename(os.path.normpath(args.model_base_path))
    models = server_config.single_model(name, args.model_base_path)
  batching = (server_config.load_batching_parameters(args.batching_parameters_file)
              if args.enable_batching else None)
  prometheus_path = (server_config.load_monitoring_config(args.monitoring_config_file)
                     if args.monitoring_config_file else None)
  return server_config.ServerSettings(
      models=tuple(models), host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port,
      batching=batching, poll_seconds=args.file_system_poll_wait_seconds,
      model_config_file=args.model_config_file,
      config_poll_seconds=args.model_config_file_poll_wait_seconds,
      rest_api_num_threads=args.rest_api_num_threads, prometheus_path=prometheus_path,
      log_max_file_bytes=args.request_log_max_file_bytes,
      log_max_file_seconds=args.request_log_max_file_seconds,
      intra_op_threads=args.tensorflow_intra_op_parallelism,
      inter_op_threads=args.tensorflow_inter_op_parallelism)
