"""Warm start: a new model begins from the served model's weights when it is the same model.

Every Trainer writes `assets.extra/mnist_tfx/training.json` into its SavedModel
(components/pushed_model.TRAINING_RECORD; TF Serving leaves assets.extra alone):
the recipe's model name, the shapes of its variables in order, the data it was
trained on (the run's source and spans, as the CLI describes them) and the version
it warm-started from. The next Trainer gets the served version as TFX's
`base_model` input (fn_args.base_model, a copy made by ServedBaseline) and starts
from its weights only if the model name and every variable shape agree; otherwise
it trains from scratch and says why.

The weights are read from the SavedModel's checkpoint, not by loading the graph:
the serving module tracks exactly `model.variables`, in order, as `_variables/<i>`
(models/serving_export.ServingModule), so checkpoint entry i is variable i.
"""

import json
import os
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf
from absl import logging
from tensorflow.python.util import _pywrap_util_port

from components import pushed_model

# The serving module's tracked list (serving_export.ServingModule._variables), as
# tf.train.Checkpoint names its entries.
_VARIABLE_KEY = "_variables/{}/.ATTRIBUTES/VARIABLE_VALUE"


def shapes(model) -> List[List[int]]:
  return [list(v.shape) for v in model.variables]


def write_record(serving_model_dir: str, model_name: str, model, data: Optional[str],
                 warm_start_from: Optional[str], spans: Optional[List[int]] = None) -> None:
  """The training record the next run's warm start reads (and `watch` its spans)."""
  path = os.path.join(serving_model_dir, pushed_model.TRAINING_RECORD)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, "w") as f:
    json.dump({"model": model_name, "variable_shapes": shapes(model), "data": data,
               "spans": spans, "warm_start_from": warm_start_from,
               # What this process trained with (models/precision.py chooses it per CPU kind).
               "onednn": bool(_pywrap_util_port.IsMklEnabled())}, f, sort_keys=True)


def read_record(serving_model_dir: str) -> Optional[Dict[str, Any]]:
  """The training record in a SavedModel dir, or None (none written, or unreadable)."""
  return pushed_model.training_record(serving_model_dir)


def from_base_model(model, model_name: str, base_model_dir: Optional[str],
                    base_version: Optional[str]) -> Tuple[Optional[str], str]:
  """Sets `model`'s weights from the base model if it is the same model: (version or None, why)."""
  if not base_model_dir or not tf.io.gfile.exists(base_model_dir):
    return None, "cold start: nothing served yet"
  record = read_record(base_model_dir)
  where = f"served version {base_version}" if base_version else "the served model"
  if record is None:
    return None, f"cold start: {where} has no training record ({pushed_model.TRAINING_RECORD})"
  if record.get("model") != model_name:
    return None, f"cold start: {where} is a {record.get('model')} model, not {model_name}"
  if record.get("variable_shapes") != shapes(model):
    return None, (f"cold start: {where} has other layer shapes "
                  f"({record.get('variable_shapes')} vs {shapes(model)})")
  reader = tf.train.load_checkpoint(os.path.join(base_model_dir, "variables", "variables"))
  values = [reader.get_tensor(_VARIABLE_KEY.format(i)) for i in range(len(model.variables))]
  for variable, value in zip(model.variables, values):
    variable.assign(value)
  logging.info("Warm start: %d variables from %s (%s)", len(values), where, base_model_dir)
  return base_version, f"warm start from {where} ({model_name}, same layer shapes)"
