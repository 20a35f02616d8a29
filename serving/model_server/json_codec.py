"""TF Serving's REST JSON: request bodies to tensors and tf.Examples, tensors to response JSON.

A port of tensorflow_serving/util/json_tensor.cc's rules: row (`instances`) and
columnar (`inputs`) formats, `{"b64": ...}` strings, typing by the signature's
dtypes, raggedness checks, `_bytes` outputs as base64, floats written as
rapidjson's WriteDecimal writes them (6 significant digits unless that does not
round-trip), and the same error messages. Parse errors come before model lookup.
"""

import base64
import binascii
import json
import math
from typing import Any, Dict, List, Mapping, Tuple

import grpc
import numpy as np
import tensorflow as tf

from serving.model_server import errors


def _json_int(text: str):
  """An integer as rapidjson types it: int64/uint64 if it fits, else a double (too big: an error)."""
  value = int(text)
  if -2**63 <= value < 2**64:
    return value
  number = float(text)
  if math.isinf(number):
    raise ValueError(text)
  return number


_DECODER = json.JSONDecoder(parse_int=_json_int)


def _debug(value: Any) -> str:
  text = json.dumps(value, allow_nan=True)
  return text if len(text) <= 256 else text[:256] + "..."


def parse_body(body: bytes) -> Dict[str, Any]:
  """The request's JSON object; trailing content after it is ignored, as rapidjson does."""
  try:
    text = body.decode("utf-8")
  except UnicodeDecodeError as e:
    raise errors.invalid(f"JSON Parse error: Invalid encoding in string. at offset: {e.start}") from None
  stripped = text.lstrip()
  if not stripped:
    raise errors.invalid("JSON Parse error: The document is empty")
  try:
    value, _ = _DECODER.raw_decode(stripped)
  except json.JSONDecodeError as e:
    raise errors.invalid(f"JSON Parse error: {e.msg} at offset: {e.pos + len(text) - len(stripped)}") from None
  except ValueError:  # _json_int's, or int()'s limit on digits
    raise errors.invalid("JSON Parse error: Number too big to be stored in double") from None
  if not isinstance(value, dict):
    raise errors.invalid(f"JSON Value: {_debug(value)} Is not object")
  return value


def signature_name(body: Mapping[str, Any]) -> str:
  name = body.get("signature_name", "")
  if not isinstance(name, str):
    raise errors.invalid(f"JSON Value: {_debug(body)} not formatted correctly. 'signature_name' key "
                         "must be a string value.")
  return name


def _is_b64(value: Any) -> bool:
  return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _json_type(value: Any) -> str:
  if value is None:
    return "Null"
  if value is True:
    return "True"
  if value is False:
    return "False"
  if isinstance(value, dict):
    return "Object"
  if isinstance(value, list):
    return "Array"
  if isinstance(value, str):
    return "String"
  return "Number"


_FAST_KINDS = {"float32": "if", "float64": "if", "int64": "i", "int32": "i", "int16": "i", "int8": "i",
               "uint8": "i", "uint32": "iu", "uint64": "iu", "bool": "b"}


_DATA_TYPE_STRING = {"float32": "float", "float64": "double"}  # TF's DataTypeString names


def _scalar(value: Any, dtype: tf.DType) -> Any:
  """One JSON scalar as a numpy value of dtype, or TF Serving's error."""
  name = _DATA_TYPE_STRING.get(dtype.name, dtype.name)
  wrong = lambda: errors.invalid(  # noqa: E731
      f"JSON Value: {_debug(value)} Type: {_json_type(value)} is not of expected type: {name}")
  if dtype == tf.string:
    if isinstance(value, str):
      return value.encode("utf-8")
    if isinstance(value, dict):
      if not _is_b64(value):
        if "b64" in value:
          raise errors.invalid(f"JSON Value: {_debug(value)} not formatted correctly for base64 data")
        raise wrong()
      try:
        return base64.b64decode(value["b64"], validate=True)
      except (binascii.Error, ValueError):
        raise errors.invalid("Unable to base64 decode") from None
    raise wrong()
  if isinstance(value, bool):
    if dtype == tf.bool:
      return value
    raise wrong()
  if dtype == tf.bool:
    raise wrong()
  if dtype in (tf.float32, tf.float64):
    if isinstance(value, (int, float)):
      return value
    raise wrong()
  if dtype.is_integer:
    if isinstance(value, int) and dtype.min <= value <= dtype.max:
      return value
    raise wrong()
  raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                            f"Conversion of JSON Value: {_debug(value)} to type: {name}")


