"""Transformer encoder-decoder family (keras-hub layers)."""

import dataclasses

from zoo.transformer.transformer_config import PRESETS, TransformerConfig, get_preset
from zoo.transformer.transformer_translator import TransformerTranslator


def config_from_dict(values):
    known = {f.name for f in dataclasses.fields(TransformerConfig)}
    return TransformerConfig(**{k: v for k, v in values.items() if k in known})


def build_model(config):
    """A `TransformerTranslator` for `config` (a `TransformerConfig`)."""
    return TransformerTranslator(**config.model_kwargs())


__all__ = ["PRESETS", "TransformerConfig", "TransformerTranslator", "build_model", "config_from_dict", "get_preset"]
