"""Registry of model families. Adding a family = a folder + one line here."""

import importlib

FAMILIES = {
    "transformer": "zoo.transformer",
    "lstm": "zoo.lstm",
}


def get_family(name):
    """The family package: exposes `get_preset(name, **overrides)`,
    `config_from_dict(d)` and `build_model(config)`."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose from {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
