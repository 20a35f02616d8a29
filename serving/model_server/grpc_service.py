"""TF Serving's gRPC API on grpcio: PredictionService and ModelService.

Status codes as TF Serving returns them (predict_util.cc, classifier.cc,
get_model_metadata_impl.cc, get_model_status_impl.cc): an unknown signature is
FAILED_PRECONDITION for Predict but INVALID_ARGUMENT for Classify/Regress;
messages over 1,024 characters are cut as grpc_status_util.cc cuts them.
"""

import functools
import time
from typing import Callable, Mapping, Optional, Tuple

import grpc
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     inference_pb2, model_management_pb2, model_service_pb2_grpc,
                                     predict_pb2, prediction_service_pb2_grpc, regression_pb2)

from schemas import signatures as conventions
from serving.model_server import config as server_config, errors, inference, metrics, protos


def _spec(model_spec) -> Tuple[str, Optional[int], Optional[str]]:
  version = model_spec.version.value if model_spec.HasField("version") else None
  label = model_spec.version_label if model_spec.WhichOneof("version_choice") == "version_label" else None
  return model_spec.name, version, label


def _model_name(request) -> str:
  """The model a PredictionService request names (MultiInference: its first task's, as
  multi_inference_helper.cc requires all to match)."""
  if hasattr(request, "tasks"):
    return request.tasks[0].model_spec.name if request.tasks else ""
  return request.model_spec.name


def _rpc(method=None, *, counted: bool = True):
  """An RPC handler whose ServingError becomes the status TF Serving would send.

  The one place errors meet gRPC: every handler below raises, none catches. For
  PredictionService calls (`counted`) it also records request_count{model_name,
  status} and, on success, request_latency{model_name, API=<the RPC's name>,
  entrypoint="GRPC"} in µs, as prediction_service_impl.cc does around Predict,
  Classify and Regress (this server also times MultiInference and
  GetModelMetadata under their names; TF Serving counts those two nowhere).
  """
  if method is None:
    return functools.partial(_rpc, counted=counted)

  @functools.wraps(method)
  def handler(self, request, context):
    started = time.perf_counter()
    try:
      response = method(self, request, context)
    except errors.ServingError as e:
      if counted:
        metrics.REQUEST_COUNT.increment(_model_name(request), metrics.status_name(e.code))
      context.abort(e.code, e.grpc_message)
    except Exception:
      if counted:  # grpcio answers UNKNOWN
        metrics.REQUEST_COUNT.increment(_model_name(request), "UNKNOWN")
      raise
    if counted:
      name = _model_name(request)
      metrics.REQUEST_LATENCY.add(name, method.__name__, "GRPC",
                                  value=(time.perf_counter() - started) * 1e6)
      metrics.REQUEST_COUNT.increment(name, "OK")
    return response
  return handler


