"""Trainer code: the tutorial models, their recipes and exports.

TFX 1.16's Trainer, Transform and Evaluator run tf-keras (Keras 2) code, and
TensorFlow 2.16 decides what `tf.keras` is when TensorFlow is first imported.
This is the one place the switch is set; every entry point (the CLI, the
container entrypoint, conftest, bench scripts) imports this package before
anything imports TensorFlow. Child processes (Beam workers) inherit it.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
