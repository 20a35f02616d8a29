"""TF Serving's REST API on Starlette (model_servers/http_rest_api_handler.cc, http_server.cc).

Routing is TF Serving's own: everything under `/v1/` goes to one handler that
matches the raw path (+ query) against TF Serving's two regexes, so odd paths get
TF Serving's answers ("Malformed request: ...", 400) rather than a framework's
405 or redirect; anything outside `/v1/` is a 404. Errors are `{"error": "..."}`
with `Content-Type: application/json` and TF Serving's HTTP codes.

Requests run as TF Serving's HTTP server runs them, on a pool of worker threads
(4 per core, TF Serving's --rest_api_num_threads default, server.h): the event
loop only reads bodies, routes, and answers status and metadata itself, so a
CNN :predict never stalls a `GET /v1/models/M` behind it; JSON decoding,
inference and JSON encoding of :predict/:classify/:regress run on the pool.
With batching on, a request's thread is released while it waits for its batch,
so the pool does not cap how many requests a batch can merge.

One deliberate difference: TF Serving reads bodies of any size; this server
refuses bodies over MAX_BODY_BYTES with 413 before reading them, so one request
cannot exhaust the memory of a laptop serving several models.
"""

import asyncio
import concurrent.futures
import os
import re
import time
import urllib.parse
import zlib
from typing import Mapping, Optional, Tuple

import grpc
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, predict_pb2,
                                     regression_pb2)

from serving.model_server import errors, inference, json_codec, metrics, protos

WORKERS_PER_CORE = 4  # model_servers/server.h: http_num_threads = 4 * NumSchedulableCPUs

MAX_BODY_BYTES = 64 << 20  # a 28x28 image is ~3 KB of JSON; 64 MiB is thousands of them
MAX_GZIP_BYTES = 100 << 20  # TF Serving's ZLib::kMaxUncompressedBytes

_PREDICTION = re.compile(r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
                         r":(classify|regress|predict)", re.IGNORECASE)
_STATUS = re.compile(r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
                     r"(?:/(metadata))?", re.IGNORECASE)
_V1 = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_NOT_FOUND_HTML = (b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n"
                   b"</BODY></HTML>\n")
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"]


def _json(text: str, status: int = 200) -> Response:
  return Response(text, status_code=status, media_type="application/json")


def _error(error: errors.ServingError) -> Response:
  import json  # pylint: disable=import-outside-toplevel
  return _json(json.dumps({"error": error.message}), error.http_status)


def _gunzip(body: bytes) -> bytes:
  try:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    body = decompressor.decompress(body, MAX_GZIP_BYTES)
    return b"" if decompressor.unconsumed_tail else body
  except zlib.error:
    return b""  # TF Serving then answers "The document is empty"


class _EmptyBodyError(Exception):
  """ParseModelInfo failed: TF Serving answers 400 with no body."""


def _model_info(match) -> Tuple[str, Optional[int], Optional[str]]:
  name = urllib.parse.unquote(match.group(1) or "")
  version = match.group(2)
  label = urllib.parse.unquote(match.group(3)) if match.group(3) else None
  if version is not None:
    number = int(version)
    if number > 2**63 - 1:
      raise _EmptyBodyError()
    version = number
  return name, version, label


