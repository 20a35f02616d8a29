"""Generates the client's protocol buffer modules with grpcio-tools, at build time.

    python client/protogen.py            # into serving/client/_generated/ (a checkout)
    python client/protogen.py --out DIR  # DIR/serving/client/_generated/ (a wheel's build_lib)

The schemas are those of the pinned releases, read from the build environment
(the project venv; nothing of them is committed here):

- TensorFlow 2.16: the .proto files the tensorflow wheel carries under
  tensorflow/include/ (tensorflow/core/example/example.proto, .../tensor.proto, ...).
- TF Serving 2.16: the tensorflow-serving-api wheel has no .proto files, only its
  generated *_pb2.py modules, each holding its file's compiled FileDescriptorProto.
  Those are read as text (never imported: that would import TensorFlow), gathered into
  a FileDescriptorSet and given to protoc with --descriptor_set_in, which treats them
  as the input .proto files (protoc --help). They are the release's own schemas:
  compiled from tensorflow/serving at tag 2.16.1 they give the same descriptors.

protoc (grpcio-tools 1.48.2 bundles libprotoc 3.19.5, whose code runs on protobuf
3.20.3) writes *_pb2.py for ROOTS and everything they import, and *_pb2_grpc.py for
the two services. Then two mechanical rewrites, checked line by line (REWRITES):

- imports: `from tensorflow.core.framework import tensor_pb2` would import TensorFlow;
  the generated modules live under serving.client._generated, so they import there.
- the descriptor pool: protoc's modules register in the default pool, where
  TensorFlow's own modules register the same files; the bundled ones register in
  serving/client/proto_pool.py's private pool instead (why: that module's docstring).

The serialized descriptors themselves are not touched: client_package_test checks
they equal TensorFlow's and TF Serving's byte for byte.
"""

import argparse
import ast
import importlib.metadata
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from typing import Dict, Iterable, List, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "serving.client._generated"
# What serving/client/protos.py imports; their imports are generated too.
ROOTS = ("tensorflow/core/example/example.proto", "tensorflow/core/example/feature.proto",
         "tensorflow/core/framework/tensor.proto", "tensorflow/core/framework/tensor_shape.proto",
         "tensorflow/core/framework/types.proto",
         "tensorflow_serving/apis/predict.proto", "tensorflow_serving/apis/classification.proto",
         "tensorflow_serving/apis/regression.proto", "tensorflow_serving/apis/inference.proto",
         "tensorflow_serving/apis/input.proto", "tensorflow_serving/apis/model.proto",
         "tensorflow_serving/apis/get_model_status.proto",
         "tensorflow_serving/apis/get_model_metadata.proto",
         "tensorflow_serving/apis/model_service.proto",
         "tensorflow_serving/apis/prediction_service.proto")
SERVICES = ("tensorflow_serving/apis/model_service.proto", "tensorflow_serving/apis/prediction_service.proto")
# The pinned releases (constraints.txt); another version's schemas are not what was tested.
RELEASES = {"tensorflow": "2.16.", "tensorflow-serving-api": "2.16."}
# Well-known types come with protobuf itself; proto_pool.WELL_KNOWN adds them to the pool.
WELL_KNOWN_PREFIX = "google/protobuf/"
_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.M)
REWRITES = (
    (re.compile(r"^from (tensorflow|tensorflow_serving|tsl|xla)([. ])", re.M), rf"from {PACKAGE}.\1\2"),
    (re.compile(r"'__module__' : '(tensorflow|tensorflow_serving|tsl|xla)\."), rf"'__module__' : '{PACKAGE}.\1."),
    (re.compile(r"^_sym_db = _symbol_database\.Default\(\)$", re.M),
     "from serving.client import proto_pool as _proto_pool\n_sym_db = _proto_pool.SYMBOLS"),
    (re.compile(r"^DESCRIPTOR = _descriptor_pool\.Default\(\)\.AddSerializedFile\(", re.M),
     "DESCRIPTOR = _proto_pool.POOL.AddSerializedFile("),
)


