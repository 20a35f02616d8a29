"""mnist-tfx-client: serving/client and the dependency-free modules it needs, as their own wheel.

The sources stay where the project keeps them (serving/client/, schemas/, the IDX
reader in components/); this build copies exactly the modules SOURCES lists, under
their own names, so `from serving.client import mnist` means the same here and in
the mnist-tfx wheel, and adds the protos client/protogen.py generates. Metadata and
dependencies: pyproject.toml. The mnist-tfx wheel holds the same client and contracts
(using TensorFlow's protos, which it has): install this one where mnist-tfx is not;
both in one venv would own the same files.
"""

import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import protogen  # noqa: E402  (client/protogen.py, beside this file)

# The client and what it imports, and nothing that imports TensorFlow (tests/client_package_test.py
# imports every one of them in a venv without it).
SOURCES = ("serving/__init__.py",
           "serving/client/__init__.py", "serving/client/cli.py", "serving/client/errors.py",
           "serving/client/grpc_client.py", "serving/client/mnist.py", "serving/client/proto_pool.py",
           "serving/client/protos.py", "serving/client/regression.py", "serving/client/rest.py",
           "serving/client/tensors.py",
           "schemas/__init__.py", "schemas/signatures.py",
           "schemas/mnist/__init__.py", "schemas/mnist/contract.py",
           "schemas/regression/__init__.py", "schemas/regression/contract.py",
           # The pipeline's strict IDX reader, for `mnist-tfx-client predict FILE-idx3-ubyte.gz`.
           "components/__init__.py", "components/mnist_idx_example_gen/__init__.py",
           "components/mnist_idx_example_gen/idx_reader.py")


class BuildPy(build_py):
  """build_py, plus SOURCES copied from the checkout and the generated protos."""

  def run(self):
    super().run()  # py_modules: mnist_tfx_client.py
    for relative in SOURCES:
      target = os.path.join(self.build_lib, relative)
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.copyfile(os.path.join(ROOT, relative), target)
    try:
      protogen.generate(self.build_lib)
    except protogen.ProtoSourceError as e:
      raise SystemExit(f"mnist-tfx-client: {e}") from None


setup(py_modules=["mnist_tfx_client"], packages=[], cmdclass={"build_py": BuildPy})
