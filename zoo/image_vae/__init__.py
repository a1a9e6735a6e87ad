"""Convolutional image VAE family (task `image_vae`)."""

from zoo import config_tools
from zoo.image_vae.image_vae_config import ImageVAEConfig
from zoo.image_vae.image_vae_presets import PRESETS, get_preset


# The Keras model is imported on first use: presets and configs load without TensorFlow.
model_class, __getattr__ = config_tools.lazy_model_class("zoo.image_vae.image_vae", "ImageVAE")


def config_from_dict(values):
    return config_tools.config_from_dict(ImageVAEConfig, values)


def build_model(config):
    """An `ImageVAE` for `config` (an `ImageVAEConfig`)."""
    cls = model_class()
    return cls(**config_tools.model_arguments(config, cls))


def training_task():
    """The family's hooks into the training loop of `zoo.training.train` (see `image_vae_trainer`)."""
    from zoo.image_vae.image_vae_trainer import ImageVAETask

    return ImageVAETask()


__all__ = ["PRESETS", "ImageVAE", "ImageVAEConfig", "build_model", "model_class", "config_from_dict", "get_preset", "training_task"]
