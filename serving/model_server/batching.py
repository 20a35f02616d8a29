"""Server-side batching: concurrent Predict calls to one signature merged into one TF call.

As TF Serving's batching session does for `--enable_batching`: requests queue per
(servable, signature); a batch thread takes the oldest request, waits at most
`batch_timeout_micros` for more, up to `max_batch_size` rows, concatenates the
inputs along the batch dimension, runs once and splits the outputs back. Results
are those of unbatched calls (the test checks); requests that cannot be merged
(other trailing shapes or dtypes) run on their own.
"""

import concurrent.futures
import threading
import time
from typing import Dict, List, Mapping, Tuple

import grpc
import numpy as np

from serving.model_server import errors, inference
from serving.model_server.config import BatchingConfig


class _Task:
  def __init__(self, servable, signature: str, inputs: Mapping[str, np.ndarray], grpc_api: bool):
    self.servable, self.signature, self.inputs, self.grpc_api = servable, signature, inputs, grpc_api
    self.rows = min((len(v) if np.ndim(v) else 0) for v in inputs.values()) if inputs else 0
    self.future: concurrent.futures.Future = concurrent.futures.Future()
    self.enqueued = time.monotonic()

  @property
  def key(self) -> Tuple[int, str]:
    return id(self.servable), self.signature

  def mergeable_with(self, other: "_Task") -> bool:
    if set(self.inputs) != set(other.inputs):
      return False
    return all(np.ndim(self.inputs[k]) >= 1 and self.inputs[k].shape[1:] == other.inputs[k].shape[1:]
               and self.inputs[k].dtype == other.inputs[k].dtype for k in self.inputs)


class Batcher:

  def __init__(self, config: BatchingConfig):
    self.config = config
    self._queue: List[_Task] = []
    self._cv = threading.Condition()
    self._stopped = False
    self._threads = [threading.Thread(target=self._loop, name=f"batch-{i}", daemon=True)
                     for i in range(config.num_batch_threads)]
    for thread in self._threads:
      thread.start()

  def submit(self, servable, signature: str, inputs: Mapping[str, np.ndarray],
             grpc_api: bool) -> concurrent.futures.Future:
    task = _Task(servable, signature, inputs, grpc_api)
    if task.rows > self.config.max_batch_size:
      raise errors.invalid(f"Task size {task.rows} is larger than maximum input batch size "
                           f"{self.config.max_batch_size}")
    with self._cv:
      queued = sum(t.rows for t in self._queue)
      if queued + task.rows > self.config.max_batch_size * self.config.max_enqueued_batches:
        raise errors.ServingError(grpc.StatusCode.UNAVAILABLE, "The batch scheduling queue to which "
                                  "this task was submitted is full")
      self._queue.append(task)
      self._cv.notify()
    return task.future

  def stop(self) -> None:
    with self._cv:
      self._stopped = True
      self._cv.notify_all()

  def _take_batch(self) -> List[_Task]:
    """Blocks for the oldest task, then waits up to the timeout for more of its kind."""
    timeout = self.config.batch_timeout_micros / 1e6
    with self._cv:
      while not self._queue and not self._stopped:
        self._cv.wait()
      if self._stopped:
        return []
      first = self._queue[0]
      while True:
        batch = [first]
        rows = first.rows
        for task in self._queue[1:]:
          if task.key == first.key and first.mergeable_with(task) and rows + task.rows <= self.config.max_batch_size:
            batch.append(task)
            rows += task.rows
        remaining = first.enqueued + timeout - time.monotonic()
        if rows >= self.config.max_batch_size or remaining <= 0 or self._stopped:
          break
        self._cv.wait(remaining)
      for task in batch:
        self._queue.remove(task)
      return batch

  def _loop(self) -> None:
    while True:
      batch = self._take_batch()
      if not batch:
        return
      self._run(batch)

  @staticmethod
  def _run(batch: List[_Task]) -> None:
    first = batch[0]
    try:
      merged = {k: np.concatenate([t.inputs[k] for t in batch]) if len(batch) > 1 else first.inputs[k]
                for k in first.inputs}
      outputs = inference.predict(first.servable, first.signature, merged, grpc_api=first.grpc_api)
    except errors.ServingError as e:
      if len(batch) == 1:
        first.future.set_exception(e)
        return
      for task in batch:  # one bad request must not fail the others: run each alone
        Batcher._run([task])
      return
    total = sum(t.rows for t in batch)
    if any(np.ndim(v) < 1 or len(v) != total for v in outputs.values()):
      if len(batch) == 1:
        first.future.set_result(outputs)
      else:
        for task in batch:
          Batcher._run([task])
      return
    start = 0
    for task in batch:
      task.future.set_result({k: v[start:start + task.rows] for k, v in outputs.items()})
      start += task.rows
