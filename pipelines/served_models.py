"""What is pushed: every version under each served model's base path, with the run that made it.

A projection of the version directories (serving/base_path.py) and the run view
(pipelines/run_view.py): the run whose Pusher wrote the version (the first, if later
runs confirmed the same model), its pipeline, recipe, metrics, blessing and data; the
labels a TF Serving model config gives it. A version copied in by hand has no record
and is listed as such. No TensorFlow (for local paths): `mnist-tfx models` answers fast.
"""

import dataclasses
import datetime
import os
from typing import Any, Dict, List, Optional

from pipelines import run_view
from serving import base_path as layout


@dataclasses.dataclass
class PushedVersion:
  model: str
  version: int
  path: str
  pushed_at: float  # seconds since the epoch: the push's record, or the directory's mtime
  loadable: bool  # holds a SavedModel file (a partial push does not)
  size_bytes: int
  labels: List[str]
  run: Optional[run_view.Run] = None  # None: no run in ML Metadata pushed it

  def record(self) -> Dict[str, Any]:
    run = self.run
    return {"model": self.model, "version": self.version, "path": self.path,
            "pushed_at": datetime.datetime.utcfromtimestamp(self.pushed_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "loadable": self.loadable, "size_bytes": self.size_bytes, "labels": self.labels,
            "recorded": run is not None, "run_id": run.run_id if run else None,
            "pipeline": run.pipeline if run else None, "recipe": run.recipe if run else None,
            "metrics": run.metrics if run else {}, "blessed": run.blessed if run else None,
            "data": run.source if run else None, "spans": run.spans if run else [],
            "warm_start_from": run.warm_start_from if run else None}


def pushed_versions(base_paths: Dict[str, str], view: Optional[run_view.MetadataView] = None,
                    labels: Optional[Dict[str, Dict[int, List[str]]]] = None) -> List[PushedVersion]:
  """Every version under each model's base path, newest first per model (models by name).

  base_paths: model name → base path; labels: model name → version → label names.
  """
  pushes: Dict[Any, run_view.Run] = {}
  pushed_at: Dict[Any, float] = {}
  if view is not None:
    for run in reversed(view.runs()):  # oldest first: the run that first pushed a version wins
      if run.pushed_path:
        path = os.path.normpath(run.pushed_path)
        # By path, and by <model dir>/<version> for a home that was moved or copied since (the
        # record keeps the old path; versions are push timestamps, so the pair is unambiguous).
        for key in (path, _short_key(path)):
          if key not in pushes:
            pushes[key] = run
            pushed_at[key] = run.pushed.create_time_since_epoch / 1000
  out = []
  for model in sorted(base_paths):
    base = base_paths[model]
    for version in reversed(layout.versions(base)):
      path = os.path.join(base, str(version))
      key = os.path.normpath(path)
      if key not in pushes:
        key = _short_key(key)
      when = pushed_at.get(key) or (os.path.getmtime(path) if "://" not in path else float(version))
      out.append(PushedVersion(model, version, path, when, layout.is_loadable(path),
                               layout.size_bytes(path), (labels or {}).get(model, {}).get(version, []),
                               pushes.get(key)))
  return out


def _short_key(path: str):
  base, version = os.path.split(path.rstrip("/"))
  return ("short", os.path.basename(base), version)
