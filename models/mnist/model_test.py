"""The softmax model learns real MNIST, and its serving signature matches Keras."""

import os

import numpy as np
import pytest
import tensorflow as tf

from components import mnist_example_encoding
from serving import warmup
from models.mnist import model, recipes
from schemas import signatures
from schemas.mnist import contract


def test_recipe_round_trips_through_json():
  recipe = recipes.TrainingRecipe(model="softmax", epochs=3, batch_size=50, learning_rate=0.01)
  assert recipes.TrainingRecipe.from_json(recipe.to_json()) == recipe


def test_unknown_model_is_rejected():
  with pytest.raises(ValueError, match="unknown model 'lenet'"):
    model.build_model(recipes.TrainingRecipe(model="lenet"))


def test_softmax_is_784_to_10():
  net = model.build_model(recipes.default_recipe("softmax"))
  assert net.input_shape == (None, 784) and net.output_shape == (None, 10)
  assert net.count_params() == 784 * 10 + 10


def test_mlp_is_mechanics_101():
  net = model.build_model(recipes.default_recipe("mlp"))
  dense = [layer for layer in net.layers if layer.__class__.__name__ == "Dense"]
  assert [layer.units for layer in dense] == [128, 32, 10]
  assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "linear"]
  assert net.count_params() == (784 * 128 + 128) + (128 * 32 + 32) + (32 * 10 + 10)


def test_cnn_is_deep_mnist_for_experts():
  net = model.build_model(recipes.default_recipe("cnn"))
  shapes = {layer.name: layer.output_shape for layer in net.layers}
  assert shapes["conv1"] == (None, 28, 28, 32) and shapes["pool1"] == (None, 14, 14, 32)
  assert shapes["conv2"] == (None, 14, 14, 64) and shapes["pool2"] == (None, 7, 7, 64)
  assert shapes["fc1"] == (None, 1024) and shapes["logits"] == (None, 10)
  assert net.get_layer("conv1").kernel_size == (5, 5)
  assert [l.rate for l in net.layers if l.__class__.__name__ == "Dropout"] == [0.5]
  # conv1 + conv2 + fc1 (7*7*64*1024 + 1024) + logits
  assert net.count_params() == 832 + 51264 + 3212288 + 10250


def test_cosine_schedule_decays_to_zero():
  recipe = recipes.TrainingRecipe(model="mlp", epochs=2, batch_size=1000, learning_rate=0.01,
                                schedule="cosine")
  schedule = model.build_model(recipe).optimizer.get_config()["learning_rate"]
  assert recipe.total_steps() == 110
  assert schedule["class_name"] == "CosineDecay"
  assert schedule["config"]["decay_steps"] == 110 and schedule["config"]["initial_learning_rate"] == 0.01


def test_softmax_learns_and_exported_signature_agrees(mnist_small, mnist_transform, tmp_path):
  train_x, train_y, test_x, test_y = mnist_small
  tf_transform_output = mnist_transform
  net = model.build_model(recipes.TrainingRecipe(model="softmax", learning_rate=0.01))
  net.fit(train_x / 255.0, train_y, epochs=5, batch_size=100, verbose=0)
  keras_probs = tf.nn.softmax(net.predict(test_x / 255.0, verbose=0)).numpy()
  # 3,000 training images: a softmax regression reaches ~85-88 %.
  assert (keras_probs.argmax(1) == test_y).mean() > 0.82

  model.export_serving_model(net, tf_transform_output, str(tmp_path))
  serving = tf.saved_model.load(str(tmp_path)).signatures["serving_default"]
  examples = tf.constant(list(mnist_example_encoding.encode_examples(test_x, test_y)))
  out = serving(examples=examples)
  assert set(out) == {"probabilities", "classes"}
  probs = out["probabilities"].numpy()
  assert probs.shape == (1000, 10)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  np.testing.assert_allclose(probs, keras_probs, atol=1e-5)
  np.testing.assert_array_equal(out["classes"].numpy(), probs.argmax(1))

  # TF Serving's Classify convention: scores are the probabilities, classes the digit labels.
  classify = tf.saved_model.load(str(tmp_path)).signatures[contract.CLASSIFY_SIGNATURE]
  assert list(classify.structured_input_signature[1]) == [signatures.CLASSIFY_INPUTS]
  classified = classify(**{signatures.CLASSIFY_INPUTS: examples[:20]})
  np.testing.assert_allclose(classified[signatures.CLASSIFY_OUTPUT_SCORES].numpy(), probs[:20], atol=1e-6)
  labels = classified[signatures.CLASSIFY_OUTPUT_CLASSES].numpy()
  assert labels.shape == (20, 10) and labels[0].tolist() == [str(d).encode() for d in range(10)]


