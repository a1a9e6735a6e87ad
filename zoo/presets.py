"""Helpers every family's config module shares: presets and run.json round trip."""

import dataclasses


def select_preset(presets, name, overrides):
    """A copy of `presets[name]` with `overrides` (a dict) applied."""
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(presets)}")
    return dataclasses.replace(presets[name], **overrides)


def config_from_dict(config_class, values):
    """A `config_class` from a dict (e.g. `run.json`), ignoring unknown keys."""
    known = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in values.items() if k in known})
