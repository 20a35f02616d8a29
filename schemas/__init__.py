"""Curated schemas and the dependency-free contracts beside them.

Everything that names a feature, a split or a serving signature imports it from
here: components, models, pipelines and the serving clients. Nothing in this
package imports TensorFlow or TFX, so a client can use the names without them.
"""

import os

SCHEMAS_DIR = os.path.dirname(os.path.abspath(__file__))
SCHEMA_FILE_NAME = "schema.pbtxt"


def schema_path(dataset: str) -> str:
  """The curated schema of `dataset` ("mnist", "regression") in this installed package."""
  return os.path.join(SCHEMAS_DIR, dataset, SCHEMA_FILE_NAME)
