"""Convolutional image VAE family (task `image_vae`)."""

import dataclasses

from zoo.image_vae.image_vae import ImageVAE
from zoo.image_vae.image_vae_config import PRESETS, ImageVAEConfig, get_preset


def config_from_dict(values):
    known = {f.name for f in dataclasses.fields(ImageVAEConfig)}
    return ImageVAEConfig(**{k: v for k, v in values.items() if k in known})


def build_model(config):
    """An `ImageVAE` for `config` (an `ImageVAEConfig`)."""
    return ImageVAE(**config.model_kwargs())


def train(run_dir, **kwargs):
    """Family training hook used by `zoo.training.train` (see `image_vae_trainer`)."""
    from zoo.image_vae.image_vae_trainer import train as train_image_vae

    return train_image_vae(run_dir, **kwargs)


__all__ = ["PRESETS", "ImageVAE", "ImageVAEConfig", "build_model", "config_from_dict", "get_preset", "train"]
