"""ServedBaseline: the served model and its training statistics as artefacts (see component.py).

Import-light on purpose: the run view (pipelines/run_view.py) reads this property
name without importing TFX.
"""

SERVED_VERSION = "served_version"  # custom property on both outputs: the version found, "" if none
