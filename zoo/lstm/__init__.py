"""LSTM seq2seq family: bidirectional LSTM encoder, attentional LSTM decoder."""

from zoo import config_tools
from zoo.lstm.lstm_config import ATTENTION_TYPES, LSTMConfig
from zoo.lstm.lstm_presets import PRESETS, get_preset


def config_from_dict(values):
    return config_tools.config_from_dict(LSTMConfig, values)


def build_model(config):
    """An `LSTMTranslator` for `config` (an `LSTMConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


def model_class():
    """The family's Keras model class. Importing it imports Keras and registers
    the family's classes for `keras.saving.load_model`; the rest of the package
    (presets, configs) loads without TensorFlow."""
    from zoo.lstm.lstm_translator import LSTMTranslator

    return LSTMTranslator


def __getattr__(name):  # `from zoo.lstm import LSTMTranslator` imports Keras only then
    if name == "LSTMTranslator":
        return model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ATTENTION_TYPES", "PRESETS", "LSTMConfig", "LSTMTranslator", "build_model", "model_class", "config_from_dict", "get_preset"]
