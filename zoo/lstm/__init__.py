"""LSTM seq2seq family: bidirectional LSTM encoder, attentional LSTM decoder."""

from zoo import config_tools
from zoo.lstm.lstm_config import ATTENTION_TYPES, LSTMConfig
from zoo.lstm.lstm_presets import PRESETS, get_preset
from zoo.lstm.lstm_translator import LSTMTranslator


def config_from_dict(values):
    return config_tools.config_from_dict(LSTMConfig, values)


def build_model(config):
    """An `LSTMTranslator` for `config` (an `LSTMConfig`)."""
    return LSTMTranslator(**config_tools.model_arguments(config, LSTMTranslator))


__all__ = ["ATTENTION_TYPES", "PRESETS", "LSTMConfig", "LSTMTranslator", "build_model", "config_from_dict", "get_preset"]
