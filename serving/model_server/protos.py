"""TF Serving's gRPC messages: TensorProtos in and out, results, request logs, and warmup replay."""

from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from serving.model_server import errors, inference

MAX_WARMUP_RECORDS = 1000  # saved_model_warmup_util.cc kMaxNumRecords

# Tensor::AsProtoField: typed repeated fields, not tensor_content (what TF Serving sends).
_FIELD = {np.float32: "float_val", np.float64: "double_val", np.int32: "int_val",
          np.int16: "int_val", np.int8: "int_val", np.uint8: "int_val", np.uint16: "int_val",
          np.int64: "int64_val", np.uint32: "uint32_val", np.uint64: "uint64_val",
          np.bool_: "bool_val", np.object_: "string_val", np.bytes_: "string_val"}


def to_tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
  array = np.asarray(array)
  field = _FIELD.get(array.dtype.type)
  if field is None:
    return tf.make_tensor_proto(array)
  dtype = tf.string if field == "string_val" else tf.as_dtype(array.dtype)
  proto = tensor_pb2.TensorProto(dtype=dtype.as_datatype_enum, tensor_shape=tensor_shape_pb2.TensorShapeProto(
      dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape]))
  values = array.reshape(-1).tolist()
  if field == "string_val":
    values = [v if isinstance(v, bytes) else str(v).encode() for v in values]
  getattr(proto, field).extend(values)
  return proto


def from_tensor_proto(proto: tensor_pb2.TensorProto, name: str) -> np.ndarray:
  try:
    return tf.make_ndarray(proto)
  except (TypeError, ValueError) as e:
    raise errors.invalid(f"tensor parsing error: {name}") from e


def input_arrays(inputs: Mapping[str, tensor_pb2.TensorProto]) -> Dict[str, np.ndarray]:
  return {name: from_tensor_proto(proto, name) for name, proto in inputs.items()}


def serialized_examples(model_input) -> List[bytes]:
  """tensorflow.serving.Input -> serialized tf.Examples (context merged, as util.cc does)."""
  which = model_input.WhichOneof("kind")
  if which == "example_list":
    return [e.SerializeToString() for e in model_input.example_list.examples]
  if which == "example_list_with_context":
    context = model_input.example_list_with_context.context.SerializeToString()
    return [context + e.SerializeToString() for e in model_input.example_list_with_context.examples]
  raise errors.invalid("Input is empty.")


def multi_inference_tasks(request) -> List[Tuple[str, str]]:
  """A MultiInferenceRequest's (signature name, method name) per task, for inference.multi_inference."""
  return [(task.model_spec.signature_name, task.method_name) for task in request.tasks]


def fill_classifications(result, classifications) -> None:
  """ClassificationResult from inference.classify's (label, score) lists; None = not output."""
  for classes in classifications:
    classification = result.classifications.add()
    for label, score in classes:
      entry = classification.classes.add()
      if label is not None:
        entry.label = label
      if score is not None:
        entry.score = score


def fill_regressions(result, values) -> None:
  for value in values:
    result.regressions.add(value=value)


def fill_spec(target, servable, signature_name: Optional[str]) -> None:
  """A response's model_spec: the name, the version that answered, the signature that ran."""
  target.name = servable.name
  target.version.value = servable.version
  if signature_name is not None:
    target.signature_name = signature_name


def prediction_log(kind: str, request, response, servable, signature_name: Optional[str],
                   timestamp: float):
  """A tensorflow.serving.PredictionLog of one answered request (apis/prediction_log.proto).

  `kind` is the log_type field: predict_log, classify_log, regress_log or
  multi_inference_log. log_metadata.model_spec names the version that answered and
  the signature that ran (None: several, a MultiInference); request_log.py adds
  the sampling_config and saved_model_tags as core/request_logger.cc does.
  """
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel
  log = prediction_log_pb2.PredictionLog()
  fill_spec(log.log_metadata.model_spec, servable, signature_name)
  log.log_metadata.timestamp_secs = int(timestamp)
  entry = getattr(log, kind)
  entry.request.CopyFrom(request)
  entry.response.CopyFrom(response)
  return log


def replay_warmup(servable: inference.Servable, logs: List) -> None:
  """Runs each warmup record against the servable; any error fails the load (saved_model_warmup.cc)."""
  for count, log in enumerate(logs, start=1):
    if count > MAX_WARMUP_RECORDS:
      raise errors.invalid(f"Number of warmup records exceeds the maximum ({MAX_WARMUP_RECORDS}) "
                           f"at {servable.path}")
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
      request = log.predict_log.request
      inference.predict(servable, request.model_spec.signature_name, input_arrays(request.inputs),
                        list(request.output_filter))
    elif kind == "classify_log":
      request = log.classify_log.request
      inference.classify(servable, request.model_spec.signature_name, serialized_examples(request.input))
    elif kind == "regress_log":
      request = log.regress_log.request
      inference.regress(servable, request.model_spec.signature_name, serialized_examples(request.input))
    elif kind == "multi_inference_log":
      request = log.multi_inference_log.request
      inference.multi_inference(servable, multi_inference_tasks(request),
                                serialized_examples(request.input))
    elif kind is not None:
      number = log.DESCRIPTOR.fields_by_name[kind].number
      raise errors.ServingError(errors.grpc.StatusCode.UNIMPLEMENTED,
                                f"Unsupported log_type for warmup: {number}")
