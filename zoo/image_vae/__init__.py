"""Convolutional image VAE family (task `image_vae`)."""

from zoo import config_tools
from zoo.image_vae.image_vae_config import ImageVAEConfig
from zoo.image_vae.image_vae_presets import PRESETS, get_preset


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


def model_class():
    """The family's Keras model class. Importing it imports Keras and registers
    the family's classes for `keras.saving.load_model`; the rest of the package
    (presets, configs) loads without TensorFlow."""
    from zoo.image_vae.image_vae import ImageVAE

    return ImageVAE


def __getattr__(name):  # `from zoo.image_vae import ImageVAE` imports Keras only then
    if name == "ImageVAE":
        return model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PRESETS", "ImageVAE", "ImageVAEConfig", "build_model", "model_class", "config_from_dict", "get_preset", "training_task"]