def test_warmup_requests_replay_against_the_exported_model(mnist_small, mnist_transform, tmp_path):
  """The records TF Serving replays before serving: valid requests for our own signatures."""
  _, _, test_x, test_y = mnist_small
  net = model.build_model(recipes.default_recipe("softmax"))
  model.export_serving_model(net, mnist_transform, str(tmp_path))
  serialized = mnist_example_encoding.encode_examples(test_x[:8], test_y[:8])
  path = warmup.write(str(tmp_path), model.warmup_requests(serialized))
  assert path == os.path.join(str(tmp_path), "assets.extra", "tf_serving_warmup_requests")
  logs = warmup.read(str(tmp_path))
  assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "classify_log"]
  loaded = tf.saved_model.load(str(tmp_path))
  predict = logs[0].predict_log.request
  inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in predict.inputs.items()}
  out = loaded.signatures[predict.model_spec.signature_name](**inputs)
  assert out[contract.OUTPUT_PROBABILITIES].shape == (8, 10)
  classify = logs[1].classify_log.request
  assert classify.model_spec.signature_name == contract.CLASSIFY_SIGNATURE
  examples = classify.input.example_list.examples
  assert len(examples) == 8 and all(contract.LABEL_KEY not in e.features.feature for e in examples)


def test_mixed_bf16_cnn_computes_in_bf16_and_returns_float32_logits():
  import dataclasses  # pylint: disable=import-outside-toplevel
  recipe = dataclasses.replace(recipes.default_recipe("cnn"), precision="mixed_bfloat16")
  net = model.build_model(recipe)
  assert net.get_layer("conv1").compute_dtype == "bfloat16"
  assert net.get_layer("fc1").compute_dtype == "bfloat16"
  assert net.get_layer("conv1").kernel.dtype == tf.float32  # float32 master weights
  assert net.get_layer("logits").compute_dtype == "float32"
  assert net(np.zeros((2, 784), np.float32)).dtype == tf.float32


def test_the_float32_twin_serves_the_bf16_models_weights():
  import dataclasses  # pylint: disable=import-outside-toplevel
  from models import trainer  # pylint: disable=import-outside-toplevel
  recipe = dataclasses.replace(recipes.default_recipe("cnn"), precision="mixed_bfloat16")
  net = model.build_model(recipe)
  twin = trainer.float32_twin(net, recipe, model.TRAINER)
  assert twin is not net
  assert {layer.compute_dtype for layer in twin.layers if layer.weights} == {"float32"}
  for mine, theirs in zip(net.get_weights(), twin.get_weights()):
    np.testing.assert_array_equal(mine, theirs)
  images = np.random.default_rng(0).random((16, 784), dtype=np.float32)
  # The same function up to bf16 rounding (8 bits of mantissa through 4 layers).
  np.testing.assert_allclose(twin(images).numpy(), net(images).numpy(), atol=0.05)
  float32_recipe = dataclasses.replace(recipe, precision="float32")
  assert trainer.float32_twin(net, float32_recipe, model.TRAINER) is net


def test_tuned_values_shape_the_model_and_only_the_models_own_space_applies():
  mlp = recipes.tuned(recipes.default_recipe("mlp"), {"learning_rate": 0.01, "width": 64, "dropout": 0.1})
  assert (mlp.learning_rate, mlp.width, mlp.dropout) == (0.01, 64, 0.5)  # dropout: not mlp's to tune
  assert model.build_model(mlp).get_layer("hidden1").units == 64
  cnn = recipes.tuned(recipes.default_recipe("cnn"), {"dropout": 0.3, "width": 999})
  assert (cnn.dropout, cnn.width) == (0.3, 128)
  dropout = [l for l in model.build_model(cnn).layers if "dropout" in l.name]
  assert [l.rate for l in dropout] == [0.3]
  for name, space in recipes.SEARCH_SPACES.items():
    recipe = recipes.default_recipe(name)
    assert all(hasattr(recipe, field) for field in space), name
