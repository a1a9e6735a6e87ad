"""The image vae family's presets: named `Preset`s of a `ImageVAEConfig` and a
`TrainingConfig` (`get_preset`)."""

from zoo.config_tools import Preset, select_preset
from zoo.training_config import vae_training
from zoo.image_vae.image_vae_config import ImageVAEConfig

PRESETS = {
    # Unit tests: a few seconds on 2 CPU cores.
    "tiny": Preset(
        ImageVAEConfig(
            filters=(8, 16),
            hidden_dim=32,
            latent_dim=4,
        ),
        vae_training(
            batch_size=64,
            learning_rate=3e-3,
            epochs=2,
            patience=2,
        ),
    ),
    # The Keras VAE example's sizes (32/64 filters), a latent of 8.
    "small": Preset(
        ImageVAEConfig(),
        vae_training(
            learning_rate=2e-3,
            epochs=100,
            patience=10,
        ),
    ),
    "base": Preset(
        ImageVAEConfig(
            filters=(32, 64),
            hidden_dim=256,
            latent_dim=16,
        ),
        vae_training(
            epochs=50,
            patience=8,
            learning_rate=1e-3,
        ),
    ),
}


def get_preset(name, **overrides):
    """A copy of preset `name` (a `Preset`) with `overrides` applied to its
    model or training config, whichever has the field."""
    return select_preset(PRESETS, name, overrides)
