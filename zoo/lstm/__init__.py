"""LSTM seq2seq family: bidirectional LSTM encoder, attentional LSTM decoder."""

import dataclasses

from zoo.lstm.lstm_config import ATTENTION_TYPES, PRESETS, LSTMConfig, get_preset
from zoo.lstm.lstm_translator import LSTMTranslator


def config_from_dict(values):
    known = {f.name for f in dataclasses.fields(LSTMConfig)}
    return LSTMConfig(**{k: v for k, v in values.items() if k in known})


def build_model(config):
    """An `LSTMTranslator` for `config` (an `LSTMConfig`)."""
    return LSTMTranslator(**config.model_kwargs())


__all__ = ["ATTENTION_TYPES", "PRESETS", "LSTMConfig", "LSTMTranslator", "build_model", "config_from_dict", "get_preset"]
