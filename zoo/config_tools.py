"""Helpers every family's config and presets share: picking a preset, the run.json round
trip, and a model's constructor arguments taken from its config (the fields of the same
names). The presets themselves are in each family's `*_presets.py`."""

import dataclasses
import inspect


def select_preset(presets, name, overrides):
    """A copy of `presets[name]` with `overrides` (a dict) applied."""
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(presets)}")
    return dataclasses.replace(presets[name], **overrides)


def config_from_dict(config_class, values):
    """A `config_class` from a dict (e.g. `run.json`), ignoring unknown keys."""
    known = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in values.items() if k in known})


def constructor_arguments(model_class):
    """The names of `model_class.__init__`'s parameters (its config keys)."""
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return tuple(p.name for p in parameters if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)


def model_arguments(config, model_class):
    """`model_class`'s constructor arguments taken from a config dataclass."""
    return {name: getattr(config, name) for name in constructor_arguments(model_class)}
