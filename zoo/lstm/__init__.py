"""LSTM seq2seq family: bidirectional LSTM encoder, attentional LSTM decoder."""

from zoo import presets
from zoo.lstm.lstm_config import ATTENTION_TYPES, PRESETS, LSTMConfig, get_preset
from zoo.lstm.lstm_translator import LSTMTranslator


def config_from_dict(values):
    return presets.config_from_dict(LSTMConfig, values)


def build_model(config):
    """An `LSTMTranslator` for `config` (an `LSTMConfig`)."""
    return LSTMTranslator(**config.model_kwargs())


__all__ = ["ATTENTION_TYPES", "PRESETS", "LSTMConfig", "LSTMTranslator", "build_model", "config_from_dict", "get_preset"]
