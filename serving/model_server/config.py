"""What the server serves: TF Serving's model config text format, single-model flags, batching.

`--model-config-file` is TF Serving's `model_config_list` text format, parsed by
protobuf's own text_format into `tensorflow.serving.ModelServerConfig` (unknown
fields rejected) and validated as server_core.cc validates it. The batching file
is TF Serving's `BatchingParameters` text format; the pip package has no module
for that proto, so its descriptor is built here from session_bundle_config.proto's
field list and parsed by text_format all the same.
"""

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf import wrappers_pb2  # noqa: F401  (registers google/protobuf/wrappers.proto)
from tensorflow_serving.config import model_server_config_pb2


class ServerConfigError(ValueError):
  """A config the server cannot start with; str() is one line."""


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
  """file_system_storage_path_source.proto ServableVersionPolicy."""
  kind: str = "latest"  # latest | all | specific
  num_versions: int = 1  # latest
  versions: Tuple[int, ...] = ()  # specific

  def choose(self, available: List[int]) -> List[int]:
    if self.kind == "all":
      return sorted(available)
    if self.kind == "specific":
      return sorted(v for v in available if v in self.versions)
    return sorted(available)[-max(1, self.num_versions):]


@dataclasses.dataclass(frozen=True)
class LoggingConfig:
  """A model's logging_config (config/logging_config.proto), checked: request_log.py writes it."""
  collector_type: str  # request_log.COLLECTOR_TYPES
  filename_prefix: str
  sampling_rate: float


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  name: str
  base_path: str
  policy: VersionPolicy = VersionPolicy()
  labels: Tuple[Tuple[str, int], ...] = ()  # version_labels
  logging: Optional[LoggingConfig] = None  # logging_config; None: requests are not logged

  @property
  def label_map(self) -> Dict[str, int]:
    return dict(self.labels)


@dataclasses.dataclass(frozen=True)
class BatchingConfig:
  """BatchingParameters, validated when built as TF Serving validates them at start-up.

  Unset fields take this server's defaults (sized for 2 cores; TF Serving's own are
  1000 rows, no timeout, 10 batches, one thread per core). Every field is used:
  batching.py cites where TF Serving uses each. `thread_pool_name` names the batch
  threads (TF Serving's default name: shared_batch_scheduler.h).
  """
  max_batch_size: int = 32
  batch_timeout_micros: int = 1000
  max_enqueued_batches: int = 100
  num_batch_threads: int = 1
  thread_pool_name: str = "batch_threads"
  allowed_batch_sizes: Tuple[int, ...] = ()
  pad_variable_length_inputs: bool = False
  enable_large_batch_splitting: bool = False
  max_execution_batch_size: Optional[int] = None  # with splitting only; unset = max_batch_size

  def __post_init__(self):
    object.__setattr__(self, "allowed_batch_sizes", tuple(self.allowed_batch_sizes))
    problem = _batching_problem(self)
    if problem:
      raise ServerConfigError(problem)

  @property
  def execution_batch_size(self) -> int:
    """The most rows one execution holds (shared_batch_scheduler.h GetMaxExecutionBatchSize)."""
    if self.enable_large_batch_splitting and self.max_execution_batch_size is not None:
      return self.max_execution_batch_size
    return self.max_batch_size