class RestApi:
  """The ASGI application (Starlette) over a ModelManager and an optional Batcher; close() when done.

  `prometheus_path`: serve metrics.page() there (http_server.cc ProcessPrometheusRequest);
  `loggers`: model name -> request_log.RequestLogger.
  """

  def __init__(self, manager, batcher=None, workers: Optional[int] = None,
               prometheus_path: Optional[str] = None, loggers: Optional[Mapping[str, object]] = None):
    self.manager, self.batcher = manager, batcher
    self.prometheus_path, self.loggers = prometheus_path, loggers or {}
    self._pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers or WORKERS_PER_CORE * (os.cpu_count() or 1), thread_name_prefix="rest")
    self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=_METHODS)])

  def close(self) -> None:
    self._pool.shutdown(wait=True)

  async def _body(self, request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
      raise errors.ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED, "")
    chunks, size = [], 0
    async for chunk in request.stream():
      size += len(chunk)
      if size > MAX_BODY_BYTES:
        raise errors.ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED, "")
      chunks.append(chunk)
    return b"".join(chunks)

  async def _handle(self, request: Request) -> Response:
    """http_server.cc ProcessRequest: route and answer, then request_count{model_name, status} and,
    on success, request_latency{model_name, API=<verb, "" for GETs>, entrypoint="REST"} in µs, for
    every request the /v1/ dispatcher took (TF Serving's model_name and method outputs)."""
    started = time.perf_counter()
    seen = ["", ""]  # model name, method, as ParseModelInfo fills them
    response, code = await self._route(request, seen)
    if code is not None and metrics.enabled():
      if code is grpc.StatusCode.OK:
        metrics.REQUEST_LATENCY.add(seen[0], seen[1], "REST", value=(time.perf_counter() - started) * 1e6)
      metrics.REQUEST_COUNT.increment(seen[0], metrics.status_name(code))
    return response

  async def _route(self, request: Request, seen) -> Tuple[Response, Optional[grpc.StatusCode]]:
    """The answer, and the status to count (None: not a request TF Serving's dispatcher counts)."""
    uri = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    if self.prometheus_path is not None and request.url.path == self.prometheus_path:
      return Response(metrics.page(), media_type="text/plain"), None
    if request.scope.get("query_string"):
      uri += "?" + request.scope["query_string"].decode("latin-1")
    method = request.method
    if method in ("TRACE", "CONNECT"):
      return Response(status_code=501), None
    if not _V1.fullmatch(uri):
      return Response(_NOT_FOUND_HTML, status_code=404, media_type="text/html; charset=ISO-8859-1"), None
    if method == "OPTIONS":
      ok = re.match(r"https?://", request.headers.get("origin", ""))
      return (Response(status_code=200 if ok else 400),
              grpc.StatusCode.OK if ok else grpc.StatusCode.FAILED_PRECONDITION)
    try:
      if method == "POST" and (match := _PREDICTION.fullmatch(uri)) and match.group(4).islower():
        seen[0], seen[1] = urllib.parse.unquote(match.group(1) or ""), match.group(4)
        name, version, label = _model_info(match)
        try:
          body = await self._body(request)
        except errors.ServingError:
          return (_json('{"error": "request body larger than %d bytes"}' % MAX_BODY_BYTES, 413),
                  grpc.StatusCode.RESOURCE_EXHAUSTED)
        gzipped = "gzip" in request.headers.get("content-encoding", "")
        return (await self._predict_like(match.group(4), name, version, label, body, gzipped),
                grpc.StatusCode.OK)
      if method == "GET" and (match := _STATUS.fullmatch(uri)):
        seen[0] = urllib.parse.unquote(match.group(1) or "")
        name, version, label = _model_info(match)
        if not name:
          raise errors.invalid("Missing model name in request.")
        if match.group(4) == "metadata":  # "METADATA" matches the regex but asks for status
          return self._metadata(name, version, label), grpc.StatusCode.OK
        return self._status(name, version), grpc.StatusCode.OK
      raise errors.invalid(f"Malformed request: {method} {uri}")
    except _EmptyBodyError:
      return Response(b"", status_code=400, media_type="application/json"), grpc.StatusCode.INVALID_ARGUMENT
    except errors.ServingError as e:
      return _error(e), e.code

  async def _predict_like(self, verb: str, name, version, label, body: bytes,
                          gzipped: bool) -> Response:
    """On the worker pool: decode, run (or wait for the batch on the loop), encode."""
    loop = asyncio.get_running_loop()
    request = (verb, name, version, label, body, gzipped)
    if verb == "predict" and self.batcher is not None:
      future, decoded = await loop.run_in_executor(self._pool, self._submit, *request)
      outputs = await asyncio.wrap_future(future)
      return _json(await loop.run_in_executor(self._pool, self._encode_predict, request, decoded,
                                              outputs))
    return _json(await loop.run_in_executor(self._pool, self._answer, *request))

  def _decode(self, verb: str, name, version, label, body: bytes, gzipped: bool):
    """(servable, signature name, inputs or serialized examples, row format, document); REST's checks.

    For :predict the handler looks the signature up itself, as
    http_rest_api_handler.cc GetInfoMap does, and answers its 400; inference.predict
    never sees an unknown signature from here.
    """
    document = json_codec.parse_body(_gunzip(body) if gzipped else body)
    signature_name = json_codec.signature_name(document)
    if verb != "predict":
      serialized = json_codec.examples(document)
      return self.manager.servable(name, version, label), signature_name, serialized, None, document
    servable = self.manager.servable(name, version, label)
    key = inference.signature_key(signature_name)
    signature = servable.signature_or(key, errors.invalid(
        f'Serving signature name: "{key}" not found in signature def'))
    if not signature.definition.inputs:
      raise errors.invalid(f"Failed to get input map for signature: {key}")
    inputs, row_format = json_codec.predict_inputs(document, signature.input_dtypes)
    return servable, key, inputs, row_format, document

  def _submit(self, *request):
    decoded = self._decode(*request)
    servable, signature, inputs = decoded[:3]
    return self.batcher.submit(servable, signature, inputs, api="Predict"), decoded

  def _encode_predict(self, request, decoded, outputs) -> str:
    text = json_codec.predict_response(outputs, decoded[3])
    self._log(request, decoded, outputs)
    return text

  def _answer(self, verb: str, *request) -> str:
    decoded = self._decode(verb, *request)
    servable, signature, data, row_format, _ = decoded
    if verb == "predict":
      outputs = inference.predict(servable, signature, data, api="Predict")
      text = json_codec.predict_response(outputs, row_format)
    elif verb == "classify":
      outputs = inference.classify(servable, signature, data, api="Classify")
      text = json_codec.classify_response(outputs)
    else:
      outputs = inference.regress(servable, signature, data, api="Regress")
      text = json_codec.regress_response(outputs)
    self._log((verb, *request), decoded, outputs)
    return text

  def _log(self, request, decoded, outputs) -> None:
    """Queues a sampled answered request's PredictionLog, as the gRPC messages TF Serving converts
    the REST call to (request_log.py); the messages are built on the log's writer thread."""
    servable = decoded[0]
    logger = self.loggers.get(servable.name)
    if logger is None or not logger.sampled():
      return
    now = time.time()
    logger.submit(lambda: rest_prediction_log(request, decoded, outputs, now))

  def _status(self, name: str, version: Optional[int]) -> Response:
    response = self.manager.status(name, version)  # labels are ignored, as TF Serving does
    return _json(status_json(response))

  def _metadata(self, name: str, version: Optional[int], label: Optional[str]) -> Response:
    import json  # pylint: disable=import-outside-toplevel
    servable = self.manager.servable(name, version, label)
    spec = {"name": servable.name, "signature_name": "", "version": str(servable.version)}
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, definition in servable.meta_graph.signature_def.items():
      signature_map.signature_def[key].CopyFrom(definition)
    signature_json = json_format.MessageToDict(
        signature_map, including_default_value_fields=True, preserving_proto_field_name=True)
    return _json(json.dumps({"model_spec": spec, "metadata": {"signature_def": signature_json}}))