class ProtoSourceError(RuntimeError):
  """The build environment lacks the pinned schemas; str() says what to install."""


def _package_dir(name: str) -> str:
  spec = importlib.util.find_spec(name)  # finds, does not import (tensorflow's __init__ is slow)
  if spec is None or not spec.submodule_search_locations:
    raise ProtoSourceError(f"{name} is not installed: build in the project venv (pip wheel "
                           f"--no-build-isolation), which has the pinned releases' schemas")
  return list(spec.submodule_search_locations)[0]


def _check_releases() -> None:
  for dist, prefix in RELEASES.items():
    try:
      version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
      raise ProtoSourceError(f"{dist} is not installed: build in the project venv") from None
    if not version.startswith(prefix):
      raise ProtoSourceError(f"{dist} {version} is installed; the client is built from {prefix}x")


def _serialized_descriptor(path: str) -> bytes:
  """The FileDescriptorProto a generated *_pb2.py registers, read from its source text.

  Newer modules pass bytes to `AddSerializedFile(b'...')`; older ones (TF Serving's
  two service modules) `serialized_pb=_b('...')`, a latin-1 str.
  """
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), filename=path)
  for node in ast.walk(tree):
    if not isinstance(node, ast.Call):
      continue
    if isinstance(node.func, ast.Attribute) and node.func.attr == "AddSerializedFile":
      return node.args[0].value
    for keyword in node.keywords:
      if keyword.arg == "serialized_pb":
        value = keyword.value
        if isinstance(value, ast.Call) and value.args:  # _b('...')
          value = value.args[0]
        text = value.value
        return text if isinstance(text, bytes) else text.encode("latin-1")
  raise ProtoSourceError(f"{path}: no serialized descriptor found")


def _tf_serving_descriptors() -> Dict[str, bytes]:
  """proto file name -> FileDescriptorProto, for every module of tensorflow_serving."""
  from google.protobuf import descriptor_pb2  # pylint: disable=import-outside-toplevel
  base = os.path.dirname(_package_dir("tensorflow_serving"))
  found = {}
  for directory, _, files in os.walk(os.path.join(base, "tensorflow_serving")):
    for name in sorted(files):
      if name.endswith("_pb2.py"):
        serialized = _serialized_descriptor(os.path.join(directory, name))
        found[descriptor_pb2.FileDescriptorProto.FromString(serialized).name] = serialized
  return found


def _closure(include: str, serving: Dict[str, bytes]) -> List[str]:
  """ROOTS and every file they import, dependencies first (well-known types left out)."""
  from google.protobuf import descriptor_pb2  # pylint: disable=import-outside-toplevel
  order: List[str] = []
  seen: Set[str] = set()

  def imports(name: str) -> Iterable[str]:
    if name in serving:
      return descriptor_pb2.FileDescriptorProto.FromString(serving[name]).dependency
    path = os.path.join(include, name)
    if not os.path.isfile(path):
      raise ProtoSourceError(f"{name}: not in {include} nor in tensorflow-serving-api")
    with open(path, encoding="utf-8") as f:
      return _IMPORT.findall(f.read())

  def visit(name: str) -> None:
    if name in seen:
      return
    seen.add(name)
    for dependency in imports(name):
      if not dependency.startswith(WELL_KNOWN_PREFIX):
        visit(dependency)
    order.append(name)

  for name in ROOTS:
    visit(name)
  return order


def well_known_imports(include: str, serving: Dict[str, bytes], files: Iterable[str]) -> Set[str]:
  from google.protobuf import descriptor_pb2  # pylint: disable=import-outside-toplevel
  found = set()
  for name in files:
    if name in serving:
      deps = descriptor_pb2.FileDescriptorProto.FromString(serving[name]).dependency
    else:
      with open(os.path.join(include, name), encoding="utf-8") as f:
        deps = _IMPORT.findall(f.read())
    found.update(d for d in deps if d.startswith(WELL_KNOWN_PREFIX))
  return found