def _batching_problem(config: BatchingConfig) -> Optional[str]:
  """What TF Serving would refuse, in its words, or None.

  The checks of shared_batch_scheduler.h (SharedBatchScheduler::Create,
  AddQueueAfterRewritingOptions), bundle_factory_util.cc WrapSessionForBatching
  (the model server's path) and batching_session.cc CreateBasicBatchingSession.
  Stricter than TF Serving, each a value TF Serving would accept and then ignore
  or misuse: max_execution_batch_size without splitting (GetQueueOptions reads
  it only with splitting), allowed_batch_sizes not increasing (the proto requires
  it, only the splitting path checks), and with splitting a last allowed size
  other than max_execution_batch_size (WrapSessionForBatching wants it equal to
  max_batch_size, CreateBasicBatchingSession to max_execution_batch_size: both
  hold only if the two are equal; otherwise batches would be padded past the
  execution size).
  """
  if config.num_batch_threads <= 0:
    return f"num_batch_threads must be positive; was {config.num_batch_threads}"
  if config.max_batch_size <= 0:
    return f"max_batch_size must be positive; was {config.max_batch_size}"
  if config.batch_timeout_micros < 0:
    return f"batch_timeout_micros must be non-negative; was {config.batch_timeout_micros}"
  if config.max_enqueued_batches < 0 or (config.max_enqueued_batches == 0
                                         and config.enable_large_batch_splitting):
    # Without splitting TF Serving rewrites 0 to 1 (AddQueue); batching.py does the same.
    return f"max_enqueued_batches must be positive; was {config.max_enqueued_batches}"
  if config.max_execution_batch_size is not None:
    if not config.enable_large_batch_splitting:
      return ("max_execution_batch_size is used only with enable_large_batch_splitting: "
              "set enable_large_batch_splitting { value: true } or remove it")
    if config.max_execution_batch_size <= 0:
      return f"max_execution_batch_size must be positive; was {config.max_execution_batch_size}"
    if config.max_batch_size < config.max_execution_batch_size:
      return ("When enable_large_batch_splitting is true, max_batch_size must be greater than "
              f"or equal to max_execution_batch_size; got {config.max_batch_size} < "
              f"{config.max_execution_batch_size}")
  sizes = config.allowed_batch_sizes
  if sizes:
    if sizes[0] <= 0 or any(b <= a for a, b in zip(sizes, sizes[1:])):
      return ("allowed_batch_sizes entries must be positive and monotonically increasing; "
              f"got {list(sizes)}")
    if sizes[-1] != config.max_batch_size:
      return (f"Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
              f"{sizes[-1]}; expected {config.max_batch_size}")
    if sizes[-1] != config.execution_batch_size:
      return ("Last entry in allowed_batch_sizes must be equal to max_execution_batch_size; last "
              f"entry was {sizes[-1]}; expected {config.execution_batch_size}")
  return None


@dataclasses.dataclass(frozen=True)
class ServerSettings:
  """Everything `mnist-tfx serve` starts a server with, parsed and validated once (flags.configure)."""
  models: Tuple[ModelConfig, ...]
  host: str = "127.0.0.1"
  rest_port: int = 8501
  grpc_port: int = 8500
  batching: Optional[BatchingConfig] = None  # None: --enable-batching not given
  poll_seconds: float = 1.0
  model_config_file: Optional[str] = None  # re-read every config_poll_seconds when > 0
  config_poll_seconds: float = 0.0  # --model_config_file_poll_wait_seconds (0: read once)
  prometheus_path: Optional[str] = None  # None: no --monitoring-config-file enabling Prometheus
  log_max_file_bytes: int = 64 << 20  # request log rotation (request_log.py)
  log_max_file_seconds: float = 3600.0
  rest_api_num_threads: int = 0  # 0: TF Serving's default, 4 per core (server.h)
  intra_op_threads: int = 0  # 0: TensorFlow's default (one per core)
  inter_op_threads: int = 0


def _validate(models: List[ModelConfig]) -> List[ModelConfig]:
  seen = set()
  for model in models:
    if not model.name:
      raise ServerConfigError("a model config has no name")
    if model.name in seen:
      raise ServerConfigError(f"Illegal to list model {model.name} multiple times in config list")
    seen.add(model.name)
    if "://" not in model.base_path and not os.path.isabs(model.base_path):
      raise ServerConfigError(f"Expected model {model.name} to have an absolute path or URI; "
                              f"got base_path()={model.base_path}")
    if "://" not in model.base_path and not os.path.isdir(model.base_path):
      raise ServerConfigError(f"Could not find base path {model.base_path} for servable {model.name}")
  return models


def parse_model_config(text: str, source: str = "model config") -> List[ModelConfig]:
  """Models of a `model_config_list` text proto; ServerConfigError for anything TF Serving refuses."""
  config = model_server_config_pb2.ModelServerConfig()
  try:
    text_format.Parse(text, config)
  except text_format.ParseError as e:
    raise ServerConfigError(f"{source}: Error parsing text-format ModelServerConfig: {e}") from None
  return models_from_proto(config, source)


