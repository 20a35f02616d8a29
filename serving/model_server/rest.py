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
import urllib.parse
import zlib
from typing import Optional, Tuple

import grpc
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tensorflow_serving.apis import get_model_metadata_pb2

from serving.model_server import errors, inference, json_codec

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
  """The ASGI application (Starlette) over a ModelManager and an optional Batcher; close() when done."""

  def __init__(self, manager, batcher=None, workers: Optional[int] = None):
    self.manager, self.batcher = manager, batcher
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
    uri = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    if request.scope.get("query_string"):
      uri += "?" + request.scope["query_string"].decode("latin-1")
    method = request.method
    if method in ("TRACE", "CONNECT"):
      return Response(status_code=501)
    if not _V1.fullmatch(uri):
      return Response(_NOT_FOUND_HTML, status_code=404, media_type="text/html; charset=ISO-8859-1")
    if method == "OPTIONS":
      ok = re.match(r"https?://", request.headers.get("origin", ""))
      return Response(status_code=200 if ok else 400)
    try:
      if method == "POST" and (match := _PREDICTION.fullmatch(uri)) and match.group(4).islower():
        name, version, label = _model_info(match)
        try:
          body = await self._body(request)
        except errors.ServingError:
          return _json('{"error": "request body larger than %d bytes"}' % MAX_BODY_BYTES, 413)
        gzipped = "gzip" in request.headers.get("content-encoding", "")
        return await self._predict_like(match.group(4), name, version, label, body, gzipped)
      if method == "GET" and (match := _STATUS.fullmatch(uri)):
        name, version, label = _model_info(match)
        if not name:
          raise errors.invalid("Missing model name in request.")
        if match.group(4) == "metadata":  # "METADATA" matches the regex but asks for status
          return self._metadata(name, version, label)
        return self._status(name, version)
      raise errors.invalid(f"Malformed request: {method} {uri}")
    except _EmptyBodyError:
      return Response(b"", status_code=400, media_type="application/json")
    except errors.ServingError as e:
      return _error(e)

  async def _predict_like(self, verb: str, name, version, label, body: bytes,
                          gzipped: bool) -> Response:
    """On the worker pool: decode, run (or wait for the batch on the loop), encode."""
    loop = asyncio.get_running_loop()
    request = (verb, name, version, label, body, gzipped)
    if verb == "predict" and self.batcher is not None:
      future, row_format = await loop.run_in_executor(self._pool, self._submit, *request)
      outputs = await asyncio.wrap_future(future)
      return _json(await loop.run_in_executor(self._pool, json_codec.predict_response, outputs,
                                              row_format))
    return _json(await loop.run_in_executor(self._pool, self._answer, *request))

  def _decode(self, verb: str, name, version, label, body: bytes, gzipped: bool):
    """(servable, signature name or None, inputs or serialized examples, row format); REST's checks.

    For :predict the handler looks the signature up itself, as
    http_rest_api_handler.cc GetInfoMap does, and answers its 400; inference.predict
    never sees an unknown signature from here.
    """
    document = json_codec.parse_body(_gunzip(body) if gzipped else body)
    signature_name = json_codec.signature_name(document)
    if verb != "predict":
      serialized = json_codec.examples(document)
      return self.manager.servable(name, version, label), signature_name, serialized, None
    servable = self.manager.servable(name, version, label)
    key = inference.signature_key(signature_name)
    signature = servable.signature_or(key, errors.invalid(
        f'Serving signature name: "{key}" not found in signature def'))
    if not signature.definition.inputs:
      raise errors.invalid(f"Failed to get input map for signature: {key}")
    inputs, row_format = json_codec.predict_inputs(document, signature.input_dtypes)
    return servable, key, inputs, row_format

  def _submit(self, *request):
    servable, signature, inputs, row_format = self._decode(*request)
    return self.batcher.submit(servable, signature, inputs), row_format

  def _answer(self, verb: str, *request) -> str:
    servable, signature, data, row_format = self._decode(verb, *request)
    if verb == "predict":
      return json_codec.predict_response(inference.predict(servable, signature, data), row_format)
    if verb == "classify":
      return json_codec.classify_response(inference.classify(servable, signature, data))
    return json_codec.regress_response(inference.regress(servable, signature, data))

  def _status(self, name: str, version: Optional[int]) -> Response:
    response = self.manager.status(name, version)  # labels are ignored, as TF Serving does
    return _json(json_format.MessageToJson(response, including_default_value_fields=True, indent=None))

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
