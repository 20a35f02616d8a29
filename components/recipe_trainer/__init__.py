"""RecipeTrainer: TFX's Trainer with the recipe's length as run-time parameters (see component.py).

This module is import-light on purpose: models/recipe.py takes RECIPE_KEY from here.
"""

RECIPE_KEY = "recipe"  # the custom_config key holding the training recipe as JSON
OVERRIDES = ("epochs", "train_steps")  # recipe fields a run may override at run time
TUNE_TRIALS_KEY = "tune_trials"  # the Tuner's custom_config key: how many trials (--tune N)
HYPERPARAMETERS_PROPERTY = "hyperparameters"  # the Model artefact's record of what the Tuner chose
DATA_KEY = "data"  # custom_config: what the run trains on (source and spans), for the training record
SPANS_KEY = "spans"  # custom_config: the span numbers it trains on (--examples-dir spans), ditto
# custom_config the executor adds for the run_fn: the served version behind `base_model`
BASE_VERSION_KEY = "base_model_version"
WARM_START_PROPERTY = "warm_start_from"  # the Model artefact's record: the version it started from
