"""A REST client for TF Serving's `/v1/models/...` API (requests.Session: persistent connections)."""

from typing import Any, Dict, List, Mapping, Optional

import requests

from serving.client.errors import ServerUnreachable, ServingError


class RestClient:
  """One model on one server: `RestClient("http://127.0.0.1:8501", "mnist")`."""

  def __init__(self, url: str, model: str, version: Optional[int] = None, label: Optional[str] = None,
               timeout: float = 30.0, session: Optional[requests.Session] = None):
    if version is not None and label is not None:
      raise ValueError("give a version or a label, not both")
    self.base = f"{url.rstrip('/')}/v1/models/{requests.utils.quote(model, safe='')}"
    if version is not None:
      self.base += f"/versions/{int(version)}"
    elif label is not None:
      self.base += f"/labels/{requests.utils.quote(label, safe='')}"
    self.timeout = timeout
    self.session = session or requests.Session()

  def _call(self, method: str, suffix: str, body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    try:
      reply = self.session.request(method, self.base + suffix, json=body, timeout=self.timeout)
    except requests.RequestException as e:
      raise ServerUnreachable(f"{self.base}: {type(e).__name__}: {e}") from None
    try:
      document = reply.json()
    except ValueError:
      document = None
    if reply.status_code != 200:
      message = document.get("error") if isinstance(document, dict) else None
      raise ServingError(message or reply.text.strip() or reply.reason, http_status=reply.status_code)
    return document

  def status(self) -> List[Dict[str, Any]]:
    return self._call("GET", "")["model_version_status"]

  def metadata(self) -> Dict[str, Any]:
    return self._call("GET", "/metadata")

  def predict(self, instances: Optional[List[Any]] = None, inputs: Any = None,
              signature_name: Optional[str] = None) -> Any:
    """Row format (`instances`) answers `predictions`; columnar (`inputs`) answers `outputs`."""
    if (instances is None) == (inputs is None):
      raise ValueError("give instances or inputs")
    body: Dict[str, Any] = {"instances": instances} if instances is not None else {"inputs": inputs}
    if signature_name:
      body["signature_name"] = signature_name
    reply = self._call("POST", ":predict", body)
    return reply["predictions"] if instances is not None else reply["outputs"]

  def classify(self, examples: List[Mapping[str, Any]], context: Optional[Mapping[str, Any]] = None,
               signature_name: Optional[str] = None) -> List[List[Any]]:
    return self._examples(":classify", examples, context, signature_name)

  def regress(self, examples: List[Mapping[str, Any]], context: Optional[Mapping[str, Any]] = None,
              signature_name: Optional[str] = None) -> List[float]:
    return self._examples(":regress", examples, context, signature_name)

  def _examples(self, verb, examples, context, signature_name):
    body: Dict[str, Any] = {"examples": list(examples)}
    if context is not None:
      body["context"] = dict(context)
    if signature_name:
      body["signature_name"] = signature_name
    return self._call("POST", verb, body)["results"]
