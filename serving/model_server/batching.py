"""Server-side batching: concurrent Predict calls to one signature merged into one TF call.

TF Serving's batching session for `--enable_batching`, field by field of
BatchingParameters (config.BatchingConfig):

- one queue per (servable, signature) (batching_session.cc: a scheduler per
  signature), holding batches; the last one is open. A task joins the open batch
  if its rows fit in `execution_batch_size` (shared_batch_scheduler.h
  ScheduleWithoutOrEagerSplit), else a new batch opens;
- `max_batch_size` is the largest task accepted (GetQueueOptions:
  input_batch_size_limit, bundle_factory_util.h); `max_enqueued_batches` bounds
  the queue (ValidateBatchTaskQueueCapacity: UNAVAILABLE when full; 0 counts as
  1 without splitting, as AddQueue rewrites it);
- `enable_large_batch_splitting`: a task too big for the open batch is split to
  fill it, the rest in batches of `max_execution_batch_size` (default
  max_batch_size) (input_split_metadata.cc); its answer is the parts' outputs
  concatenated, or the first part's error (batching_session.cc SplitInputTask);
- a batch runs when full, or `batch_timeout_micros` after its first task
  arrived, on one of `num_batch_threads` threads named `thread_pool_name`;
- `allowed_batch_sizes`: the merged batch is padded up to the lowest allowed
  size by repeating the first row of the last task (batching_session.cc
  MergeInputTensors, batching_util.cc RoundToLowestAllowedBatchSize);
- `pad_variable_length_inputs`: each task's tensors are padded to the largest
  dims in the batch with their own first element (batching_util.cc AddPadding),
  so tasks whose trailing dims differ merge.

Outputs are split back by rows, padding dropped; results equal unbatched calls
(server_test checks). Two deliberate differences, both for requests TF Serving
would fail: a task that cannot merge with the open batch (other trailing dims
without padding, other dtypes or ranks) opens its own batch instead of failing
the batch with FAILED_PRECONDITION, and a task whose inputs have no common
batch dimension, or a batch whose outputs are not split by rows or that fails,
is run again one task at a time, unbatched (so one bad request fails alone).
"""

import collections
import concurrent.futures
import threading
import time
from typing import Deque, Dict, List, Mapping, Optional, Tuple

import grpc
import numpy as np

from serving.model_server import errors, inference, metrics
from serving.model_server.config import BatchingConfig


def _batch_rows(inputs: Mapping[str, np.ndarray]) -> Optional[int]:
  """The common 0th dimension of the inputs, or None if they have none (run such a task alone)."""
  sizes = {np.shape(v)[0] if np.ndim(v) else None for v in inputs.values()}
  if len(sizes) != 1 or None in sizes:
    return None
  return sizes.pop()


class _Request:
  """One submitted Predict: its future and, when split, its parts' outputs (SplitInputTask)."""

  def __init__(self, parts: int):
    self.future: concurrent.futures.Future = concurrent.futures.Future()
    self._outputs: List[Optional[Dict[str, np.ndarray]]] = [None] * parts
    self._left = parts
    self._lock = threading.Lock()

  def part_done(self, index: int, outputs: Optional[Dict[str, np.ndarray]],
                error: Optional[errors.ServingError] = None) -> None:
    with self._lock:
      if self.future.done():
        return
      if error is not None:
        self.future.set_exception(error)
        return
      self._outputs[index] = outputs
      self._left -= 1
      if self._left:
        return
    if len(self._outputs) == 1:
      self.future.set_result(self._outputs[0])
    else:
      self.future.set_result({k: np.concatenate([o[k] for o in self._outputs])
                              for k in self._outputs[0]})


class _Task:
  """Rows of one request (all of it, or one part of a split one) queued for a batch."""

  def __init__(self, servable, signature: str, inputs: Mapping[str, np.ndarray],
               request: _Request, index: int = 0, rows: Optional[int] = None):
    self.servable, self.signature, self.inputs = servable, signature, dict(inputs)
    self.request, self.index, self.rows = request, index, rows
    self.enqueued = time.perf_counter()  # batching_session.cc BatchingSessionTask enqueue_time_micros

  def done(self, outputs=None, error=None) -> None:
    self.request.part_done(self.index, outputs, error)

  def run_alone(self) -> None:
    """The unbatched call: exactly what the server answers with batching off."""
    try:
      self.done(inference.predict(self.servable, self.signature, self.inputs))
    except errors.ServingError as e:
      self.done(error=e)


