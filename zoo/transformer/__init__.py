"""Transformer encoder-decoder family (keras-hub layers)."""

from zoo import config_tools
from zoo.transformer.transformer_config import TransformerConfig
from zoo.transformer.transformer_presets import PRESETS, get_preset
from zoo.transformer.transformer_translator import TransformerTranslator


def config_from_dict(values):
    return config_tools.config_from_dict(TransformerConfig, values)


def build_model(config):
    """A `TransformerTranslator` for `config` (a `TransformerConfig`)."""
    return TransformerTranslator(**config_tools.model_arguments(config, TransformerTranslator))


__all__ = ["PRESETS", "TransformerConfig", "TransformerTranslator", "build_model", "config_from_dict", "get_preset"]
