"""ServingInfraValidator: the candidate served by this project's model server (see component.py).

Import-light on purpose: the run view (pipelines/run_view.py) reads these property
names without importing TFX or TensorFlow.
"""

BLESSED_KEY = "blessed"  # what TFX's Pusher reads (tfx/components/util/model_utils.py is_infra_validated)
MESSAGE_KEY = "infra_validation_message"  # one line: what was checked, or why it failed
