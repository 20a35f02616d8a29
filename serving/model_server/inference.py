"""Running a loaded SavedModel the way TF Serving runs it: Predict, Classify, Regress.

Shared by REST, gRPC, warmup and batching, so each API checks requests and shapes
answers exactly once (servables/tensorflow/predict_util.cc, classifier.cc,
regressor.cc). Inputs are numpy arrays already converted to the signature's
dtypes; outputs are numpy arrays.
"""

import dataclasses
import os
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from schemas import signatures as conventions
from serving.model_server import errors, metrics


@dataclasses.dataclass
class Signature:
  name: str
  definition: meta_graph_pb2.SignatureDef
  function: object  # a ConcreteFunction taking the inputs as keyword tensors

  @property
  def input_dtypes(self) -> Dict[str, tf.DType]:
    return {k: tf.dtypes.as_dtype(v.dtype) for k, v in self.definition.inputs.items()}


class Servable:
  """One loaded version of one model."""

  def __init__(self, name: str, version: int, path: str):
    self.name, self.version, self.path = name, version, path
    self.meta_graph = _serving_meta_graph(path)
    self._loaded = tf.saved_model.load(path)
    self.signatures: Dict[str, Signature] = {
        key: Signature(key, self.meta_graph.signature_def[key], fn)
        for key, fn in self._loaded.signatures.items() if key in self.meta_graph.signature_def}

  def signature_or(self, name: str, error: errors.ServingError) -> Signature:
    signature = self.signatures.get(name)
    if signature is None:
      raise error
    return signature


def _serving_meta_graph(path: str) -> meta_graph_pb2.MetaGraphDef:
  """The MetaGraphDef tagged `serve`, read from saved_model.pb (for metadata, as TF Serving does)."""
  saved_model = saved_model_pb2.SavedModel()
  with tf.io.gfile.GFile(os.path.join(path, "saved_model.pb"), "rb") as f:
    saved_model.ParseFromString(f.read())
  for meta_graph in saved_model.meta_graphs:
    if "serve" in meta_graph.meta_info_def.tags:
      return meta_graph
  raise errors.ServingError(errors.grpc.StatusCode.INTERNAL, f"no MetaGraphDef tagged 'serve' in {path}")


def _check_shapes(signature: Signature, feeds: Mapping[str, object]) -> None:
  """TF Serving feeds a session, which refuses a tensor whose shape the placeholder cannot take;
  a loaded tf.function signature would silently retrace instead."""
  for name, value in feeds.items():
    expected = signature.definition.inputs[name].tensor_shape
    if expected.unknown_rank:
      continue
    shape = np.shape(value)
    dims = [d.size for d in expected.dim]
    if len(shape) != len(dims) or any(d >= 0 and d != s for d, s in zip(dims, shape)):
      raise errors.invalid(f"The shape of input {name}, {list(shape)}, is not compatible with the "
                           f"signature's {['?' if d < 0 else d for d in dims]}")


def _call(signature: Signature, feeds: Mapping[str, object], model_name: str = "",
          api: Optional[str] = None) -> Dict[str, np.ndarray]:
  """Runs the signature; bad input is InvalidArgument, as the TF runtime reports it.

  With `api`, a success adds the time inside TensorFlow to runtime_latency, as
  predict_util.cc, classifier.cc and regressor.cc time session->Run (batch threads
  and warmup pass none: the batching paths record per request, batching.py).
  """
  _check_shapes(signature, feeds)
  try:
    feeds = {k: tf.convert_to_tensor(v, dtype=signature.input_dtypes[k]) for k, v in feeds.items()}
    started = time.perf_counter()
    outputs = signature.function(**feeds)
  except tf.errors.OpError as e:
    raise errors.from_tf_error(e) from None
  except UnicodeDecodeError as e:
    # TF's Python layer cannot decode an op error that quotes non-UTF-8 bytes of a
    # malformed tf.Example; the error is still the client's input.
    raise errors.invalid(f"Could not parse the input: {e.reason} in the request's data") from None
  except (TypeError, ValueError) as e:  # dtype/shape refused before the runtime saw it
    raise errors.invalid(str(e).splitlines()[0]) from None
  result = {k: v.numpy() for k, v in outputs.items()}
  if api is not None:
    metrics.RUNTIME_LATENCY.add(model_name, api, metrics.RUNTIME,
                                value=(time.perf_counter() - started) * 1e6)
  return result