def models_from_proto(config: model_server_config_pb2.ModelServerConfig,
                      source: str = "model config") -> List[ModelConfig]:
  """Models of a ModelServerConfig (a parsed file, or a ReloadConfigRequest's config)."""
  if config.WhichOneof("config") != "model_config_list":
    raise ServerConfigError(f"{source}: only model_config_list is supported "
                            "(ModelServer does not yet support custom model config)")
  models = []
  for entry in config.model_config_list.config:
    if not entry.model_platform and not entry.model_type:
      raise ServerConfigError(
          f"{source}: Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
          f"ModelServerConfig::model_platform, model name is {entry.name}")
    if entry.model_platform and entry.model_platform != "tensorflow":
      raise ServerConfigError(f"{source}: PlatformConfigMap has no entry for platform "
                              f"{entry.model_platform}")
    which = entry.model_version_policy.WhichOneof("policy_choice")
    if which == "all":
      policy = VersionPolicy("all")
    elif which == "specific":
      policy = VersionPolicy("specific", versions=tuple(entry.model_version_policy.specific.versions))
    else:
      policy = VersionPolicy("latest", num_versions=entry.model_version_policy.latest.num_versions or 1)
    models.append(ModelConfig(entry.name, entry.base_path, policy,
                              tuple(sorted(entry.version_labels.items())),
                              _logging(entry, source) if entry.HasField("logging_config") else None))
  return _validate(models)


def _logging(entry, source: str) -> LoggingConfig:
  """logging_config, refused as TF Serving's ServerRequestLogger refuses it (server_request_logger.cc:
  a collector type it has no factory for) and where this server's files could not be written."""
  from serving.model_server import request_log  # pylint: disable=import-outside-toplevel
  config = entry.logging_config
  collector, rate = config.log_collector_config, config.sampling_config.sampling_rate
  where = f"{source}: model {entry.name}: logging_config"
  if not 0.0 <= rate <= 1.0:
    raise ServerConfigError(f"{where}: sampling_rate {rate} is outside [0, 1]")
  if collector.type not in request_log.COLLECTOR_TYPES:
    raise ServerConfigError(f"{where}: unknown log_collector_config type {collector.type!r}; "
                            f"this server writes {' or '.join(map(repr, request_log.COLLECTOR_TYPES))}")
  problem = request_log.check_prefix(collector.filename_prefix)
  if problem:
    raise ServerConfigError(f"{where}: {problem}")
  return LoggingConfig(collector.type, collector.filename_prefix, rate)


