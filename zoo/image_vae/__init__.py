"""Convolutional image VAE family (task `image_vae`)."""

from zoo import presets
from zoo.image_vae.image_vae import ImageVAE
from zoo.image_vae.image_vae_config import PRESETS, ImageVAEConfig, get_preset


def config_from_dict(values):
    return presets.config_from_dict(ImageVAEConfig, values)


def build_model(config):
    """An `ImageVAE` for `config` (an `ImageVAEConfig`)."""
    return ImageVAE(**config.model_kwargs())


def training_task():
    """The family's hooks into the training loop of `zoo.training.train` (see `image_vae_trainer`)."""
    from zoo.image_vae.image_vae_trainer import ImageVAETask

    return ImageVAETask()


__all__ = ["PRESETS", "ImageVAE", "ImageVAEConfig", "build_model", "config_from_dict", "get_preset", "training_task"]
