"""Sentence VAE family (task `text_vae`): Transformer encoder, LSTM decoder."""

from zoo import presets
from zoo.sentence_vae.sentence_vae import SentenceVAE
from zoo.sentence_vae.sentence_vae_config import PRESETS, SentenceVAEConfig, get_preset


def config_from_dict(values):
    return presets.config_from_dict(SentenceVAEConfig, values)


def build_model(config):
    """A `SentenceVAE` for `config` (a `SentenceVAEConfig`)."""
    return SentenceVAE(**config.model_kwargs())


def training_task():
    """The family's hooks into the training loop of `zoo.training.train` (see `sentence_vae_trainer`)."""
    from zoo.sentence_vae.sentence_vae_trainer import SentenceVAETask

    return SentenceVAETask()


__all__ = ["PRESETS", "SentenceVAE", "SentenceVAEConfig", "build_model", "config_from_dict", "get_preset", "training_task"]
