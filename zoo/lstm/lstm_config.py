"""Configuration and presets of the LSTM translator."""

import dataclasses

from zoo.presets import model_arguments, select_preset
from zoo.training_config import TrainingConfig

ATTENTION_TYPES = ("luong_dot", "luong_general", "bahdanau")


@dataclasses.dataclass
class LSTMConfig(TrainingConfig):
    """Hyper-parameters of `LSTMTranslator` (its training run's are those of
    `TrainingConfig`).

    Args:
        source_vocabulary_size: int. WordPiece vocabulary size, source side.
        target_vocabulary_size: int. WordPiece vocabulary size, target side.
        embedding_dim: int. Token embedding width (both sides).
        encoder_units: int. LSTM units per direction of the bidirectional
            encoder; its outputs are `2 * encoder_units` wide.
        decoder_units: int. LSTM units of the decoder (and the attentional
            vector width).
        num_encoder_layers: int. Stacked bidirectional encoder layers (1-2).
        num_decoder_layers: int. Stacked decoder LSTM cells (1-2).
        attention: str. `"luong_dot"`, `"luong_general"` or `"bahdanau"`.
        input_feeding: bool. Feed the previous attentional vector into the
            next decoder input (Luong et al., 2015).
        dropout: float. Dropout on embeddings, between encoder layers and
            before the output projection.
        max_source_length: int. Longest source (tokens); the device encoder
            runs over this many (padded, masked) positions.
        max_target_length: int. Longest generated target, with `[START]`.
        shared_vocabulary: bool. One WordPiece vocabulary over both
            languages and one token table for source, target and output.
    """

    source_vocabulary_size: int = 8000
    target_vocabulary_size: int = 8000
    embedding_dim: int = 256
    encoder_units: int = 256
    decoder_units: int = 512
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    attention: str = "luong_general"
    input_feeding: bool = True
    dropout: float = 0.3
    max_source_length: int = 48
    max_target_length: int = 64
    shared_vocabulary: bool = False
    learning_rate: float = 2e-3
    warmup_steps: int = 500

    def model_kwargs(self):
        """The arguments of `LSTMTranslator.__init__` (the fields of the same names)."""
        from zoo.lstm.lstm_translator import LSTMTranslator

        return model_arguments(self, LSTMTranslator)


PRESETS = {
    # Unit tests: trains in seconds on 2 CPU cores.
    "tiny": LSTMConfig(
        source_vocabulary_size=600,
        target_vocabulary_size=600,
        embedding_dim=32,
        encoder_units=32,
        decoder_units=64,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dropout=0.0,
        max_source_length=24,
        max_target_length=24,
        batch_size=32,
        learning_rate=1e-2,
        warmup_steps=20,
        epochs=2,
        patience=2,
    ),
    # A quick start on the bundled data.
    "mini": LSTMConfig(
        source_vocabulary_size=4000,
        target_vocabulary_size=4000,
        embedding_dim=128,
        encoder_units=128,
        decoder_units=256,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dropout=0.2,
        max_source_length=32,
        max_target_length=32,
        learning_rate=3e-3,
        warmup_steps=200,
        epochs=6,
        patience=3,
    ),
    # Multi30k size: 2-layer bidirectional encoder, 2-layer decoder.
    "small": LSTMConfig(),
    # `small` with what the published Multi30k recurrent systems use (LIUM-CVC
    # WMT17: joint 10k vocabulary, tied embeddings, dropout 0.3-0.5): one
    # joint vocabulary and table for source, target and output, dropout 0.4,
    # every epoch trained and the last 5 averaged.
    "multi30k": LSTMConfig(
        source_vocabulary_size=10000,
        target_vocabulary_size=10000,
        shared_vocabulary=True,
        dropout=0.4,
        epochs=20,
        patience=0,
        keep_checkpoints=5,
        average_last=5,
    ),
}


def get_preset(name, **overrides):
    """A copy of preset `name` with `overrides` applied."""
    config = select_preset(PRESETS, name, overrides)
    if config.attention not in ATTENTION_TYPES:
        raise ValueError(f"unknown attention {config.attention!r}; choose from {', '.join(ATTENTION_TYPES)}")
    return config
