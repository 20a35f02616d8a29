"""The protocol buffer modules the clients use: generated for the client package, else TensorFlow's.

Which ones, decided once at import:

- serving/client/_generated/, when it exists: the client package's own modules,
  generated at build time by client/protogen.py from TF 2.16's and TF Serving
  2.16's schemas (the mnist-tfx-client wheel has it; a checkout has it after
  `make` runs `python client/protogen.py` when it creates .venv/). Importing them costs ~0.1 s and no TensorFlow.
  They register in a pool of their own (serving/client/proto_pool.py), so they live
  beside TensorFlow's same-named modules in one process, whichever loads first.
- otherwise TensorFlow's and tensorflow-serving-api's modules (the mnist-tfx wheel,
  the Kubeflow image, a checkout that has not generated them): the same messages, but importing them imports TensorFlow
  (~7 s), as the client did before it had its own.

Either way the names below are the same modules' names, the wire bytes are the same
and so are the gRPC method paths (/tensorflow.serving.PredictionService/Predict, ...),
which protoc takes from the .proto's package and service, not from the Python module.
"""

# pylint: disable=unused-import
try:
  from serving.client._generated.tensorflow.core.example import example_pb2, feature_pb2
  from serving.client._generated.tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
  from serving.client._generated.tensorflow_serving.apis import (
      classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, input_pb2,
      model_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc, regression_pb2)
  BUNDLED = True
except ModuleNotFoundError as e:
  if not (e.name or "").startswith("serving.client._generated"):
    raise
  # A client's terminal shows answers, not TensorFlow's start-up lines (cuDNN/cuFFT
  # factories, oneDNN); level 3 is the one that silences them in TF 2.16.
  import os  # pylint: disable=import-outside-toplevel
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  from tensorflow.core.example import example_pb2, feature_pb2  # noqa: F401
  from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: F401
  from tensorflow_serving.apis import (  # noqa: F401
      classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, input_pb2,
      model_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc, regression_pb2)
  BUNDLED = False
