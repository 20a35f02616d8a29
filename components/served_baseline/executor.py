"""Executor of ServedBaseline: copies the served version into the pipeline's artefacts.

Copied, not referenced: the Evaluator reads `<model uri>/Format-Serving`, and a
newer push may remove the old version while this run still uses it.
"""

import os
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components import gate_result, pushed_model
from components.served_baseline import SERVED_VERSION


class Executor(base_executor.BaseExecutor):
  """Outputs the served model and its training statistics, or marks them absent."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    del input_dict
    base = exec_properties["serving_dir"]
    model = artifact_utils.get_single_instance(output_dict["model"])
    statistics = artifact_utils.get_single_instance(output_dict["statistics"])
    # A version named when the run was built is the one meant (the local runner names the one
    # served then, or, for the warm-start base, an older one); gone since: absent. Unnamed
    # (a compiled spec): whatever is served now.
    version = exec_properties.get("served_version") or pushed_model.served_version(base)
    if version is not None and not any(
        fileio.exists(os.path.join(base, version, name)) for name in pushed_model.SAVED_MODEL_FILES):
      logging.warning("ServedBaseline: version %s of %s is gone", version, base)
      version = None
    has_statistics = False
    if version is not None:
      version_dir = os.path.join(base, version)
      io_utils.copy_dir(version_dir, path_utils.serving_model_dir(model.uri))
      stats_dir = pushed_model.statistics_dir(version_dir)
      if fileio.isdir(stats_dir):
        io_utils.copy_dir(stats_dir, statistics.uri)
        splits = sorted(name.rstrip("/")[len("Split-"):] for name in fileio.listdir(stats_dir)
                        if name.startswith("Split-"))
        statistics.split_names = artifact_utils.encode_split_names(splits)
        has_statistics = True
    for artifact, present in ((model, version is not None), (statistics, has_statistics)):
      artifact.set_int_custom_property(gate_result.BASELINE_PRESENT, int(present))
      artifact.set_string_custom_property(SERVED_VERSION, version or "")
    logging.info("ServedBaseline: %s", f"version {version} of {base}" if version else
                 f"nothing served under {base} yet")
