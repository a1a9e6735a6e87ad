"""Registry of model families. Adding a family = a folder + one line here."""

import importlib

FAMILIES = {
    "transformer": "zoo.transformer",
    "lstm": "zoo.lstm",
    "sentence_vae": "zoo.sentence_vae",
    "image_vae": "zoo.image_vae",
}


def get_family(name):
    """The family package: exposes `PRESETS`, `get_preset(name, **overrides)`
    -> a `zoo.config_tools.Preset` (its model config and `TrainingConfig`),
    `config_from_dict(d)` -> its model config, `build_model(config)` and
    `model_class()` (importing the Keras model registers it for loading; the
    package itself imports no TensorFlow); optionally
    `training_task()` -> a `zoo.training.TrainingTask` when it trains for
    another task than translation (the loop is always `zoo.training.train`)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose from {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
