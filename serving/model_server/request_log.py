"""Request logging as TF Serving's `logging_config` describes it: sampled PredictionLogs in TFRecord files.

A model's entry in model_config_list may carry (config/logging_config.proto,
config/log_collector_config.proto)

  logging_config {
    log_collector_config { type: "tfrecord" filename_prefix: "/logs/mnist" }
    sampling_config { sampling_rate: 0.1 }
  }

and then a uniformly random `sampling_rate` fraction of that model's
*successful* Predict, Classify, Regress and MultiInference requests, over REST
and gRPC alike, is logged (core/request_logger.cc Log). TF Serving's open-source
build registers no collector type, so there such a config fails (#408); this
server registers two:

  type "tfrecord"        uncompressed TFRecord files, named <prefix>-<start>-<pid>-<n>.tfrecord
  type "tfrecord_gzip"   GZIP TFRecord files,         named <prefix>-<start>-<pid>-<n>.tfrecord.gz

where <prefix> is filename_prefix exactly as written (its directory is created
at start-up), <start> the UTC time the file was opened as YYYYMMDDTHHMMSSZ,
<pid> the server's process id and <n> a five-digit sequence number counting
from 00000 per prefix and process, e.g. /logs/mnist-20261202T134512Z-4242-00000.tfrecord.gz.
Names sort in the order the files were opened; every file whose name starts
with the prefix is one of them, finished or being written; a reader picks
compression by the `.gz` suffix. A file is closed and the next opened when it
reaches --request-log-max-file-bytes or --request-log-max-file-seconds.

Each record is one serialized tensorflow.serving.PredictionLog
(apis/prediction_log.proto): `log_metadata` has model_spec (name, the version
that answered, the signature key that ran), the model's sampling_config,
saved_model_tags ["serve"] (request_logger.cc) and timestamp_secs (when the
request was answered); then the one of predict_log / classify_log /
regress_log / multi_inference_log with the request as received and the
response as sent. REST requests are logged as the gRPC messages TF Serving
converts them to (http_rest_api_handler.cc): a :predict body is a
PredictRequest whose inputs are TensorProtos of the signature's dtypes
(typed *_val fields, as json_tensor.cc FillPredictRequestFromJson fills them)
and whose model_spec names the version or label of the URL and the body's
signature_name; :classify/:regress bodies are Classification/RegressionRequests
of tf.Examples (example_list_with_context when the body has a context).

A background duty never fails a foreground request: the request thread only
decides the sample and queues a closure (bounded: --request-log-queue records);
a writer thread per model builds, serializes and writes the records. Every
FLUSH_INTERVAL_S (0.25 s) whatever is queued is written, in one write() per
batch, so records reach the file within 0.25 s plus the write (inside 1 s;
SIGKILL loses at most those queued) and a SIGKILLed server leaves each file
readable up to its last complete record: a write() to a regular file is not torn
by a signal, GZIP files get a Z_SYNC_FLUSH per batch, and a failed (e.g. short,
disk full) write is cut back to the last whole record and that file abandoned
for a new one. SIGTERM/SIGINT drain the queue and close every file (GZIP with its
trailer). Each sampled record counts once in
:tensorflow:serving:request_log_count{model_name,status_code} (request_logger.cc):
OK once written; UNAVAILABLE when the queue was full (dropped at once, as the
batch queue's overflow is UNAVAILABLE); the write error's code otherwise
(ENOSPC is RESOURCE_EXHAUSTED, as tsl/platform/errors.cc maps errnos).
"""

import datetime
import errno
import logging
import os
import queue
import random
import struct
import threading
import time
import zlib
from typing import Callable, List, Optional

import google_crc32c
from tensorflow_serving.config import logging_config_pb2  # light: config.py checks with this module

from serving.model_server import metrics

COLLECTOR_TYPES = {"tfrecord": ".tfrecord", "tfrecord_gzip": ".tfrecord.gz"}
SAVED_MODEL_TAGS = ("serve",)
DEFAULT_MAX_FILE_BYTES = 64 << 20
DEFAULT_MAX_FILE_SECONDS = 3600.0
DEFAULT_QUEUE_RECORDS = 10000
_BATCH_RECORDS = 512  # records serialized per write() at most
FLUSH_INTERVAL_S = 0.25  # queued records are written this often: on disk well within 1 s
log = logging.getLogger("mnist_tfx.model_server")

