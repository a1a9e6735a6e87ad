"""The sentence vae family's presets: named `SentenceVAEConfig`s (`get_preset`)."""

from zoo.config_tools import select_preset
from zoo.sentence_vae.sentence_vae_config import SentenceVAEConfig

PRESETS = {
    # Unit tests: trains in seconds on 2 CPU cores.
    "tiny": SentenceVAEConfig(
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
        batch_size=32,
        learning_rate=3e-3,
        epochs=2,
        patience=2,
    ),
    # Short captions/sentences on a CPU in well under an hour.
    "small": SentenceVAEConfig(),
    "base": SentenceVAEConfig(
        vocabulary_size=8000,
        hidden_dim=256,
        intermediate_dim=1024,
        num_encoder_layers=2,
        embedding_dim=256,
        decoder_dim=512,
        latent_dim=64,
        max_length=48,
        kl_anneal_steps=10000,
        epochs=40,
    ),
}


def get_preset(name, **overrides):
    """A copy of preset `name` with `overrides` applied."""
    return select_preset(PRESETS, name, overrides)
