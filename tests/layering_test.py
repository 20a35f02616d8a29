"""Imports flow one way: contracts → serving → components → models → pipelines → runners.

Read from the sources with `ast` (every import, top-level or inside a function), so a
lazy import from a higher layer is caught too. Tests (`*_test.py`) may import anything.
The serving clients are stricter: the contracts and themselves only — never TFX, the
pipeline or the model server — so they can ship without them.
"""

import ast
import os

import pytest

from tests import fixtures

# Lower layers first; a module may import its own layer and those before it.
LAYERS = ("schemas", "serving", "components", "models", "pipelines", "runners", "bench")
PROJECT = set(LAYERS) | {"tests"}


def _modules():
  for layer in LAYERS:
    for directory, _, files in os.walk(os.path.join(fixtures.ROOT, layer)):
      for name in files:
        if name.endswith(".py") and not name.endswith("_test.py"):
          yield layer, os.path.join(directory, name)


def _imports(path):
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), filename=path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      yield node.lineno, node.module


def test_no_module_imports_a_higher_layer():
  wrong = []
  for layer, path in _modules():
    allowed = set(LAYERS[:LAYERS.index(layer) + 1])
    for line, module in _imports(path):
      top = module.split(".")[0]
      if top in PROJECT and top not in allowed:
        wrong.append(f"{os.path.relpath(path, fixtures.ROOT)}:{line} imports {module}")
  assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("forbidden", ["tfx", "pipelines", "components", "models",
                                       "serving.model_server", "runners"])
def test_serving_clients_import_the_contracts_only(forbidden):
  client = os.path.join(fixtures.ROOT, "serving", "client")
  wrong = [f"{name}:{line} imports {module}" for name in sorted(os.listdir(client))
           if name.endswith(".py") and not name.endswith("_test.py")
           for line, module in _imports(os.path.join(client, name))
           if module == forbidden or module.startswith(forbidden + ".")]
  assert not wrong, "\n".join(wrong)