def _shape(value: Any) -> List[int]:
  shape = []
  while isinstance(value, list):
    shape.append(len(value))
    if not value:
      break
    value = value[0]
  return shape


def _flatten(value: Any, shape: List[int], level: int, dtype: tf.DType, out: List[Any]) -> None:
  if isinstance(value, list):
    if level >= len(shape):
      raise errors.invalid(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
    if len(value) != shape[level]:
      raise errors.invalid(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                           f"expected size: {shape[level]}")
    for item in value:
      _flatten(item, shape, level + 1, dtype, out)
    return
  if level != len(shape):
    raise errors.invalid(f"JSON Value: {_debug(value)} found at incorrect level: {level + 1} in the "
                         f"JSON DOM. Expected at level: {len(shape)}")
  out.append(_scalar(value, dtype))


def to_array(value: Any, dtype: tf.DType) -> np.ndarray:
  """A JSON value (scalar or nested lists) as a numpy array of the signature's dtype."""
  np_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
  kinds = _FAST_KINDS.get(dtype.name)
  if kinds and isinstance(value, list):
    # Fast path for well-formed numeric input (the usual case); anything numpy would
    # coerce silently falls through to the exact per-value checks below.
    try:
      array = np.asarray(value)
    except ValueError:
      array = None
    if array is not None and array.dtype.kind in kinds and array.ndim == len(_shape(value)):
      return array.astype(np_dtype, copy=False)  # kind "b" is in `kinds` only for tf.bool
  shape = _shape(value)
  flat: List[Any] = []
  _flatten(value, shape, 0, dtype, flat)
  if dtype == tf.string:
    array = np.empty(len(flat), dtype=object)
    array[:] = flat
    return array.reshape(shape)
  return np.array(flat, dtype=np_dtype).reshape(shape)


def predict_inputs(body: Mapping[str, Any], input_dtypes: Mapping[str, tf.DType]
                   ) -> Tuple[Dict[str, np.ndarray], bool]:
  """(inputs by name, row_format) from a :predict body (FillPredictRequestFromJson)."""
  has_instances, has_inputs = "instances" in body, "inputs" in body
  if has_instances and has_inputs:
    raise errors.invalid(f"JSON Value: {_debug(body)} Not formatted correctly expecting only one of "
                         "'inputs' or 'instances' keys to exist ")
  if not has_instances and not has_inputs:
    raise errors.invalid("Missing 'inputs' or 'instances' key")
  names = sorted(input_dtypes)
  if has_instances:
    instances = body["instances"]
    if not isinstance(instances, list):
      raise errors.invalid(f"JSON Value: {_debug(body)} Expecting 'instances' to be an list/array")
    if not instances:
      raise errors.invalid(f"JSON Value: {_debug(body)} No values in 'instances' array")
    objects = isinstance(instances[0], dict) and not _is_b64(instances[0])
    if not objects:
      if len(names) != 1:
        raise errors.invalid("instances is a plain list, but expecting list of objects as multiple "
                             "input tensors required as per tensorinfo_map")
      for i, item in enumerate(instances):
        if isinstance(item, dict) and not _is_b64(item):
          raise errors.invalid(f"Expecting value/list but got object at item {i} of input list")
      try:
        return {names[0]: _rows(instances, input_dtypes[names[0]])}, True
      except errors.ServingError as e:
        raise _wrapped(e, "Failed to process element: 0 of 'instances' list. Error: ") from None
    columns: Dict[str, List[Any]] = {name: [] for name in names}
    for i, item in enumerate(instances):
      if not isinstance(item, dict) or _is_b64(item):
        raise errors.invalid(f"Expecting object but got list at item {i} of input list")
      for key in item:
        if key not in columns:
          raise errors.invalid(f"Failed to process element: {i} key: {key} of 'instances' list. Error: "
                               f"INVALID_ARGUMENT: JSON object: does not have named input: {key}")
      if set(item) != set(names):
        raise errors.invalid(f"Failed to process element: {i} of 'instances' list. JSON object: "
                             f"{_debug(item)} keys must be equal to: {','.join(names)}")
      for name in names:
        columns[name].append(item[name])
    out = {}
    for name in names:
      try:
        out[name] = _rows(columns[name], input_dtypes[name])
      except errors.ServingError as e:
        raise _wrapped(e, f"Failed to process element: 0 key: {name} of 'instances' list. Error: ") from None
    return out, True
  inputs = body["inputs"]
  if not isinstance(inputs, dict) or _is_b64(inputs):
    if len(names) != 1:
      raise errors.invalid("inputs is a plain value/list, but expecting an object as multiple input "
                           "tensors required as per tensorinfo_map")
    return {names[0]: to_array(inputs, input_dtypes[names[0]])}, False
  out = {}
  for name in names:
    if name not in inputs:
      raise errors.invalid(f"Missing named input: {name} in 'inputs' object.")
    out[name] = to_array(inputs[name], input_dtypes[name])
  return out, False


def _wrapped(error: errors.ServingError, prefix: str) -> errors.ServingError:
  if error.code != grpc.StatusCode.INVALID_ARGUMENT:
    return error
  return errors.invalid(f"{prefix}INVALID_ARGUMENT: {error.message}")


def _rows(values: List[Any], dtype: tf.DType) -> np.ndarray:
  """Instances of one input stacked on a new batch dimension; all must have one shape."""
  first = _shape(values[0])
  for value in values[1:]:
    shape = _shape(value)
    if shape != first:
      size_a, size_b = int(np.prod(first)), int(np.prod(shape))
      if size_a != size_b:
        raise errors.invalid(f"Expecting tensor size: {size_a} but got: {size_b}")
      raise errors.invalid(f"Expecting shape {first} but got: {shape}")
  return to_array(values, dtype)


# --- responses ------------------------------------------------------------------------------

def write_decimal(value: float, is_f32: bool) -> str:
  """rapidjson WriteDecimal as TF Serving uses it."""
  if math.isnan(value):
    return "NaN"
  if math.isinf(value):
    return "-Infinity" if value < 0 else "Infinity"
  text = "%g" % value
  back = float(np.float32(text)) if is_f32 else float(text)
  if back != value:
    text = "%.9g" % value if is_f32 else "%.17g" % value
  if "." not in text and "e" not in text:  # NaN and infinities returned above
    text += ".0"
  return text


def _values(array: np.ndarray, alias: str) -> List[str]:
  """Each element of a flat array as a JSON token."""
  kind = array.dtype.kind
  if kind == "f" and array.dtype.itemsize in (4, 8):
    is_f32 = array.dtype == np.float32
    return [write_decimal(float(v), is_f32) for v in array.tolist()]
  if kind in "iu":
    return [str(v) for v in array.tolist()]
  if kind == "b":
    return ["true" if v else "false" for v in array.tolist()]
  if kind in "OSU":
    if alias.endswith("_bytes"):
      return ['{"b64": "%s"}' % base64.b64encode(v if isinstance(v, bytes) else str(v).encode()).decode()
              for v in array.tolist()]
    return [json.dumps(v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v))
            for v in array.tolist()]
  raise errors.invalid(f"Failed to write JSON value for tensor type: {tf.as_dtype(array.dtype).name}")