def _servable(manager, request):
  if not request.HasField("model_spec"):
    raise errors.invalid("Missing ModelSpec")
  return manager.servable(*_spec(request.model_spec))


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
  """`loggers`: model name -> request_log.RequestLogger, for models with a logging_config."""

  def __init__(self, manager, batcher=None, loggers: Optional[Mapping[str, object]] = None):
    self.manager, self.batcher, self.loggers = manager, batcher, loggers or {}

  def _log(self, kind: str, request, response, servable, signature: Optional[str]) -> None:
    """Queues a sampled successful request's PredictionLog (request_log.py); never raises."""
    logger = self.loggers.get(servable.name)
    if logger is not None and logger.sampled():
      now = time.time()
      logger.submit(lambda: protos.prediction_log(kind, request, response, servable, signature, now))

  @_rpc
  def Predict(self, request, context):  # pylint: disable=invalid-name
    servable = _servable(self.manager, request)
    signature = inference.signature_key(request.model_spec.signature_name)
    inputs = protos.input_arrays(request.inputs)
    if self.batcher is not None and not request.output_filter:
      outputs = self.batcher.run(servable, signature, inputs)
    else:
      outputs = inference.predict(servable, signature, inputs, list(request.output_filter), api="Predict")
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = signature
    for name, value in outputs.items():
      response.outputs[name].CopyFrom(protos.to_tensor_proto(value))
    self._log("predict_log", request, response, servable, signature)
    return response

  def _examples_api(self, request, run, response_type, fill, api: str, kind: str):
    """Classify and Regress: tf.Examples in, one result per example out."""
    servable = _servable(self.manager, request)
    signature = inference.signature_key(request.model_spec.signature_name)
    results = run(servable, signature, protos.serialized_examples(request.input), api=api)
    response = response_type()
    protos.fill_spec(response.model_spec, servable, signature)
    fill(response.result, results)
    self._log(kind, request, response, servable, signature)
    return response

  @_rpc
  def Classify(self, request, context):  # pylint: disable=invalid-name
    return self._examples_api(request, inference.classify, classification_pb2.ClassificationResponse,
                              protos.fill_classifications, "Classify", "classify_log")

  @_rpc
  def Regress(self, request, context):  # pylint: disable=invalid-name
    return self._examples_api(request, inference.regress, regression_pb2.RegressionResponse,
                              protos.fill_regressions, "Regress", "regress_log")

  @_rpc
  def MultiInference(self, request, context):  # pylint: disable=invalid-name
    names = {t.model_spec.name for t in request.tasks}
    if not names or "" in names:
      raise errors.invalid("Found ModelSpec with an empty model name.")
    if len(names) > 1:
      raise errors.invalid("All ModelSpecs in a MultiInferenceRequest must access the same model name.")
    servable = self.manager.servable(*_spec(request.tasks[0].model_spec))
    response = inference_pb2.MultiInferenceResponse()
    for signature, method_name, results in inference.multi_inference(
        servable, protos.multi_inference_tasks(request), protos.serialized_examples(request.input),
        record=True):
      result = response.results.add()
      protos.fill_spec(result.model_spec, servable, signature)
      if method_name == conventions.CLASSIFY_METHOD_NAME:
        protos.fill_classifications(result.classification_result, results)
      else:
        protos.fill_regressions(result.regression_result, results)
    self._log("multi_inference_log", request, response, servable, None)
    return response

  @_rpc
  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    if not request.HasField("model_spec"):
      raise errors.invalid("Missing ModelSpec")
    if not request.metadata_field:
      raise errors.invalid("GetModelMetadataRequest must specify at least one metadata_field")
    for field in request.metadata_field:
      if field != "signature_def":
        raise errors.invalid(f"Metadata field {field} is not supported")
    servable = self.manager.servable(*_spec(request.model_spec))
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, definition in servable.meta_graph.signature_def.items():
      signature_map.signature_def[key].CopyFrom(definition)
    response.metadata["signature_def"].Pack(signature_map)
    return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):

  def __init__(self, manager, reload: Optional[Callable[[list], None]] = None):
    self.manager = manager
    self._reload = reload  # ModelServer.reload; None: this server cannot be reconfigured

  @_rpc(counted=False)  # ModelService: TF Serving records no request metric for it
  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    if not request.HasField("model_spec"):
      raise errors.invalid("Missing ModelSpec")
    name, version, _ = _spec(request.model_spec)  # a label is ignored, as TF Serving does
    return self.manager.status(name, version)

  @_rpc(counted=False)
  def HandleReloadConfigRequest(self, request, context):  # pylint: disable=invalid-name
    """model_service_impl.cc: the request's ModelServerConfig replaces the server's; the reply
    carries the status (OK) once the new config's versions are loaded and its labels moved; a
    config the server refuses is that error's code and message, and nothing changes."""
    if self._reload is None:
      raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED, "this server cannot be reconfigured")
    if request.config.WhichOneof("config") != "model_config_list":
      raise errors.invalid("ServerModelConfig type not supported by HandleReloadConfigRequest. "
                           "Only ModelConfigList is currently supported")
    try:
      models = server_config.models_from_proto(request.config, source="ReloadConfigRequest")
    except server_config.ServerConfigError as e:
      raise errors.invalid(str(e)) from None
    self._reload(models)
    response = model_management_pb2.ReloadConfigResponse()
    response.status.SetInParent()  # error_code 0: OK (ToStatusProto of an OK status)
    return response
