"""TF Serving's metrics, and the Prometheus page util/prometheus_exporter.cc writes from them.

The metrics are TF Serving's own, with its names, labels, units and bucket
limits (each cites the file that defines it), so a dashboard or alert written for
TF Serving reads this server unchanged:

  /tensorflow/serving/request_count{model_name,status}            servables/tensorflow/util.cc
  /tensorflow/serving/request_latency{model_name,API,entrypoint}  util.cc, µs, Exponential(10, 1.8, 33)
  /tensorflow/serving/runtime_latency{model_name,API,runtime}     util.cc, µs, Exponential(10, 1.8, 33)
  /tensorflow/serving/request_example_counts{model}               util.cc, Exponential(1, 2, 15)
  /tensorflow/serving/request_example_count_total{model}          util.cc
  /tensorflow/serving/request_log_count{model_name,status_code}   core/request_logger.cc
  /tensorflow/serving/model_warmup_latency{model_path,status}     servables/tensorflow/saved_model_warmup_util.cc
  /tensorflow/serving/model_warmup_records_read{model_path,status}  same file
  /tensorflow/serving/batching_session/queuing_latency{thread_pool_name}
                                                                  batching/batching_session.cc, µs,
                                                                  Exponential(100, 1.2, 52)

The page is written by hand, as SerializeHistogram/SerializeScalar write it:
prometheus_client's exposition cannot (it names every counter `<name>_total`
and adds `# HELP` and `_created` lines; TF Serving's counters have no suffix), so
only its parser is used, in the tests, to check the page parses. Names: every
character outside [a-zA-Z0-9_] becomes ':' (GetPrometheusMetricName); only
`# TYPE` lines; a histogram's buckets are cumulative, `le` the bucket's upper
limit as absl::StrCat prints a double (%g, six digits), the last `+Inf`; then
`_sum` and `_count`. Metrics are sorted by name and points by label values (the
std::maps the collection registry iterates). A metric with no point yet prints
only its `# TYPE` line, as TF Serving's does.

Recording is process-wide, as TensorFlow's monitoring registry is, and off until
a server with a monitoring config starts (`enable()`), so a server without one
pays one boolean test per request. Measured cost: bench/serving.py --observability.
"""

import bisect
import threading
from typing import Dict, List, Sequence, Tuple

_enabled = False


def enable() -> None:
  """Start recording (idempotent; there is no disable, as TF's metrics are never switched off)."""
  global _enabled  # pylint: disable=global-statement
  _enabled = True


def enabled() -> bool:
  return _enabled


def exponential(scale: float, growth: float, count: int) -> Tuple[float, ...]:
  """monitoring::Buckets::Exponential (tensorflow/core/lib/monitoring/sampler.cc ComputeBucketLimits):
  the limits scale * growth**i by repeated multiplication, as C++ computes them."""
  limits, bound = [], scale
  for _ in range(count):
    limits.append(bound)
    bound *= growth
  return tuple(limits)


def prometheus_name(name: str) -> str:
  """prometheus_exporter.cc GetPrometheusMetricName."""
  out = "".join(c if c.isascii() and (c.isalnum() or c == "_") else ":" for c in name)
  return "_" + out if out[:1].isdigit() else out


def _label_name(name: str) -> str:
  """prometheus_exporter.cc SanatizeLabelName."""
  out = "".join(c if c.isascii() and c.isalnum() else "_" for c in name)
  return "_" + out if out[:1].isdigit() else out


def _label_value(value: str) -> str:
  """prometheus_exporter.cc SanitizeLabelValue: backslash and double quote escaped (newline is not)."""
  return value.replace("\\", "\\\\").replace('"', '\\"')


def _double(value: float) -> str:
  """absl::StrCat(double): six significant digits, %g."""
  return "%g" % value


class _Metric:
  kind = ""

  def __init__(self, name: str, labels: Sequence[str]):
    self.name = name
    self.labels = tuple(labels)
    self._lock = threading.Lock()
    self._cells: Dict[Tuple[str, ...], list] = {}

  def _labels(self, values: Tuple[str, ...]) -> str:
    return ",".join(f'{_label_name(n)}="{_label_value(v)}"' for n, v in zip(self.labels, values))

  def snapshot(self) -> Dict[Tuple[str, ...], list]:
    with self._lock:
      return {k: list(v) for k, v in self._cells.items()}


