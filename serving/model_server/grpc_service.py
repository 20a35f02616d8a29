"""TF Serving's gRPC API on grpcio: PredictionService and ModelService.

Status codes as TF Serving returns them (predict_util.cc, classifier.cc,
get_model_metadata_impl.cc, get_model_status_impl.cc): an unknown signature is
FAILED_PRECONDITION for Predict but INVALID_ARGUMENT for Classify/Regress;
messages over 1,024 characters are cut as grpc_status_util.cc cuts them.
"""

from typing import Optional, Tuple

import grpc
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     inference_pb2, model_service_pb2_grpc,
                                     predict_pb2, prediction_service_pb2_grpc, regression_pb2)

from serving.model_server import errors, inference, protos


def _spec(model_spec) -> Tuple[str, Optional[int], Optional[str]]:
  version = model_spec.version.value if model_spec.HasField("version") else None
  label = model_spec.version_label if model_spec.WhichOneof("version_choice") == "version_label" else None
  return model_spec.name, version, label


def _fill_spec(target, servable, signature_name: str) -> None:
  target.name = servable.name
  target.version.value = servable.version
  target.signature_name = signature_name


def _fill_classifications(result, classifications) -> None:
  """ClassificationResult from inference.classify's (label, score) lists; None = not output."""
  for classes in classifications:
    classification = result.classifications.add()
    for label, score in classes:
      entry = classification.classes.add()
      if label is not None:
        entry.label = label
      if score is not None:
        entry.score = score


def _fill_regressions(result, values) -> None:
  for value in values:
    result.regressions.add(value=value)


class _Handler:
  """Turns ServingError into the gRPC status TF Serving would send."""

  @staticmethod
  def _abort(context, error: errors.ServingError):
    context.abort(error.code, error.grpc_message)


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer, _Handler):

  def __init__(self, manager, batcher=None):
    self.manager, self.batcher = manager, batcher

  def _servable(self, request):
    if not request.HasField("model_spec"):
      raise errors.invalid("Missing ModelSpec")
    return self.manager.servable(*_spec(request.model_spec))

  def Predict(self, request, context):  # pylint: disable=invalid-name
    try:
      servable = self._servable(request)
      signature = request.model_spec.signature_name or "serving_default"
      inputs = protos.input_arrays(request.inputs)
      if self.batcher is not None and not request.output_filter:
        outputs = self.batcher.submit(servable, signature, inputs, grpc_api=True).result()
      else:
        outputs = inference.predict(servable, signature, inputs, list(request.output_filter),
                                    grpc_api=True)
      response = predict_pb2.PredictResponse()
      response.model_spec.name = request.model_spec.name
      response.model_spec.version.value = servable.version
      response.model_spec.signature_name = signature
      for name, value in outputs.items():
        response.outputs[name].CopyFrom(protos.to_tensor_proto(value))
      return response
    except errors.ServingError as e:
      return self._abort(context, e)

  def _examples_api(self, request, context, run, response_type, fill):
    """Classify and Regress: tf.Examples in, one result per example out."""
    try:
      servable = self._servable(request)
      signature = request.model_spec.signature_name or "serving_default"
      results = run(servable, signature, protos.serialized_examples(request.input))
      response = response_type()
      _fill_spec(response.model_spec, servable, signature)
      fill(response.result, results)
      return response
    except errors.ServingError as e:
      return self._abort(context, e)

  def Classify(self, request, context):  # pylint: disable=invalid-name
    return self._examples_api(request, context, inference.classify,
                              classification_pb2.ClassificationResponse, _fill_classifications)

  def Regress(self, request, context):  # pylint: disable=invalid-name
    return self._examples_api(request, context, inference.regress,
                              regression_pb2.RegressionResponse, _fill_regressions)

  def MultiInference(self, request, context):  # pylint: disable=invalid-name
    try:
      if not request.tasks:
        raise errors.invalid("Found ModelSpec with an empty model name.")
      names = {t.model_spec.name for t in request.tasks}
      if "" in names:
        raise errors.invalid("Found ModelSpec with an empty model name.")
      if len(names) > 1:
        raise errors.invalid("All ModelSpecs in a MultiInferenceRequest must access the same model name.")
      servable = self.manager.servable(*_spec(request.tasks[0].model_spec))
      serialized = protos.serialized_examples(request.input)
      response = inference_pb2.MultiInferenceResponse()
      seen = set()
      for task in request.tasks:
        signature = task.model_spec.signature_name or "serving_default"
        if signature in seen:
          raise errors.invalid(f"Duplicate evaluation of signature: {signature}")
        seen.add(signature)
        result = response.results.add()
        _fill_spec(result.model_spec, servable, signature)
        if task.method_name == "tensorflow/serving/classify":
          _fill_classifications(result.classification_result,
                                inference.classify(servable, signature, serialized))
        elif task.method_name == "tensorflow/serving/regress":
          _fill_regressions(result.regression_result, inference.regress(servable, signature, serialized))
        else:
          raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                    f"Unsupported signature method_name: {task.method_name}")
      return response
    except errors.ServingError as e:
      return self._abort(context, e)

  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    try:
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
    except errors.ServingError as e:
      return self._abort(context, e)


class ModelService(model_service_pb2_grpc.ModelServiceServicer, _Handler):

  def __init__(self, manager):
    self.manager = manager

  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    try:
      if not request.HasField("model_spec"):
        raise errors.invalid("Missing ModelSpec")
      name, version, _ = _spec(request.model_spec)  # a label is ignored, as TF Serving does
      return self.manager.status(name, version)
    except errors.ServingError as e:
      return self._abort(context, e)

  def HandleReloadConfigRequest(self, request, context):  # pylint: disable=invalid-name
    context.abort(grpc.StatusCode.UNIMPLEMENTED,
                  "HandleReloadConfigRequest is not supported; edit the model config file and "
                  "restart, or push new versions (they are polled)")