# tsl/platform/errors.cc ErrnoToCode, the errnos a log file write meets.
_ERRNO_CODE = {errno.ENOSPC: "RESOURCE_EXHAUSTED", errno.EDQUOT: "RESOURCE_EXHAUSTED",
               errno.EFBIG: "OUT_OF_RANGE", errno.EACCES: "PERMISSION_DENIED",
               errno.EPERM: "PERMISSION_DENIED", errno.EROFS: "PERMISSION_DENIED",
               errno.ENOENT: "NOT_FOUND", errno.ENOTDIR: "FAILED_PRECONDITION",
               errno.EIO: "UNKNOWN", errno.EBADF: "FAILED_PRECONDITION"}


def _masked_crc(data: bytes) -> int:
  """TFRecord's masked CRC-32C (tensorflow/core/lib/hash/crc32c.h Mask)."""
  crc = google_crc32c.value(data)
  return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_frame(data: bytes) -> bytes:
  """One TFRecord record (core/lib/io/record_writer.cc): length, its CRC, data, its CRC."""
  header = struct.pack("<Q", len(data))
  return b"".join((header, struct.pack("<I", _masked_crc(header)), data,
                   struct.pack("<I", _masked_crc(data))))


def error_code(error: BaseException) -> str:
  if isinstance(error, OSError):
    return _ERRNO_CODE.get(error.errno, "UNKNOWN")
  return "INTERNAL"


