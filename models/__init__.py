"""TFX 1.16 trainer code is tf-keras (Keras 2); pin tf.keras to it before TF loads."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
