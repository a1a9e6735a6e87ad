"""Configuration and presets of the Transformer translator."""

import dataclasses

from zoo.presets import select_preset


@dataclasses.dataclass
class TransformerConfig:
    """Hyper-parameters of `TransformerTranslator` and its training run.

    Args:
        source_vocabulary_size: int. WordPiece vocabulary size, source side.
        target_vocabulary_size: int. WordPiece vocabulary size, target side.
        hidden_dim: int. Model width (embedding and attention size).
        intermediate_dim: int. Width of the feed-forward blocks.
        num_heads: int. Attention heads; `hidden_dim % num_heads == 0`.
        num_encoder_layers: int. Encoder depth.
        num_decoder_layers: int. Decoder depth.
        dropout: float. Dropout rate inside every block.
        max_source_length: int. Longest source (tokens); also the position
            table size of the encoder.
        max_target_length: int. Decoder positions, including `[START]`; the
            self-attention K/V cache has this many slots.
        tie_embeddings: bool. Share the decoder's token embedding with the
            output projection.
        batch_size: int. Sentences per training batch.
        learning_rate: float. Peak learning rate after warmup.
        warmup_steps: int. Linear warmup steps, then cosine decay.
        label_smoothing: float. Label smoothing of the training loss.
        epochs: int. Default number of epochs for `zoo train`.
        patience: int. Early-stopping patience on validation loss (epochs).
    """

    source_vocabulary_size: int = 8000
    target_vocabulary_size: int = 8000
    hidden_dim: int = 256
    intermediate_dim: int = 1024
    num_heads: int = 4
    num_encoder_layers: int = 4
    num_decoder_layers: int = 4
    dropout: float = 0.1
    max_source_length: int = 64
    max_target_length: int = 64
    tie_embeddings: bool = False
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_steps: int = 1000
    label_smoothing: float = 0.1
    epochs: int = 20
    patience: int = 4

    def model_kwargs(self):
        """The arguments of `TransformerTranslator.__init__`."""
        names = (
            "source_vocabulary_size",
            "target_vocabulary_size",
            "hidden_dim",
            "intermediate_dim",
            "num_heads",
            "num_encoder_layers",
            "num_decoder_layers",
            "dropout",
            "max_source_length",
            "max_target_length",
            "tie_embeddings",
        )
        return {name: getattr(self, name) for name in names}


PRESETS = {
    # Unit tests: trains in seconds on 2 CPU cores.
    "tiny": TransformerConfig(
        source_vocabulary_size=600,
        target_vocabulary_size=600,
        hidden_dim=32,
        intermediate_dim=64,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dropout=0.0,
        max_source_length=24,
        max_target_length=24,
        batch_size=32,
        learning_rate=3e-3,
        warmup_steps=20,
        label_smoothing=0.1,
        epochs=2,
        patience=2,
    ),
    # The quick start: a usable translator of short sentences in minutes.
    "mini": TransformerConfig(
        source_vocabulary_size=4000,
        target_vocabulary_size=4000,
        hidden_dim=128,
        intermediate_dim=256,
        num_heads=4,
        num_encoder_layers=2,
        num_decoder_layers=2,
        dropout=0.1,
        max_source_length=32,
        max_target_length=32,
        batch_size=64,
        learning_rate=2e-3,
        warmup_steps=300,
        epochs=6,
        patience=3,
    ),
    # Multi30k size (about 4+4 layers, width 256).
    "small": TransformerConfig(),
    # Deep encoder, shallow decoder (Kasai et al., 2021) for fast on-device
    # decoding: the encoder runs once per sentence, the decoder once per
    # token, so depth moves to the encoder. Tied output embedding; dropout 0.3
    # because Multi30k (29k pairs) overfits a 4+4 model with 0.1.
    "small_fast": TransformerConfig(
        num_encoder_layers=6,
        num_decoder_layers=1,
        dropout=0.3,
        tie_embeddings=True,
        epochs=16,
    ),
    "base": TransformerConfig(
        source_vocabulary_size=16000,
        target_vocabulary_size=16000,
        hidden_dim=512,
        intermediate_dim=2048,
        num_heads=8,
        num_encoder_layers=6,
        num_decoder_layers=6,
        max_source_length=128,
        max_target_length=128,
        batch_size=64,
        learning_rate=7e-4,
        warmup_steps=4000,
        epochs=30,
    ),
}


def get_preset(name, **overrides):
    """A copy of preset `name` with `overrides` applied."""
    return select_preset(PRESETS, name, overrides)
