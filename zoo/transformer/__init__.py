"""Transformer encoder-decoder family (keras-hub layers)."""

from zoo import presets
from zoo.transformer.transformer_config import PRESETS, TransformerConfig, get_preset
from zoo.transformer.transformer_translator import TransformerTranslator


def config_from_dict(values):
    return presets.config_from_dict(TransformerConfig, values)


def build_model(config):
    """A `TransformerTranslator` for `config` (a `TransformerConfig`)."""
    return TransformerTranslator(**config.model_kwargs())


__all__ = ["PRESETS", "TransformerConfig", "TransformerTranslator", "build_model", "config_from_dict", "get_preset"]
