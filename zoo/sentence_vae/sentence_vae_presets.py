"""The sentence vae family's presets: named `Preset`s of a `SentenceVAEConfig` and a
`TrainingConfig` (`get_preset`)."""

from zoo.config_tools import Preset, select_preset
from zoo.training_config import vae_training
from zoo.sentence_vae.sentence_vae_config import SentenceVAEConfig

PRESETS = {
    # Unit tests: trains in seconds on 2 CPU cores.
    "tiny": Preset(
        SentenceVAEConfig(
            vocabulary_size=600,
            hidden_dim=32,
            intermediate_dim=64,
            num_heads=2,
            num_encoder_layers=1,
            embedding_dim=32,
            decoder_dim=64,
            latent_dim=8,
            dropout=0.0,
            word_dropout=0.2,
            max_length=24,
            kl_anneal_steps=50,
            free_bits=0.05,
        ),
        vae_training(
            clipnorm=1.0,
            batch_size=32,
            learning_rate=3e-3,
            epochs=2,
            patience=2,
        ),
    ),
    # Short captions/sentences on a CPU in well under an hour.
    "small": Preset(
        SentenceVAEConfig(),
        vae_training(
            clipnorm=1.0,
        ),
    ),
    "base": Preset(
        SentenceVAEConfig(
            vocabulary_size=8000,
            hidden_dim=256,
            intermediate_dim=1024,
            num_encoder_layers=2,
            embedding_dim=256,
            decoder_dim=512,
            latent_dim=64,
            max_length=48,
            kl_anneal_steps=10000,
        ),
        vae_training(
            clipnorm=1.0,
            epochs=40,
        ),
    ),
}


def get_preset(name, **overrides):
    """A copy of preset `name` (a `Preset`) with `overrides` applied to its
    model or training config, whichever has the field."""
    return select_preset(PRESETS, name, overrides)
