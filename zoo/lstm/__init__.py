"""LSTM seq2seq family: bidirectional LSTM encoder, attentional LSTM decoder."""

from zoo import config_tools
from zoo.lstm.lstm_config import ATTENTION_TYPES, LSTMConfig
from zoo.lstm.lstm_presets import PRESETS, get_preset


# The Keras model is imported on first use: presets and configs load without TensorFlow.
model_class, __getattr__ = config_tools.lazy_model_class("zoo.lstm.lstm_translator", "LSTMTranslator")


def config_from_dict(values):
    return config_tools.config_from_dict(LSTMConfig, values)


def build_model(config):
    """An `LSTMTranslator` for `config` (an `LSTMConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


__all__ = ["ATTENTION_TYPES", "PRESETS", "LSTMConfig", "LSTMTranslator", "build_model", "model_class", "config_from_dict", "get_preset"]
