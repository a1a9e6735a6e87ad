"""Helpers every family's config and presets share: a `Preset` (the model's
config and the `TrainingConfig`), picking one with overrides, the `run.json`
round trip, and a model's constructor arguments taken from its config. The
presets themselves are in each family's `*_presets.py`."""

import dataclasses
import importlib
import inspect
import types
import typing

from zoo.training_config import TrainingConfig


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named recipe: what the model is and how it is trained.

    Args:
        model: the family's config dataclass (its model's constructor
            arguments, e.g. `TransformerConfig`).
        training: `TrainingConfig`.
    """

    model: object
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)

    def fields(self):
        """`{field name: current value}` of both configs (their names never clash)."""
        return {**dataclasses.asdict(self.model), **dataclasses.asdict(self.training)}

    def optional_fields(self):
        """`{field name: X}` for the fields of both configs annotated `X | None`."""
        hints = {**typing.get_type_hints(type(self.model)), **typing.get_type_hints(type(self.training))}
        optional = {}
        for name, hint in hints.items():
            args = typing.get_args(hint)
            if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
                (optional[name],) = [a for a in args if a is not type(None)]
        return optional

    def replace(self, **overrides):
        """A copy with `overrides` applied to whichever config has each field.

        Raises:
            ValueError: for a field neither config has.
        """
        model_fields = {f.name for f in dataclasses.fields(self.model)}
        training_fields = {f.name for f in dataclasses.fields(self.training)}
        unknown = set(overrides) - model_fields - training_fields
        if unknown:
            raise ValueError(f"unknown config field(s) {', '.join(sorted(unknown))}")
        model = {k: v for k, v in overrides.items() if k in model_fields}
        training = {k: v for k, v in overrides.items() if k in training_fields}
        return Preset(dataclasses.replace(self.model, **model), dataclasses.replace(self.training, **training))


def select_preset(presets, name, overrides):
    """A copy of `presets[name]` (a `Preset`) with `overrides` (a dict) applied."""
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(presets)}")
    return presets[name].replace(**overrides)


def config_from_dict(config_class, values):
    """A `config_class` from a dict (e.g. `run.json`), ignoring unknown keys."""
    known = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in values.items() if k in known})


def run_preset(family_module, run_info):
    """The `Preset` a run was trained with, from its `run.json`.

    Runs written before the split keep both configs in one `config` dict;
    their training fields are read from it (a field they lack gets
    `TrainingConfig`'s default).
    """
    model = family_module.config_from_dict(run_info["config"])
    training = config_from_dict(TrainingConfig, run_info.get("training") or run_info["config"])
    return Preset(model, training)


def constructor_arguments(model_class):
    """The names of `model_class.__init__`'s parameters (its config keys)."""
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return tuple(p.name for p in parameters if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)


def model_arguments(config, model_class):
    """`model_class`'s constructor arguments taken from a config dataclass."""
    return {name: getattr(config, name) for name in constructor_arguments(model_class)}


def lazy_model_class(module_name, class_name):
    """`model_class` and a module `__getattr__` for a family package whose
    Keras model class `class_name` lives in `module_name`.

    The family's presets and configs then load without TensorFlow; the model
    module (Keras, and the registration of its classes for
    `keras.saving.load_model`) is imported by the first `model_class()` call
    or the first use of `package.<class_name>`.

    Args:
        module_name: str. The module defining the class, e.g.
            `"zoo.transformer.transformer_translator"`.
        class_name: str. The class, e.g. `"TransformerTranslator"`.

    Returns:
        `(model_class, __getattr__)`: both to be bound in the package.
    """

    def model_class():
        return getattr(importlib.import_module(module_name), class_name)

    def module_getattr(name):
        if name == class_name:
            return model_class()
        raise AttributeError(f"module {module_name.rsplit('.', 1)[0]!r} has no attribute {name!r}")

    return model_class, module_getattr