class _Batch:
  def __init__(self):
    self.tasks: List[_Task] = []
    self.rows = 0
    self.opened = 0.0  # when the first task arrived (open_batch_start_time_micros_)

  def add(self, task: _Task) -> None:
    if not self.tasks:
      self.opened = time.monotonic()
    self.tasks.append(task)
    self.rows += task.rows or 0


def split_sizes(rows: int, open_batch_remaining: int, limit: int) -> List[int]:
  """input_split_metadata.cc generate_task_sizes: fill the open batch, then `limit` rows each."""
  if rows <= open_batch_remaining:
    return [rows]
  from_open = rows + limit - open_batch_remaining if open_batch_remaining > 0 else rows
  count = (from_open + limit - 1) // limit
  sizes = [limit] * count
  sizes[0] = min(open_batch_remaining, rows) if open_batch_remaining > 0 else min(rows, limit)
  sizes[-1] = from_open % limit or limit
  return sizes


def round_to_allowed(allowed: Tuple[int, ...], rows: int) -> int:
  """batching_util.cc RoundToLowestAllowedBatchSize."""
  return next((size for size in allowed if size >= rows), rows)


def _pad_to(array: np.ndarray, dims: List[int]) -> np.ndarray:
  """batching_util.cc AddPadding: pad after each non-batch dim to `dims`, with the first element."""
  widths = [(0, 0)] + [(0, want - have) for want, have in zip(dims[1:], array.shape[1:])]
  if not any(after for _, after in widths):
    return array
  if array.ndim > 6:
    raise errors.invalid("Only tensors with rank from 1 to 6 can be padded.")
  if array.size < 1:
    raise errors.invalid("Got empty tensor in batch of non-empty tensors.")
  return np.pad(array, widths, mode="constant", constant_values=array.flat[0])