_STATE_NAMES = None
_CODE_NAMES = None


def status_json(response) -> str:
  """GetModelStatusResponse as json_format.MessageToJson(including_default_value_fields=True,
  indent=None) writes it, character for character (server_test checks), in ~1/4 of its time
  (12 vs 42 us, AMD EPYC, measured side by side):
  status runs on the event loop, and every 100 µs of Python there is a chance to lose the GIL
  to a worker thread for up to the 1 ms switch interval (bench/status_latency.py)."""
  import json  # pylint: disable=import-outside-toplevel
  global _STATE_NAMES, _CODE_NAMES  # pylint: disable=global-statement
  if _STATE_NAMES is None:
    version_status = type(response).DESCRIPTOR.fields_by_name["model_version_status"].message_type
    _STATE_NAMES = {v.number: v.name for v in version_status.fields_by_name["state"].enum_type.values}
    status = version_status.fields_by_name["status"].message_type
    _CODE_NAMES = {v.number: v.name for v in status.fields_by_name["error_code"].enum_type.values}
  return json.dumps({"model_version_status": [
      {"version": str(s.version), "state": _STATE_NAMES.get(s.state, s.state),
       "status": {"error_code": _CODE_NAMES.get(s.status.error_code, s.status.error_code),
                  "error_message": s.status.error_message}}
      for s in response.model_version_status]})


def rest_prediction_log(request, decoded, outputs, timestamp: float):
  """The PredictionLog of an answered REST call: http_rest_api_handler.cc's PredictRequest /
  ClassificationRequest / RegressionRequest for it (model_spec from the URL and the body's
  signature_name; inputs as TensorProtos of the signature's dtypes, json_tensor.cc
  FillPredictRequestFromJson) and the response the gRPC API would have sent."""
  verb, name, version, label = request[:4]
  servable, key, data, _, document = decoded
  types = {"predict": (predict_pb2.PredictRequest, predict_pb2.PredictResponse, "predict_log"),
           "classify": (classification_pb2.ClassificationRequest,
                        classification_pb2.ClassificationResponse, "classify_log"),
           "regress": (regression_pb2.RegressionRequest, regression_pb2.RegressionResponse,
                       "regress_log")}
  request_type, response_type, kind = types[verb]
  message, response = request_type(), response_type()
  message.model_spec.name = name
  if version is not None:
    message.model_spec.version.value = version
  elif label is not None:
    message.model_spec.version_label = label
  message.model_spec.signature_name = document.get("signature_name", "")
  if verb == "predict":
    for alias, array in data.items():
      message.inputs[alias].CopyFrom(protos.to_tensor_proto(array))
    response.model_spec.name = name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = key
    for alias, array in outputs.items():
      response.outputs[alias].CopyFrom(protos.to_tensor_proto(array))
  else:
    message.input.CopyFrom(json_codec.example_input(document))
    protos.fill_spec(response.model_spec, servable, inference.signature_key(key))
    fill = protos.fill_classifications if verb == "classify" else protos.fill_regressions
    fill(response.result, outputs)
  return protos.prediction_log(kind, message, response, servable,
                               key if verb == "predict" else inference.signature_key(key), timestamp)