def _monitoring_file() -> descriptor_pb2.FileDescriptorProto:
  """tensorflow.serving.MonitoringConfig (config/monitoring_config.proto), field for field."""
  proto = descriptor_pb2.FileDescriptorProto(
      name="mnist_tfx/monitoring_config.proto", package="tensorflow.serving", syntax="proto3")
  field = descriptor_pb2.FieldDescriptorProto
  prometheus = proto.message_type.add(name="PrometheusConfig")
  prometheus.field.add(name="enable", number=1, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
  prometheus.field.add(name="path", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
  monitoring = proto.message_type.add(name="MonitoringConfig")
  monitoring.field.add(name="prometheus_config", number=1, type=field.TYPE_MESSAGE,
                       label=field.LABEL_OPTIONAL, type_name=".tensorflow.serving.PrometheusConfig")
  return proto


PROMETHEUS_PATH = "/monitoring/prometheus/metrics"  # util/prometheus_exporter.cc kPrometheusPath


def parse_monitoring_config(text: str, source: str = "monitoring config") -> Optional[str]:
  """The Prometheus path a MonitoringConfig enables (empty path = kPrometheusPath), or None."""
  config = _message_class("tensorflow.serving.MonitoringConfig", _monitoring_file)()
  try:
    text_format.Parse(text, config)
  except text_format.ParseError as e:
    raise ServerConfigError(f"{source}: Error parsing text-format MonitoringConfig: {e}") from None
  prometheus = config.prometheus_config
  if not prometheus.enable:
    return None
  path = prometheus.path or PROMETHEUS_PATH
  if not path.startswith("/"):
    raise ServerConfigError(f"{source}: prometheus_config path {path!r} must start with '/'")
  return path


def load_monitoring_config(path: str) -> Optional[str]:
  return parse_monitoring_config(_read(path, "--monitoring-config-file"), source=path)


def load_model_config(path: str) -> List[ModelConfig]:
  return parse_model_config(_read(path, "--model-config-file"), source=path)


def single_model(name: str, base_path: str) -> List[ModelConfig]:
  """--model-name/--model-base-path, as TF Serving's BuildSingleModelConfig."""
  return _validate([ModelConfig(name, os.path.abspath(base_path) if "://" not in base_path
                                else base_path)])


def _message_class(full_name: str, declare):
  """The class of message `full_name`; `declare()` builds its FileDescriptorProto when the pip
  package has no module for it (declared once per process, in protobuf's default pool)."""
  pool = descriptor_pool.Default()
  try:
    descriptor = pool.FindMessageTypeByName(full_name)
  except KeyError:
    pool.Add(declare())
    descriptor = pool.FindMessageTypeByName(full_name)
  return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def _read(path: str, flag: str) -> str:
  try:
    with open(path) as f:
      return f.read()
  except OSError as e:
    raise ServerConfigError(f"{flag} {path}: {e.strerror}") from None


def _batching_message_class():
  """tensorflow.serving.BatchingParameters (servables/tensorflow/session_bundle_config.proto)."""
  return _message_class("tensorflow.serving.BatchingParameters", _batching_file)


def _batching_file() -> descriptor_pb2.FileDescriptorProto:
  proto = descriptor_pb2.FileDescriptorProto(
      name="mnist_tfx/batching_parameters.proto", package="tensorflow.serving",
      dependency=["google/protobuf/wrappers.proto"], syntax="proto3")
  message = proto.message_type.add(name="BatchingParameters")
  wrapper = descriptor_pb2.FieldDescriptorProto
  for name, number, type_name in (
      ("max_batch_size", 1, ".google.protobuf.Int64Value"),
      ("batch_timeout_micros", 2, ".google.protobuf.Int64Value"),
      ("max_enqueued_batches", 3, ".google.protobuf.Int64Value"),
      ("num_batch_threads", 4, ".google.protobuf.Int64Value"),
      ("thread_pool_name", 5, ".google.protobuf.StringValue"),
      ("enable_large_batch_splitting", 8, ".google.protobuf.BoolValue"),
      ("max_execution_batch_size", 9, ".google.protobuf.Int64Value")):
    message.field.add(name=name, number=number, type=wrapper.TYPE_MESSAGE,
                      label=wrapper.LABEL_OPTIONAL, type_name=type_name)
  message.field.add(name="allowed_batch_sizes", number=6, type=wrapper.TYPE_INT64,
                    label=wrapper.LABEL_REPEATED)
  message.field.add(name="pad_variable_length_inputs", number=7, type=wrapper.TYPE_BOOL,
                    label=wrapper.LABEL_OPTIONAL)
  return proto


def parse_batching_parameters(text: str, source: str = "batching parameters") -> BatchingConfig:
  params = _batching_message_class()()
  try:
    text_format.Parse(text, params)
  except text_format.ParseError as e:
    raise ServerConfigError(f"{source}: Error parsing text-format BatchingParameters: {e}") from None
  defaults = BatchingConfig()
  value = lambda field, default: getattr(params, field).value if params.HasField(field) else default  # noqa: E731
  try:
    return BatchingConfig(
        max_batch_size=value("max_batch_size", defaults.max_batch_size),
        batch_timeout_micros=value("batch_timeout_micros", defaults.batch_timeout_micros),
        max_enqueued_batches=value("max_enqueued_batches", defaults.max_enqueued_batches),
        num_batch_threads=value("num_batch_threads", defaults.num_batch_threads),
        thread_pool_name=value("thread_pool_name", defaults.thread_pool_name),
        allowed_batch_sizes=tuple(params.allowed_batch_sizes),
        pad_variable_length_inputs=params.pad_variable_length_inputs,
        enable_large_batch_splitting=value("enable_large_batch_splitting", False),
        max_execution_batch_size=value("max_execution_batch_size", None))
  except ServerConfigError as e:
    raise ServerConfigError(f"{source}: {e}") from None


def load_batching_parameters(path: Optional[str]) -> BatchingConfig:
  if path is None:
    return BatchingConfig()
  return parse_batching_parameters(_read(path, "--batching-parameters-file"), source=path)
