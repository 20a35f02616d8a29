"""What a client sees when the server says no."""

from typing import Optional


class ServingError(Exception):
  """An error answer: HTTP status or gRPC code, and TF Serving's message."""

  def __init__(self, message: str, http_status: Optional[int] = None, grpc_code: Optional[str] = None):
    super().__init__(message)
    self.message, self.http_status, self.grpc_code = message, http_status, grpc_code

  def __str__(self) -> str:
    where = f"HTTP {self.http_status}" if self.http_status else self.grpc_code or "error"
    return f"{where}: {self.message}"


class ServerUnreachable(ServingError):
  """No answer at all: nothing listening, or the connection broke."""
