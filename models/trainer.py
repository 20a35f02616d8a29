"""The Trainer skeleton every model module shares: recipe, data, fit, logs, export.

A model module describes itself with a `TrainerModule` and its `run_fn` calls
`run(fn_args, module)`: the recipe comes from the Trainer's custom_config (an
error if missing — a silent default would train a model nobody asked for), the
input pipeline applies the Transform graph to raw examples, `fit` writes
TensorBoard logs to the run dir, the module's own exporter writes the serving
SavedModel, and TF Serving warmup requests built from real eval examples go
into it (serving/warmup.py).
"""

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from components.recipe_trainer import BASE_VERSION_KEY, DATA_KEY, SPANS_KEY
from models import input_pipeline, training_progress, warm_start
from models import precision as precisions
from serving import warmup
from models.recipe import RECIPE_KEY, JsonRecipe

WARMUP_EXAMPLES = 8  # real eval examples per warmup request: enough to trace batched shapes


@dataclasses.dataclass(frozen=True)
class TrainerModule:
  """What differs between model modules; everything else is `run`."""
  recipe_type: Type[JsonRecipe]
  build_model: Callable[[Any], keras.Model]  # recipe -> compiled model
  label_key: str  # the transformed label feature
  shuffle_buffer: int  # examples; the whole train split where it fits
  export: Callable[[keras.Model, tft.TFTransformOutput, str], None]
  # serialized raw eval examples -> the PredictionLogs to replay (one per signature)
  warmup_requests: Callable[[Sequence[bytes]], List[Any]]
  eval_batch_size: int = 1000
  after_fit: Optional[Callable[[keras.Model], None]] = None  # e.g. log learned weights
  # (recipe, the Tuner's best values) -> the recipe to train; None: the module is not tunable
  tuned: Optional[Callable[[Any, Dict[str, Any]], Any]] = None


def best_values(hyperparameters: Optional[Dict[str, Any]]) -> Dict[str, Any]:
  """The chosen values of the Tuner's best_hyperparameters (KerasTuner's HyperParameters
  config: {"space": [...], "values": {...}}, what TFX's Trainer hands its run_fn)."""
  if not hyperparameters:
    return {}
  return dict(hyperparameters.get("values", hyperparameters))


def read_recipe(custom_config: Optional[Dict[str, Any]], recipe_type: Type[JsonRecipe]):
  """The recipe the pipeline passed; ValueError if there is none."""
  text = (custom_config or {}).get(RECIPE_KEY)
  if not text:
    raise ValueError(f"Trainer custom_config has no '{RECIPE_KEY}': the pipeline must pass "
                     f"the training recipe ({recipe_type.__name__} JSON)")
  return recipe_type.from_json(text)


def float32_twin(model: keras.Model, recipe, module: TrainerModule) -> keras.Model:
  """The trained model as a float32 graph, for serving.

  A mixed_bfloat16 model keeps float32 weights but computes in bfloat16: exported as is, its
  SavedModel would carry bf16 ops that TF Serving runs only where the CPU has BF16 (emulated,
  slowly, elsewhere). The same architecture built in float32 with the trained weights serves
  anywhere, unchanged from a float32-trained model; the Evaluator measures this graph.
  """
  if getattr(recipe, "precision", precisions.FLOAT32) == precisions.FLOAT32:
    return model
  twin = module.build_model(dataclasses.replace(recipe, precision=precisions.FLOAT32))
  twin.set_weights(model.get_weights())
  return twin


def run(fn_args: FnArgs, module: TrainerModule) -> None:
  """TFX Trainer body: trains the recipe's model and exports the serving SavedModel."""
  recipe = read_recipe(fn_args.custom_config, module.recipe_type)
  if hasattr(recipe, "precision"):  # `auto` from a compiled spec: decided on this machine
    recipe = dataclasses.replace(
        recipe, precision=precisions.resolve(recipe.precision, precisions.cpu_flags()))
  values = best_values(getattr(fn_args, "hyperparameters", None))
  if values:
    if module.tuned is None:
      raise ValueError(f"the Tuner chose {values}, but this model module has no search space")
    recipe = module.tuned(recipe, values)
    logging.info("Hyperparameters from the Tuner: %s", values)
  logging.info("Training recipe: %s", recipe)
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
  train = input_pipeline.transformed_dataset(
      fn_args.train_files, fn_args.data_accessor, tf_transform_output, module.label_key,
      recipe.batch_size, shuffle_buffer=module.shuffle_buffer)
  evaluation = input_pipeline.transformed_dataset(
      fn_args.eval_files, fn_args.data_accessor, tf_transform_output, module.label_key,
      module.eval_batch_size)
  keras.utils.set_random_seed(0)
  model = module.build_model(recipe)
  custom_config = fn_args.custom_config or {}
  started_from, why = warm_start.from_base_model(
      model, getattr(recipe, "model", ""), fn_args.base_model, custom_config.get(BASE_VERSION_KEY))
  epochs = recipe.epochs
  if started_from is not None and getattr(recipe, "warm_start_epochs", 0) > 0:
    epochs = recipe.warm_start_epochs  # a warm start needs fewer passes (recipes.py measures it)
  if fn_args.base_model:  # without one, the runner has said why it starts cold
    training_progress.announce(why + (f", {epochs} epochs" if epochs != recipe.epochs else ""))
  fit_kwargs: Dict[str, Any] = {"epochs": epochs}
  if recipe.train_steps > 0:  # exactly N steps, validated once at the end
    train = train.repeat()
    fit_kwargs = {"epochs": 1, "steps_per_epoch": recipe.train_steps}
  model.fit(train, validation_data=evaluation, verbose=2,
            callbacks=[keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
                       training_progress.callback(keras, recipe.batch_size)], **fit_kwargs)
  if module.after_fit:
    module.after_fit(model)
  serving_model = float32_twin(model, recipe, module)
  module.export(serving_model, tf_transform_output, fn_args.serving_model_dir)
  warm_start.write_record(fn_args.serving_model_dir, getattr(recipe, "model", ""), serving_model,
                          custom_config.get(DATA_KEY), started_from, custom_config.get(SPANS_KEY))
  warmup.write(fn_args.serving_model_dir, module.warmup_requests(
      warmup.first_examples(fn_args.eval_files, WARMUP_EXAMPLES)))
