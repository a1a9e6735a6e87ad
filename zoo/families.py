"""Registry of model families. Adding a family = a folder + one line here."""

import importlib

FAMILIES = {
    "transformer": "zoo.transformer",
    "lstm": "zoo.lstm",
    "sentence_vae": "zoo.sentence_vae",
    "image_vae": "zoo.image_vae",
}


def get_family(name):
    """The family package: exposes `get_preset(name, **overrides)`,
    `config_from_dict(d)` and `build_model(config)`; optionally
    `training_task()` -> a `zoo.training.TrainingTask` when it trains for
    another task than translation (the loop is always `zoo.training.train`)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose from {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
