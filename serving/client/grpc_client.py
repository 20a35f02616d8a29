"""A gRPC client for TF Serving's PredictionService and ModelService (stubs: serving/client/protos.py)."""

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import grpc
import numpy as np

from serving.client import tensors
from serving.client.errors import ServerUnreachable, ServingError
from serving.client.protos import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                   model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc,
                                   regression_pb2)

_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class GrpcClient:
  """One model on one server: `GrpcClient("127.0.0.1:8500", "mnist")`."""

  def __init__(self, target: str, model: str, version: Optional[int] = None,
               label: Optional[str] = None, timeout: float = 30.0):
    if version is not None and label is not None:
      raise ValueError("give a version or a label, not both")
    self.model, self.version, self.label, self.timeout = model, version, label, timeout
    self.channel = grpc.insecure_channel(target, options=_OPTIONS)
    self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
    self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)

  def _spec(self, spec, signature_name: Optional[str] = None) -> None:
    spec.name = self.model
    if self.version is not None:
      spec.version.value = self.version
    elif self.label is not None:
      spec.version_label = self.label
    if signature_name:
      spec.signature_name = signature_name

  def _rpc(self, method, request):
    try:
      return method(request, timeout=self.timeout)
    except grpc.RpcError as e:
      if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        raise ServerUnreachable(e.details() or e.code().name, grpc_code=e.code().name) from None
      raise ServingError(e.details() or "", grpc_code=e.code().name) from None

  def status(self) -> List[Tuple[int, str]]:
    request = get_model_status_pb2.GetModelStatusRequest()
    self._spec(request.model_spec)
    response = self._rpc(self.models.GetModelStatus, request)
    return [(s.version, get_model_status_pb2.ModelVersionStatus.State.Name(s.state))
            for s in response.model_version_status]

  def metadata(self) -> get_model_metadata_pb2.SignatureDefMap:
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    self._spec(request.model_spec)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    self._rpc(self.predictions.GetModelMetadata, request).metadata["signature_def"].Unpack(signatures)
    return signatures

  def predict(self, inputs: Mapping[str, np.ndarray], signature_name: Optional[str] = None,
              output_filter: Sequence[str] = ()) -> Dict[str, np.ndarray]:
    request = predict_pb2.PredictRequest(output_filter=list(output_filter))
    self._spec(request.model_spec, signature_name)
    for name, value in inputs.items():
      request.inputs[name].CopyFrom(tensors.to_tensor_proto(np.asarray(value)))
    response = self._rpc(self.predictions.Predict, request)
    return {name: tensors.to_array(proto) for name, proto in response.outputs.items()}

  def classify(self, examples: Sequence[bytes], signature_name: Optional[str] = None
               ) -> List[List[Tuple[str, float]]]:
    request = classification_pb2.ClassificationRequest()
    self._spec(request.model_spec, signature_name)
    for serialized in examples:
      request.input.example_list.examples.add().ParseFromString(serialized)
    response = self._rpc(self.predictions.Classify, request)
    return [[(c.label, c.score) for c in r.classes] for r in response.result.classifications]

  def regress(self, examples: Sequence[bytes], signature_name: Optional[str] = None) -> List[float]:
    request = regression_pb2.RegressionRequest()
    self._spec(request.model_spec, signature_name)
    for serialized in examples:
      request.input.example_list.examples.add().ParseFromString(serialized)
    response = self._rpc(self.predictions.Regress, request)
    return [r.value for r in response.result.regressions]

  def close(self) -> None:
    self.channel.close()