def _nested(tokens: List[str], shape: Tuple[int, ...]) -> str:
  if not shape:
    return tokens[0]
  if len(shape) == 1:
    return "[" + ", ".join(tokens) + "]"
  step = len(tokens) // shape[0] if shape[0] else 0
  return "[" + ", ".join(_nested(tokens[i * step:(i + 1) * step], shape[1:])
                         for i in range(shape[0])) + "]"


def predict_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> str:
  """MakeJsonFromTensors."""
  if not outputs:
    raise errors.invalid("Cannot convert empty tensor map to JSON")
  names = sorted(outputs)
  if not row_format:
    if len(names) == 1:
      array = outputs[names[0]]
      return '{"outputs": ' + _nested(_values(array.reshape(-1), names[0]), array.shape) + "}"
    parts = [f"{json.dumps(n)}: " + _nested(_values(outputs[n].reshape(-1), n), outputs[n].shape)
             for n in names]
    return '{"outputs": {' + ", ".join(parts) + "}}"
  batch = None
  for name in names:
    if outputs[name].ndim < 1:
      raise errors.invalid(f"Tensor name: {name} has no shape information ")
    if batch is None:
      batch = outputs[name].shape[0]
    elif outputs[name].shape[0] != batch:
      raise errors.invalid(f"Tensor name: {name} has inconsistent batch size: "
                           f"{outputs[name].shape[0]} expecting: {batch}")
  rows = {}
  for name in names:
    array = outputs[name]
    tokens = _values(array.reshape(-1), name)
    step = len(tokens) // batch if batch else 0
    rows[name] = [_nested(tokens[i * step:(i + 1) * step], array.shape[1:]) for i in range(batch)]
  if len(names) == 1:
    return '{"predictions": [' + ", ".join(rows[names[0]]) + "]}"
  objects = ["{" + ", ".join(f"{json.dumps(n)}: {rows[n][i]}" for n in names) + "}"
             for i in range(batch)]
  return '{"predictions": [' + ", ".join(objects) + "]}"