def _protoc(args: List[str]) -> None:
  # grpc_tools.protoc imports pkg_resources (gone from new setuptools) only to find its
  # bundled well-known .proto files; its compiler module is the same protoc without that.
  from grpc_tools import _protoc_compiler  # pylint: disable=import-outside-toplevel
  status = _protoc_compiler.run_main([b"protoc"] + [a.encode() for a in args])
  if status != 0:
    raise ProtoSourceError(f"protoc failed (exit {status}): {' '.join(args)}")


def _rewrite(path: str) -> None:
  with open(path, encoding="utf-8") as f:
    text = f.read()
  for pattern, replacement in REWRITES:
    text = pattern.sub(replacement, text)
  left = [line for line in text.splitlines()
          if re.match(r"(from|import) (tensorflow|tensorflow_serving|tsl|xla)\b", line)
          or "_descriptor_pool.Default()" in line or "_symbol_database.Default()" in line]
  if left:
    raise ProtoSourceError(f"{path}: lines the rewrite does not know: {left[:3]}")
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)


def _pool_well_known() -> Set[str]:
  """The well-known .proto files serving/client/proto_pool.py adds to its pool."""
  spec = importlib.util.spec_from_file_location(
      "_proto_pool", os.path.join(ROOT, "serving", "client", "proto_pool.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return {m.DESCRIPTOR.name for m in module.WELL_KNOWN}


def generate(out_root: str) -> List[str]:
  """Writes out_root/serving/client/_generated/**; returns the .proto names it compiled."""
  from google.protobuf import descriptor_pb2  # pylint: disable=import-outside-toplevel
  _check_releases()
  include = os.path.join(_package_dir("tensorflow"), "include")
  serving = _tf_serving_descriptors()
  files = _closure(include, serving)
  missing = well_known_imports(include, serving, files) - _pool_well_known()
  if missing:
    raise ProtoSourceError(f"serving/client/proto_pool.py WELL_KNOWN lacks {sorted(missing)}")
  import grpc_tools  # pylint: disable=import-outside-toplevel
  well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
  target = os.path.join(out_root, *PACKAGE.split("."))
  with tempfile.TemporaryDirectory() as work:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for name in files:
      if name in serving:
        descriptor_set.file.add().ParseFromString(serving[name])
    set_path = os.path.join(work, "tf_serving.pb")
    with open(set_path, "wb") as f:
      f.write(descriptor_set.SerializeToString())
    out = os.path.join(work, "out")
    os.mkdir(out)
    common = [f"-I{include}", f"-I{well_known}", f"--descriptor_set_in={set_path}"]
    _protoc(common + [f"--python_out={out}"] + files)
    _protoc(common + [f"--grpc_python_out={out}"] + list(SERVICES))
    for directory, _, names in os.walk(out):
      for name in names:
        _rewrite(os.path.join(directory, name))
      if directory != out:
        open(os.path.join(directory, "__init__.py"), "w").close()
    with open(os.path.join(out, "__init__.py"), "w", encoding="utf-8") as f:
      f.write(f'"""Written by client/protogen.py from the TF {RELEASES["tensorflow"]}x and TF Serving '
              f'{RELEASES["tensorflow-serving-api"]}x schemas; not edited, not committed."""\n')
    if os.path.isdir(target):
      shutil.rmtree(target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copytree(out, target)
  return files


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="protogen", description=__doc__.splitlines()[0])
  parser.add_argument("--out", default=ROOT, help="root to write serving/client/_generated/ under")
  args = parser.parse_args(argv)
  try:
    files = generate(args.out)
  except ProtoSourceError as e:
    print(f"protogen: error: {e}", file=sys.stderr)
    return 2
  print(f"protogen: {len(files)} files -> {os.path.join(args.out, *PACKAGE.split('.'))}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
