#!/usr/bin/env bash
# Serves the pushed models with the official TF Serving image:
#   serving/deploy/docker-run.sh [SERVING_DIR]      (default: tfx_home/serving)
# SERVING_DIR holds mnist/<version>/ and regression/<version>/, as `mnist-tfx run` pushes them.
# REST on 8501 (/v1/models/mnist:predict, Prometheus at /monitoring/prometheus/metrics),
# gRPC on 8500 (with grpc.health.v1.Health).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
serving_dir="$(cd "${1:-tfx_home/serving}" && pwd)"
exec docker run --rm -p 8500:8500 -p 8501:8501 \
  --mount "type=bind,source=${serving_dir},target=/models,readonly" \
  --mount "type=bind,source=${here},target=/config,readonly" \
  tensorflow/serving:2.16.1 \
  --model_config_file=/config/models.config \
  --model_config_file_poll_wait_seconds=60 \
  --file_system_poll_wait_seconds=1 \
  --enable_batching --batching_parameters_file=/config/batching_parameters.txt \
  --monitoring_config_file=/config/monitoring.config --enable_grpc_healthcheck_service=true