def signature_key(name: str) -> str:
  """The signature a request names; empty is the default one, as every TF Serving API reads it."""
  return name or conventions.DEFAULT_SIGNATURE


def predict(servable: Servable, signature_name: str, inputs: Mapping[str, np.ndarray],
            output_filter: Sequence[str] = (), api: Optional[str] = None) -> Dict[str, np.ndarray]:
  """predict_util.cc RunPredict, for every transport.

  An unknown signature is RunPredict's FAILED_PRECONDITION; the REST handler looks
  the signature up itself first and answers its own 400 (http_rest_api_handler.cc).
  """
  name = signature_key(signature_name)
  signature = servable.signature_or(name, errors.ServingError(
      errors.grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{name}" not found.'))
  expected = set(signature.definition.inputs)
  sent = set(inputs)
  if sent != expected:
    extra, absent = sorted(sent - expected), sorted(expected - sent)
    raise errors.invalid(
        f"input size does not match signature: {len(sent)}!={len(expected)} "
        f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
        f"Sent extra: {{{','.join(extra)}}}. Missing but required: {{{','.join(absent)}}}.")
  outputs = _call(signature, inputs, servable.name, api)
  if output_filter:
    seen = set()
    for alias in output_filter:
      if alias not in outputs:
        raise errors.invalid(f"output tensor alias not found in signature: {alias} Outputs expected "
                             f"to be in the set {{{','.join(sorted(outputs))}}}.")
      if alias in seen:
        raise errors.invalid(f"duplicate output tensor alias: {alias}")
      seen.add(alias)
    outputs = {k: outputs[k] for k in output_filter}
  return outputs


def _examples_signature(servable: Servable, name: str, kind: str) -> Signature:
  name = signature_key(name)
  signature = servable.signature_or(name, errors.invalid(f"No signature was found with the name: {name}"))
  definition = signature.definition
  if len(definition.inputs) != 1:
    raise errors.invalid("Expected one input Tensor.")
  input_key = conventions.CLASSIFY_INPUTS if kind == "classification" else conventions.REGRESS_INPUTS
  if input_key not in definition.inputs:
    raise errors.invalid(f"No {kind} inputs found in SignatureDef: {definition}")
  return signature


def count_examples(servable: Servable, serialized: Sequence[bytes]) -> None:
  """util.cc RecordRequestExampleCount (request_example_counts and _total), once per request."""
  metrics.EXAMPLE_COUNTS.add(servable.name, value=len(serialized))
  metrics.EXAMPLE_COUNT_TOTAL.increment(servable.name, by=len(serialized))


def classify(servable: Servable, signature_name: str, serialized: Sequence[bytes],
             api: Optional[str] = None) -> List[List[Tuple[Optional[str], Optional[float]]]]:
  """classifier.cc: per example, (label, score) per class; label or score None if not output.

  With `api` (a Classify request, not a MultiInference task) a success records runtime latency
  and the example count."""
  signature = _examples_signature(servable, signature_name, "classification")
  outputs = signature.definition.outputs
  if len(outputs) not in (1, 2):
    raise errors.invalid(f"Expected one or two output Tensors, found {len(outputs)}")
  if conventions.CLASSIFY_OUTPUT_CLASSES not in outputs and conventions.CLASSIFY_OUTPUT_SCORES not in outputs:
    raise errors.invalid('Expected classification signature outputs to contain at least one of '
                         f'"classes" or "scores". Signature was: {signature.definition}')
  if not serialized:
    raise errors.invalid("Input is empty.")
  result = _call(signature, {conventions.CLASSIFY_INPUTS: np.array(serialized, dtype=object)},
                 servable.name, api)
  classes = result.get(conventions.CLASSIFY_OUTPUT_CLASSES)
  scores = result.get(conventions.CLASSIFY_OUTPUT_SCORES)
  for tensor, name, dtype in ((classes, "classes", "DT_STRING"), (scores, "scores", "DT_FLOAT")):
    if tensor is None:
      continue
    if tensor.ndim != 2:
      raise errors.invalid(f"Expected Tensor shape: [batch_size num_classes] but got {list(tensor.shape)}")
    ok = tensor.dtype == object if name == "classes" else tensor.dtype == np.float32
    if not ok:
      raise errors.invalid(f"Expected {name} Tensor of {dtype}. Got: {tf.as_dtype(tensor.dtype).name}")
    if tensor.shape[0] != len(serialized):
      raise errors.invalid(f"Expected {name} output batch size of {len(serialized)}. Got: {tensor.shape[0]}")
  if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
    raise errors.invalid(f"Tensors class and score should match in dim_size(1). Got "
                         f"{classes.shape[1]} vs. {scores.shape[1]}")
  width = (classes if classes is not None else scores).shape[1]
  if api is not None:
    count_examples(servable, serialized)
  return [[(classes[i, c].decode("utf-8", "surrogateescape") if classes is not None else None,
            float(scores[i, c]) if scores is not None else None) for c in range(width)]
          for i in range(len(serialized))]


def regress(servable: Servable, signature_name: str, serialized: Sequence[bytes],
            api: Optional[str] = None) -> List[float]:
  """regressor.cc: one float per example; `api` as for classify."""
  signature = _examples_signature(servable, signature_name, "regression")
  if len(signature.definition.outputs) != 1:
    raise errors.invalid("Expected one output Tensor.")
  if conventions.REGRESS_OUTPUTS not in signature.definition.outputs:
    raise errors.invalid(f"No regression outputs found in SignatureDef: {signature.definition}")
  if not serialized:
    raise errors.invalid("Input is empty.")
  output = _call(signature, {conventions.REGRESS_INPUTS: np.array(serialized, dtype=object)},
                 servable.name, api)[conventions.REGRESS_OUTPUTS]
  if output.ndim not in (1, 2) or (output.ndim == 2 and output.shape[1] != 1):
    raise errors.invalid("Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
                         f"but got {list(output.shape)}")
  if output.shape[0] != len(serialized):
    raise errors.invalid(f"Input batch size did not match output batch size: {len(serialized)} vs. "
                         f"{output.shape[0]}")
  if output.dtype != np.float32:
    raise errors.invalid(f"Expected output Tensor of DT_FLOAT.  Got: {tf.as_dtype(output.dtype).name}")
  if api is not None:
    count_examples(servable, serialized)
  return [float(v) for v in output.reshape(-1)]


def multi_inference(servable: Servable, tasks: Sequence[Tuple[str, str]],
                    serialized: Sequence[bytes], record: bool = False) -> List[Tuple[str, str, list]]:
  """multi_inference.cc: (signature, method name, results) per (signature name, method name) task.

  Shared by the gRPC MultiInference call and warmup replay, so both accept the same
  method names and refuse the same duplicates. `record`: a success counts the
  examples once (multi_inference.cc:98); its tasks record no runtime latency, as
  multi_inference.cc records none.
  """
  out, seen = [], set()
  for signature_name, method_name in tasks:
    name = signature_key(signature_name)
    if name in seen:
      raise errors.invalid(f"Duplicate evaluation of signature: {name}")
    seen.add(name)
    if method_name == conventions.CLASSIFY_METHOD_NAME:
      out.append((name, method_name, classify(servable, name, serialized)))
    elif method_name == conventions.REGRESS_METHOD_NAME:
      out.append((name, method_name, regress(servable, name, serialized)))
    else:
      raise errors.ServingError(errors.grpc.StatusCode.UNIMPLEMENTED,
                                f"Unsupported signature method_name: {method_name}")
  if record:
    count_examples(servable, serialized)
  return out
