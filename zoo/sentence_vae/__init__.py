"""Sentence VAE family (task `text_vae`): Transformer encoder, LSTM decoder."""

from zoo import config_tools
from zoo.sentence_vae.sentence_vae_config import SentenceVAEConfig
from zoo.sentence_vae.sentence_vae_presets import PRESETS, get_preset


def config_from_dict(values):
    return config_tools.config_from_dict(SentenceVAEConfig, values)


def build_model(config):
    """A `SentenceVAE` for `config` (a `SentenceVAEConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


def training_task():
    """The family's hooks into the training loop of `zoo.training.train` (see `sentence_vae_trainer`)."""
    from zoo.sentence_vae.sentence_vae_trainer import SentenceVAETask

    return SentenceVAETask()


def model_class():
    """The family's Keras model class. Importing it imports Keras and registers
    the family's classes for `keras.saving.load_model`; the rest of the package
    (presets, configs) loads without TensorFlow."""
    from zoo.sentence_vae.sentence_vae import SentenceVAE

    return SentenceVAE


def __getattr__(name):  # `from zoo.sentence_vae import SentenceVAE` imports Keras only then
    if name == "SentenceVAE":
        return model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PRESETS", "SentenceVAE", "SentenceVAEConfig", "build_model", "model_class", "config_from_dict", "get_preset", "training_task"]
