"""Transformer encoder-decoder family (keras-hub layers)."""

from zoo import config_tools
from zoo.transformer.transformer_config import TransformerConfig
from zoo.transformer.transformer_presets import PRESETS, get_preset


# The Keras model is imported on first use: presets and configs load without TensorFlow.
model_class, __getattr__ = config_tools.lazy_model_class("zoo.transformer.transformer_translator", "TransformerTranslator")


def config_from_dict(values):
    return config_tools.config_from_dict(TransformerConfig, values)


def build_model(config):
    """A `TransformerTranslator` for `config` (a `TransformerConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


__all__ = ["PRESETS", "TransformerConfig", "TransformerTranslator", "build_model", "model_class", "config_from_dict", "get_preset"]
