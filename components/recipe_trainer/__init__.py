"""RecipeTrainer: TFX's Trainer with the recipe's length as run-time parameters (see component.py).

This module is import-light on purpose: models/recipe.py takes RECIPE_KEY from here.
"""

RECIPE_KEY = "recipe"  # the custom_config key holding the training recipe as JSON
OVERRIDES = ("epochs", "train_steps")  # recipe fields a run may override at run time
TUNE_TRIALS_KEY = "tune_trials"  # the Tuner's custom_config key: how many trials (--tune N)
HYPERPARAMETERS_PROPERTY = "hyperparameters"  # the Model artefact's record of what the Tuner chose
