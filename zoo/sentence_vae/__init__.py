"""Sentence VAE family (task `text_vae`): Transformer encoder, LSTM decoder."""

from zoo import config_tools
from zoo.sentence_vae.sentence_vae_config import SentenceVAEConfig
from zoo.sentence_vae.sentence_vae_presets import PRESETS, get_preset


# The Keras model is imported on first use: presets and configs load without TensorFlow.
model_class, __getattr__ = config_tools.lazy_model_class("zoo.sentence_vae.sentence_vae", "SentenceVAE")


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


__all__ = ["PRESETS", "SentenceVAE", "SentenceVAEConfig", "build_model", "model_class", "config_from_dict", "get_preset", "training_task"]
