"""mnist-tfx: the TensorFlow tutorial models as a production TFX pipeline.

The wheel carries everything a pipeline needs where it runs (a Kubeflow image,
a fresh venv): the packages, the curated schemas, the `mnist-tfx` command.
Tests (`*_test.py`) stay in the checkout.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildPyWithoutTests(build_py):
  """Leaves the `*_test.py` modules that sit beside the code out of the wheel."""

  def find_package_modules(self, package, package_dir):
    return [m for m in super().find_package_modules(package, package_dir) if not m[1].endswith("_test")]


setup(
    name="mnist-tfx",
    version="0.1.0",
    description="TFX pipelines for the classic TensorFlow MNIST and regression tutorials",
    python_requires="==3.10.*",
    packages=find_packages(include=["schemas*", "components*", "models*", "pipelines*", "runners*",
                                    "serving*"]),
    package_data={"schemas": ["*/*.pbtxt"]},
    cmdclass={"build_py": BuildPyWithoutTests},
    install_requires=[
        # Exact versions of everything live in constraints.txt.
        "tfx[kfp]==1.16.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "apache-beam[gcp]==2.59.0",
        "dill",  # tfx-bsl 1.16 imports it; newer Beam no longer pulls it in
        "tensorflow-datasets",
        "tensorflow-serving-api==2.16.1",
        # The local TF Serving-compatible model server (serving/model_server/).
        "starlette",
        "uvicorn",
        "httptools",  # uvicorn's C HTTP parser: its default h11 costs ~0.2 ms per request
        "uvloop",
        "grpcio-health-checking",  # grpc.health.v1.Health on the gRPC port (Kubernetes' gRPC probe)
        "google-crc32c",  # TFRecord framing of the request logs (model_server/request_log.py)
        "matplotlib",  # run report plots
    ],
    # grpcio-tools: client/protogen.py's protoc, for the client's protos (its tests build the
    # mnist-tfx-client wheel; `python client/protogen.py` makes a checkout's client TF-free).
    extras_require={"dev": ["pytest", "grpcio-tools"]},
    entry_points={"console_scripts": ["mnist-tfx=runners.cli:entry_point"]},
)
