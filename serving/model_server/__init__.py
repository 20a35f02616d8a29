"""A TF Serving-compatible model server: TF Serving's REST and gRPC APIs over SavedModels in-process.

There is no TF Serving binary on these machines, so clients, benchmarks and the
pipeline's infra-validation gate talk to this server instead, over the same
protocols: paths, JSON shapes, error bodies and codes follow tensorflow/serving
(util/json_tensor.cc, model_servers/http_rest_api_handler.cc, predict_util.cc,
classifier.cc, regressor.cc, get_model_status_impl.cc, server_core.cc); so do
its Prometheus metrics (metrics.py: util/prometheus_exporter.cc's page of TF
Serving's own metrics), its request logs (request_log.py: PredictionLog TFRecords
as logging_config describes them) and grpc.health.v1 on the gRPC port. It
imports TensorFlow and the TF Serving protos, never TFX.
"""
