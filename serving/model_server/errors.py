"""TF Serving's error model: a status code and a message, mapped to HTTP as TF Serving maps it."""

import grpc

# model_servers/http_server.cc ToHTTPStatusCode
HTTP_STATUS = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNAUTHENTICATED: 401,
}
GRPC_MESSAGE_LIMIT = 1024  # model_servers/grpc_status_util.cc cuts longer messages


class ServingError(Exception):
  """An error TF Serving would return: gRPC status code + message."""

  def __init__(self, code: grpc.StatusCode, message: str):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return HTTP_STATUS.get(self.code, 500)

  @property
  def grpc_message(self) -> str:
    if len(self.message) > GRPC_MESSAGE_LIMIT:
      return self.message[:GRPC_MESSAGE_LIMIT] + "...TRUNCATED"
    return self.message


def invalid(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.NOT_FOUND, message)


# tensorflow.error.Code numbers equal gRPC's (tensorflow/core/protobuf/error_codes.proto).
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def from_tf_error(error) -> ServingError:
  """A tf.errors.OpError as the status TF Serving would pass through."""
  code = _BY_NUMBER.get(getattr(error, "error_code", 2), grpc.StatusCode.UNKNOWN)
  return ServingError(code, getattr(error, "message", str(error)))
