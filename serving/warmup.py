"""TF Serving warmup requests: written into every exported model, replayed before serving.

TF Serving replays `assets.extra/tf_serving_warmup_requests` (an uncompressed
TFRecord of `tensorflow.serving.PredictionLog`, at most 1,000 records) after
loading a version and before marking it AVAILABLE, so the first real request
does not pay for graph initialisation; a warmup error keeps the version from
loading (servables/tensorflow/saved_model_warmup.cc). The Trainer writes them
into every exported model (each model module builds a few requests from real
eval examples, one per signature a client may call); the project's model server
replays them as TF Serving does, and the pipeline's infra-validation gate sends
them as its canary requests. TensorFlow and the TF Serving protos only, no TFX.
"""

import os
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, input_pb2, predict_pb2, prediction_log_pb2,
                                     regression_pb2)

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving's kMaxNumRecords


def warmup_path(saved_model_dir: str) -> str:
  return os.path.join(saved_model_dir, ASSETS_EXTRA, WARMUP_FILE)


def predict_log(signature: str, inputs: Dict[str, np.ndarray]) -> prediction_log_pb2.PredictionLog:
  request = predict_pb2.PredictRequest()
  request.model_spec.signature_name = signature
  for name, value in inputs.items():
    request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
  return prediction_log_pb2.PredictionLog(
      predict_log=prediction_log_pb2.PredictLog(request=request))


def _examples_input(serialized: Sequence[bytes]) -> input_pb2.Input:
  examples = input_pb2.ExampleList(examples=[tf.train.Example.FromString(s) for s in serialized])
  return input_pb2.Input(example_list=examples)


def classify_log(signature: str, serialized: Sequence[bytes]) -> prediction_log_pb2.PredictionLog:
  request = classification_pb2.ClassificationRequest(input=_examples_input(serialized))
  request.model_spec.signature_name = signature
  return prediction_log_pb2.PredictionLog(
      classify_log=prediction_log_pb2.ClassifyLog(request=request))


def regress_log(signature: str, serialized: Sequence[bytes]) -> prediction_log_pb2.PredictionLog:
  request = regression_pb2.RegressionRequest(input=_examples_input(serialized))
  request.model_spec.signature_name = signature
  return prediction_log_pb2.PredictionLog(
      regress_log=prediction_log_pb2.RegressLog(request=request))


def write(saved_model_dir: str, logs: Sequence[prediction_log_pb2.PredictionLog]) -> str:
  """Writes the records where TF Serving looks for them; returns the path."""
  if not 0 < len(logs) <= MAX_RECORDS:
    raise ValueError(f"{len(logs)} warmup records; TF Serving accepts 1 to {MAX_RECORDS}")
  path = warmup_path(saved_model_dir)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path) as writer:
    for log in logs:
      writer.write(log.SerializeToString())
  return path


def read(saved_model_dir: str) -> List[prediction_log_pb2.PredictionLog]:
  """The warmup records of a SavedModel ([] if it has none)."""
  path = warmup_path(saved_model_dir)
  if not tf.io.gfile.exists(path):
    return []
  return [prediction_log_pb2.PredictionLog.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(path)]


def first_examples(file_patterns: Sequence[str], count: int) -> List[bytes]:
  """The first `count` serialized records of the (gzipped TFRecord) files, in file order."""
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise ValueError(f"no example files match {list(file_patterns)}")
  dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(count)
  return [r.numpy() for r in dataset]
