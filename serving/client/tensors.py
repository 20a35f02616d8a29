"""numpy <-> TensorProto without TensorFlow (serving/client/protos.py: whose TensorProto)."""

import numpy as np

from serving.client.protos import tensor_pb2, tensor_shape_pb2, types_pb2

_TYPES = {np.dtype(np.float32): (types_pb2.DT_FLOAT, "float_val"),
          np.dtype(np.float64): (types_pb2.DT_DOUBLE, "double_val"),
          np.dtype(np.int32): (types_pb2.DT_INT32, "int_val"),
          np.dtype(np.int64): (types_pb2.DT_INT64, "int64_val"),
          np.dtype(np.bool_): (types_pb2.DT_BOOL, "bool_val")}
_FROM = {types_pb2.DT_FLOAT: (np.float32, "float_val"), types_pb2.DT_DOUBLE: (np.float64, "double_val"),
         types_pb2.DT_INT32: (np.int32, "int_val"), types_pb2.DT_INT64: (np.int64, "int64_val"),
         types_pb2.DT_BOOL: (np.bool_, "bool_val"), types_pb2.DT_STRING: (object, "string_val")}


def to_tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
  shape = tensor_shape_pb2.TensorShapeProto(
      dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape])
  if array.dtype.kind in "OSU":
    values = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.reshape(-1).tolist()]
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape, string_val=values)
  dtype, _ = _TYPES[array.dtype]
  return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape,
                                tensor_content=np.ascontiguousarray(array).tobytes())


def to_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
  """Reads tensor_content or the typed *_val fields (TF Serving sends the latter)."""
  shape = [d.size for d in proto.tensor_shape.dim]
  dtype, field = _FROM[proto.dtype]
  if proto.tensor_content:
    return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape)
  values = list(getattr(proto, field))
  size = int(np.prod(shape)) if shape else 1
  if dtype is object:
    array = np.empty(len(values), dtype=object)
    array[:] = values
  else:
    array = np.array(values, dtype=dtype)
  if len(array) < size:  # TF repeats the last value to fill the shape
    array = np.concatenate([array, np.repeat(array[-1:], size - len(array))]) if len(array) else array
  return array.reshape(shape)
