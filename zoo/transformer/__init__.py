"""Transformer encoder-decoder family (keras-hub layers)."""

from zoo import config_tools
from zoo.transformer.transformer_config import TransformerConfig
from zoo.transformer.transformer_presets import PRESETS, get_preset


def config_from_dict(values):
    return config_tools.config_from_dict(TransformerConfig, values)


def build_model(config):
    """A `TransformerTranslator` for `config` (a `TransformerConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


def model_class():
    """The family's Keras model class. Importing it imports Keras and registers
    the family's classes for `keras.saving.load_model`; the rest of the package
    (presets, configs) loads without TensorFlow."""
    from zoo.transformer.transformer_translator import TransformerTranslator

    return TransformerTranslator


def __getattr__(name):  # `from zoo.transformer import TransformerTranslator` imports Keras only then
    if name == "TransformerTranslator":
        return model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PRESETS", "TransformerConfig", "TransformerTranslator", "build_model", "model_class", "config_from_dict", "get_preset"]