class _File:
  """One open log file: whole batches written with os.write, cut back to the last batch on error."""

  def __init__(self, path: str, gzip: bool):
    self.path = path
    self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    self.size = 0
    self.opened = time.monotonic()
    self._zlib = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None

  def write(self, records: bytes) -> None:
    data = records if self._zlib is None else (
        self._zlib.compress(records) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
    self._write_all(data)

  def _write_all(self, data: bytes) -> None:
    view, good = memoryview(data), self.size
    try:
      while view:
        written = os.write(self.fd, view)
        view = view[written:]
        self.size += written
    except OSError:
      self.size = good
      try:
        os.ftruncate(self.fd, good)  # the file ends at its last complete record again
      except OSError:
        pass
      raise

  def close(self) -> None:
    try:
      if self._zlib is not None:
        self._write_all(self._zlib.flush(zlib.Z_FINISH))  # the gzip trailer: a cleanly closed file
    finally:
      os.close(self.fd)


class RequestLogger:
  """One model's logging_config: sample on the request thread, write on this logger's thread."""

  def __init__(self, model_name: str, collector_type: str, filename_prefix: str, sampling_rate: float,
               max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
               max_file_seconds: float = DEFAULT_MAX_FILE_SECONDS,
               queue_records: int = DEFAULT_QUEUE_RECORDS):
    self.model_name = model_name
    self.prefix = filename_prefix
    self.sampling_rate = sampling_rate
    self._suffix = COLLECTOR_TYPES[collector_type]
    self._gzip = collector_type == "tfrecord_gzip"
    self._max_bytes, self._max_seconds = max_file_bytes, max_file_seconds
    self._sampling_config = logging_config_pb2.SamplingConfig(sampling_rate=sampling_rate)
    self._queue: "queue.Queue[Callable]" = queue.Queue(maxsize=max(1, queue_records))
    self._stopping = threading.Event()
    self._random = random.Random()
    self._file: Optional[_File] = None
    self._sequence = 0
    self.files: List[str] = []
    self._thread = threading.Thread(target=self._loop, name=f"request-log-{model_name}", daemon=True)
    self._thread.start()

  def sampled(self) -> bool:
    """request_logger.cc uniform_sampler_.Sample(sampling_rate)."""
    rate = self.sampling_rate
    return rate >= 1.0 or (rate > 0.0 and self._random.random() < rate)

  def submit(self, build: Callable) -> None:
    """Queues a sampled request's log: `build()` returns its PredictionLog, called later on the
    writer thread, so the request pays for neither protos nor serialization. Never raises."""
    try:
      self._queue.put_nowait(build)
    except queue.Full:
      metrics.REQUEST_LOG_COUNT.increment(self.model_name, "UNAVAILABLE")

  def close(self) -> None:
    """Writes what is queued, closes the file; safe twice."""
    self._stopping.set()
    self._thread.join(timeout=30)

  # --- the writer thread -------------------------------------------------------------------

  def _loop(self) -> None:
    """Every FLUSH_INTERVAL_S: everything queued, in batches of one write() each.

    Waking on a timer, not on each record: a writer woken per record asks for the GIL
    right after every answer and the next request waits up to the 1 ms switch interval
    for it (bench/serving.py --observability measured the cost of waking per record).
    """
    while True:
      stopping = self._stopping.wait(FLUSH_INTERVAL_S)
      batch: List[Callable] = []
      while True:
        try:
          batch.append(self._queue.get_nowait())
        except queue.Empty:
          break
      for start in range(0, len(batch), _BATCH_RECORDS):
        self._write(batch[start:start + _BATCH_RECORDS])
      self._rotate_if_due()
      if stopping and self._queue.empty():
        break
    self._close_file()

  def _record(self, build) -> bytes:
    entry = build()
    metadata = entry.log_metadata
    metadata.sampling_config.CopyFrom(self._sampling_config)
    metadata.saved_model_tags[:] = SAVED_MODEL_TAGS
    return tfrecord_frame(entry.SerializeToString())

  def _write(self, batch: List[Callable]) -> None:
    records = []
    for build in batch:
      try:
        records.append(self._record(build))
      except Exception:  # pylint: disable=broad-except
        log.exception("request log: a record of %s could not be built", self.model_name)
        metrics.REQUEST_LOG_COUNT.increment(self.model_name, "INTERNAL")
    if not records:
      return
    try:
      if self._file is None:
        self._open()
      self._file.write(b"".join(records))
    except Exception as e:  # pylint: disable=broad-except
      metrics.REQUEST_LOG_COUNT.increment(self.model_name, error_code(e), by=len(records))
      self._warn(e)
      self._close_file()  # a GZIP stream that lost bytes cannot go on; a new file next time
      return
    metrics.REQUEST_LOG_COUNT.increment(self.model_name, "OK", by=len(records))

  _last_warning = 0.0

  def _warn(self, error: BaseException) -> None:
    now = time.monotonic()
    if now - self._last_warning > 60:  # a full disk would otherwise log on every batch
      self._last_warning = now
      log.warning("request log %s*: records dropped: %s", self.prefix, error)

  def _open(self) -> None:
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = f"{self.prefix}-{started}-{os.getpid()}-{self._sequence:05d}{self._suffix}"
    self._sequence += 1
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # if removed since start-up
    self._file = _File(path, self._gzip)
    self.files.append(path)

  def _rotate_if_due(self) -> None:
    f = self._file
    if f is not None and (f.size >= self._max_bytes or time.monotonic() - f.opened >= self._max_seconds):
      self._close_file()

  def _close_file(self) -> None:
    f, self._file = self._file, None
    if f is None:
      return
    try:
      f.close()
    except OSError as e:
      self._warn(e)


def check_prefix(filename_prefix: str) -> Optional[str]:
  """Creates the prefix's directory; the problem in one line, or None (start-up refuses a bad prefix)."""
  if not filename_prefix:
    return "filename_prefix is empty"
  directory = os.path.dirname(os.path.abspath(filename_prefix))
  try:
    os.makedirs(directory, exist_ok=True)
  except OSError as e:
    return f"cannot create the directory {directory} of filename_prefix {filename_prefix}: {e.strerror}"
  if not os.access(directory, os.W_OK | os.X_OK):
    return f"the directory {directory} of filename_prefix {filename_prefix} is not writable"
  if filename_prefix.endswith(os.sep):
    return f"filename_prefix {filename_prefix} is a directory; add a file name prefix, e.g. {filename_prefix}requests"
  return None
