"""The image vae family's presets: named `ImageVAEConfig`s (`get_preset`)."""

from zoo.config_tools import select_preset
from zoo.image_vae.image_vae_config import ImageVAEConfig

PRESETS = {
    # Unit tests: a few seconds on 2 CPU cores.
    "tiny": ImageVAEConfig(filters=(8, 16), hidden_dim=32, latent_dim=4, batch_size=64, learning_rate=3e-3, epochs=2, patience=2),
    # The Keras VAE example's sizes (32/64 filters), a latent of 8.
    "small": ImageVAEConfig(),
    "base": ImageVAEConfig(filters=(32, 64), hidden_dim=256, latent_dim=16, epochs=50, patience=8, learning_rate=1e-3),
}


def get_preset(name, **overrides):
    """A copy of preset `name` with `overrides` applied."""
    return select_preset(PRESETS, name, overrides)