class Batcher:
  """The batch queues and threads; submit() from any thread, stop() once."""

  def __init__(self, config: BatchingConfig):
    self.config = config
    self._limit = config.execution_batch_size
    # shared_batch_scheduler.h AddQueue: without splitting 0 is rewritten to 1.
    self._max_batches = max(1, config.max_enqueued_batches)
    self._queues: Dict[Tuple[int, str], Deque[_Batch]] = {}
    self._cv = threading.Condition()
    self._stopped = False
    self._threads = [threading.Thread(target=self._loop, name=f"{config.thread_pool_name}-{i}",
                                      daemon=True) for i in range(config.num_batch_threads)]
    for thread in self._threads:
      thread.start()

  def run(self, servable, signature: str, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """submit() and wait: a Predict's outputs, or its ServingError."""
    return self.submit(servable, signature, inputs, api="Predict").result()

  def submit(self, servable, signature: str, inputs: Mapping[str, np.ndarray],
             api: Optional[str] = None) -> concurrent.futures.Future:
    """Queues a Predict; with `api` its success adds runtime_latency from here to its outputs, as
    predict_util.cc times BatchingSession::Run (queueing included) for each request."""
    future = self._submit(servable, signature, inputs)
    if api is not None:
      started = time.perf_counter()

      def record(done: concurrent.futures.Future) -> None:
        if done.exception() is None:
          metrics.RUNTIME_LATENCY.add(servable.name, api, metrics.RUNTIME,
                                      value=(time.perf_counter() - started) * 1e6)
      future.add_done_callback(record)
    return future

  def _submit(self, servable, signature: str,
              inputs: Mapping[str, np.ndarray]) -> concurrent.futures.Future:
    rows = _batch_rows(inputs)
    if rows is not None and rows > self.config.max_batch_size:
      raise errors.invalid(f"Task size {rows} is larger than maximum input batch size "
                           f"{self.config.max_batch_size}")
    with self._cv:
      if self._stopped:
        raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, "the server is stopping")
      queue = self._queues.setdefault((id(servable), signature), collections.deque())
      if not queue:
        queue.append(_Batch())
      self._check_capacity(queue, rows or 0)
      remaining = self._limit - queue[-1].rows
      if rows and self.config.enable_large_batch_splitting and rows > remaining:
        sizes = split_sizes(rows, remaining, self._limit)
      else:
        sizes = [rows]
      request = _Request(len(sizes))
      start = 0
      for index, size in enumerate(sizes):
        part = inputs if len(sizes) == 1 else {k: v[start:start + size] for k, v in inputs.items()}
        start += size or 0
        self._enqueue(queue, _Task(servable, signature, part, request, index, size))
      self._cv.notify_all()
    return request.future

  def _check_capacity(self, queue: Deque[_Batch], rows: int) -> None:
    """shared_batch_scheduler.h ValidateBatchTaskQueueCapacity."""
    if self.config.enable_large_batch_splitting:
      capacity = (self._max_batches - len(queue)) * self._limit + (self._limit - queue[-1].rows)
      if rows > capacity:
        raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, (
            "The batch scheduling queue to which this task was submitted is full; task size is "
            f"{rows} but scheduling capacity is only {capacity}"))
    elif queue[-1].rows + rows > self.config.max_batch_size and len(queue) >= self._max_batches:
      raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, (
          "The batch scheduling queue to which this task was submitted is full; currently "
          f"{len(queue)} batches enqueued and max_enqueued_batches is {self._max_batches}"))

  def _enqueue(self, queue: Deque[_Batch], task: _Task) -> None:
    open_batch = queue[-1]
    if open_batch.tasks and (task.rows is None or open_batch.tasks[0].rows is None
                             or open_batch.rows + task.rows > self._limit
                             or not self._mergeable(open_batch.tasks[0], task)):
      open_batch = _Batch()
      queue.append(open_batch)
    open_batch.add(task)
    if task.rows is None:  # no batch dimension: a batch of its own, closed at once
      queue.append(_Batch())

  def _mergeable(self, first: _Task, task: _Task) -> bool:
    if set(first.inputs) != set(task.inputs):
      return False
    for name, value in task.inputs.items():
      other = first.inputs[name]
      if value.dtype != other.dtype or value.ndim != other.ndim:
        return False
      if not self.config.pad_variable_length_inputs and value.shape[1:] != other.shape[1:]:
        return False
    return True

  def stop(self) -> None:
    with self._cv:
      self._stopped = True
      self._cv.notify_all()
    for thread in self._threads:
      thread.join(timeout=10)

  def _schedulable(self, queue: Deque[_Batch], now: float) -> bool:
    """A batch before the open one (closed), or the open one when full or timed out."""
    if len(queue) > 1:
      return bool(queue[0].tasks)
    head = queue[0]
    return bool(head.tasks) and (head.rows >= self._limit or self._stopped or
                                 now >= head.opened + self.config.batch_timeout_micros / 1e6)

  def _take_batch(self) -> Optional[_Batch]:
    """Blocks for the schedulable batch that opened first (None once stopped and drained)."""
    with self._cv:
      while True:
        now = time.monotonic()
        ready = [q for q in self._queues.values() if q and self._schedulable(q, now)]
        if ready:
          queue = min(ready, key=lambda q: q[0].opened)
          batch = queue.popleft()
          if not queue:
            queue.append(_Batch())
          dequeued = time.perf_counter()
          for task in batch.tasks:  # batching_session.cc ProcessBatch: per task, µs
            metrics.QUEUING_LATENCY.add(self.config.thread_pool_name,
                                        value=(dequeued - task.enqueued) * 1e6)
          return batch
        if self._stopped:
          return None
        opened = [q[-1].opened for q in self._queues.values() if q and q[-1].tasks]
        wait = (min(opened) + self.config.batch_timeout_micros / 1e6 - now) if opened else None
        self._cv.wait(wait)

  def _loop(self) -> None:
    while True:
      batch = self._take_batch()
      if batch is None:
        return
      self._run(batch)

  def _run(self, batch: _Batch) -> None:
    """batching_session.cc ProcessBatch: merge (and pad), run once, split the outputs by rows."""
    tasks = batch.tasks
    first = tasks[0]
    if first.rows is None:
      first.run_alone()
      return
    padded = round_to_allowed(self.config.allowed_batch_sizes, batch.rows)
    if len(tasks) == 1 and padded == batch.rows:
      first.run_alone()
      return
    try:
      outputs = inference.predict(first.servable, first.signature,
                                  self._merge(tasks, padded - batch.rows))
    except errors.ServingError:
      outputs = None
    if outputs is None or any(np.ndim(v) < 1 or len(v) != padded for v in outputs.values()):
      for task in tasks:  # one bad request must not fail the others; odd outputs run unbatched
        task.run_alone()
      return
    start = 0
    for task in tasks:
      task.done({k: v[start:start + task.rows] for k, v in outputs.items()})
      start += task.rows

  def _merge(self, tasks: List[_Task], padding: int) -> Dict[str, np.ndarray]:
    """batching_session.cc MergeInputTensors."""
    merged = {}
    for name in tasks[0].inputs:
      parts = [t.inputs[name] for t in tasks]
      if self.config.pad_variable_length_inputs:  # batching_util.cc CalculateMaxDimSizes
        dims = list(np.max([p.shape for p in parts], axis=0))
        parts = [_pad_to(p, dims) for p in parts]
      if padding:  # the last task's first row, repeated: a valid row, so safe to run
        parts.append(np.repeat(parts[-1][:1], padding, axis=0))
      merged[name] = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return merged