class Counter(_Metric):
  """monitoring::Counter<N>: an int64 per label values."""
  kind = "counter"

  def increment(self, *labels: str, by: int = 1) -> None:
    if not _enabled:
      return
    with self._lock:
      cell = self._cells.get(labels)
      if cell is None:
        self._cells[labels] = [by]
      else:
        cell[0] += by

  def value(self, *labels: str) -> int:
    with self._lock:
      return self._cells.get(labels, [0])[0]

  def lines(self) -> List[str]:
    """SerializeScalar."""
    name = prometheus_name(self.name)
    out = [f"# TYPE {name} counter"]
    for labels, (value,) in sorted(self.snapshot().items()):
      out.append(f"{name}{{{self._labels(labels)}}} {value}")
    return out


class Sampler(_Metric):
  """monitoring::Sampler<N>: a histogram per label values, bucket i counting limit[i-1] <= v < limit[i]
  (lib/histogram/histogram.cc Add: upper_bound), the last bucket up to DBL_MAX."""
  kind = "histogram"

  def __init__(self, name: str, labels: Sequence[str], limits: Tuple[float, ...]):
    super().__init__(name, labels)
    self.limits = limits

  def add(self, *labels: str, value: float) -> None:
    if not _enabled:
      return
    index = bisect.bisect_right(self.limits, value)
    with self._lock:
      cell = self._cells.get(labels)
      if cell is None:  # [sum, bucket 0, ..., bucket n] (n = len(limits): the DBL_MAX bucket)
        cell = self._cells[labels] = [0.0] + [0] * (len(self.limits) + 1)
      cell[0] += value
      cell[index + 1] += 1

  def count(self, *labels: str) -> int:
    with self._lock:
      cell = self._cells.get(labels)
      return sum(cell[1:]) if cell else 0

  def lines(self) -> List[str]:
    """SerializeHistogram."""
    name = prometheus_name(self.name)
    out = [f"# TYPE {name} histogram"]
    for labels, cell in sorted(self.snapshot().items()):
      text = self._labels(labels)
      prefix = f"{name}_bucket{{{text}{',' if text else ''}"
      cumulative = 0
      for i, count in enumerate(cell[1:]):
        cumulative += count
        limit = _double(self.limits[i]) if i < len(self.limits) else "+Inf"
        out.append(f'{prefix}le="{limit}"}} {cumulative}')
      out.append(f"{name}_sum{{{text}}} {_double(cell[0])}")
      out.append(f"{name}_count{{{text}}} {cumulative}")
    return out


_LATENCY_BUCKETS = exponential(10, 1.8, 33)  # "~20 minutes" (util.cc)

# servables/tensorflow/util.cc
REQUEST_COUNT = Counter("/tensorflow/serving/request_count", ("model_name", "status"))
REQUEST_LATENCY = Sampler("/tensorflow/serving/request_latency", ("model_name", "API", "entrypoint"),
                          _LATENCY_BUCKETS)
RUNTIME_LATENCY = Sampler("/tensorflow/serving/runtime_latency", ("model_name", "API", "runtime"),
                          _LATENCY_BUCKETS)
EXAMPLE_COUNTS = Sampler("/tensorflow/serving/request_example_counts", ("model",),
                         exponential(1, 2, 15))
EXAMPLE_COUNT_TOTAL = Counter("/tensorflow/serving/request_example_count_total", ("model",))
# core/request_logger.cc
REQUEST_LOG_COUNT = Counter("/tensorflow/serving/request_log_count", ("model_name", "status_code"))
# servables/tensorflow/saved_model_warmup_util.cc
WARMUP_LATENCY = Sampler("/tensorflow/serving/model_warmup_latency", ("model_path", "status"),
                         _LATENCY_BUCKETS)
WARMUP_RECORDS_READ = Counter("/tensorflow/serving/model_warmup_records_read", ("model_path", "status"))
# batching/batching_session.cc: "~1 second"
QUEUING_LATENCY = Sampler("/tensorflow/serving/batching_session/queuing_latency", ("thread_pool_name",),
                          exponential(100, 1.2, 52))

_ALL = sorted([REQUEST_COUNT, REQUEST_LATENCY, RUNTIME_LATENCY, EXAMPLE_COUNTS, EXAMPLE_COUNT_TOTAL,
               REQUEST_LOG_COUNT, WARMUP_LATENCY, WARMUP_RECORDS_READ, QUEUING_LATENCY],
              key=lambda m: m.name)

RUNTIME = "TF1"  # predict_util.cc, classifier.cc, regressor.cc: a SavedModel session


def status_name(code) -> str:
  """error::Code_Name: the canonical name (OK, INVALID_ARGUMENT, ...) of a grpc.StatusCode."""
  return code.name


def page() -> str:
  """PrometheusExporter::GeneratePage: every metric's lines, '\\n'-joined, with a final newline."""
  lines: List[str] = []
  for metric in _ALL:
    lines.extend(metric.lines())
  return "\n".join(lines) + "\n"