# --- classify / regress ---------------------------------------------------------------------

def _feature(name: str, value: Any) -> tf.train.Feature:
  values = value if isinstance(value, list) else [value]
  feature = tf.train.Feature()
  kind = None
  for item in values:
    if isinstance(item, str) or _is_b64(item):
      this = "bytes"
    elif isinstance(item, int):  # bool too; parse_body's integers fit in 64 bits (_json_int)
      this = "int64"
      if item > 2**63 - 1:
        raise errors.invalid(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
    elif isinstance(item, float):
      this = "float"
    else:
      raise errors.invalid(f"Feature: {name} has element with unexpected JSON type: {_json_type(item)}")
    if kind is None:
      kind = this
    elif this != kind:
      raise errors.invalid(f"Unexpected element type in feature: {name} expecting type: {kind}")
    if this == "bytes":
      data = item.encode("utf-8") if isinstance(item, str) else _scalar(item, tf.string)
      feature.bytes_list.value.append(data)
    elif this == "int64":
      feature.int64_list.value.append(int(item))
    else:
      feature.float_list.value.append(item)
  return feature


def _example(value: Any) -> tf.train.Example:
  if not isinstance(value, dict):
    raise errors.invalid(f"Example must be JSON object but got JSON {_json_type(value)}")
  return tf.train.Example(features=tf.train.Features(
      feature={name: _feature(name, v) for name, v in value.items()}))


def examples(body: Mapping[str, Any]) -> List[bytes]:
  """Serialized tf.Examples of a :classify/:regress body, the context merged in as TF Serving does."""
  context = body.get("context")
  prefix = _example(context).SerializeToString() if context is not None else b""
  if "examples" not in body:
    raise errors.invalid(f"JSON Value: {_debug(body)} When method is classify, key 'examples' is "
                         "expected and was not found")
  items = body["examples"]
  if not isinstance(items, list):
    raise errors.invalid(f"JSON Value: {_debug(body)} Expecting 'examples' value to be an list/array")
  if not items:
    raise errors.invalid(f"JSON Value: {_debug(body)} 'examples' value is an empty array")
  # Serialized context + example: parsing merges them, the example's features winning.
  return [prefix + _example(item).SerializeToString() for item in items]


def example_input(body: Mapping[str, Any]):
  """The tensorflow.serving.Input a :classify/:regress body converts to (http_rest_api_handler.cc
  FillClassificationRequestFromJson): example_list, or example_list_with_context with a context.
  For request logs; the body was already accepted by examples()."""
  from tensorflow_serving.apis import input_pb2  # pylint: disable=import-outside-toplevel
  items = [_example(item) for item in body["examples"]]
  if body.get("context") is not None:
    return input_pb2.Input(example_list_with_context=input_pb2.ExampleListWithContext(
        examples=items, context=_example(body["context"])))
  return input_pb2.Input(example_list=input_pb2.ExampleList(examples=items))


def classify_response(results) -> str:
  """json_tensor.cc MakeJsonFromClassificationResult. Its check for empty results cannot fire
  here: examples() refuses an empty list and inference.classify answers one row per example."""
  rows = ["[" + ", ".join(f"[{json.dumps(label or '')}, {write_decimal(score or 0.0, True)}]"
                          for label, score in classes) + "]" for classes in results]
  return '{"results": [' + ", ".join(rows) + "]}"


def regress_response(values) -> str:
  """MakeJsonFromRegressionResult; never empty, as for classify_response."""
  return '{"results": [' + ", ".join(write_decimal(v, True) for v in values) + "]}"
