# The image every Kubeflow task runs (`mnist-tfx compile --target kubeflow --image ...`).
# It is the project installed as a wheel with the same pins as a laptop (constraints.txt),
# plus the schemas at /pipeline/schemas, where the compiled spec points ImportSchemaGen
# (runners/kubeflow_v2.IMAGE_SCHEMAS_DIR). Every task's command is
# `python -m runners.kubeflow_v2_entrypoint`, so the working directory does not matter.
#   make image IMAGE=registry.example/mnist-tfx:1.0 && docker push registry.example/mnist-tfx:1.0
# Debian 12 (glibc 2.36), as the machines the pins were chosen on.
FROM python:3.10.13-slim-bookworm

# Bytecode is compiled once, at build, by uv's --compile-bytecode (as the Makefile installs).
# Every Kubeflow task is a new container: one that compiles TensorFlow, TFX and Beam at import
# pays that in every task, and under PYTHONDONTWRITEBYTECODE in every Python process of it
# (Beam's workers too). So: compiled here, and that variable is not set.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /pipeline

COPY constraints.txt /tmp/constraints.txt
RUN pip install "uv==$(sed -n 's/^uv==//p' /tmp/constraints.txt)"
COPY setup.py README.md /tmp/src/
COPY components /tmp/src/components
COPY models /tmp/src/models
COPY pipelines /tmp/src/pipelines
COPY runners /tmp/src/runners
COPY schemas /tmp/src/schemas
COPY serving /tmp/src/serving
RUN uv pip install --system --compile-bytecode -c /tmp/constraints.txt /tmp/src \
 && cp -r /tmp/src/schemas /pipeline/schemas \
 && rm -rf /tmp/src \
 && python -c "import runners.kubeflow_v2_entrypoint, models.mnist.model, models.regression.model"

# Beam's SDK harness, so the same image is a Beam worker on Dataflow, Flink or Spark
# (`--beam-arg=--sdk_container_image=IMAGE`, or `--environment_type=DOCKER
# --environment_config=IMAGE`); the tag is the apache-beam pin in constraints.txt (a test holds
# them equal). Kubeflow tasks set their own command, which replaces this entrypoint.
COPY --from=apache/beam_python3.10_sdk:2.59.0 /opt/apache/beam /opt/apache/beam
ENTRYPOINT ["/opt/apache/beam/boot"]
