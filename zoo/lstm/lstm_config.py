"""Configuration of the LSTM translator (its presets: `lstm_presets`)."""

import dataclasses

ATTENTION_TYPES = ("luong_dot", "luong_general", "bahdanau")


@dataclasses.dataclass
class LSTMConfig:
    """The constructor arguments of `LSTMTranslator` (how it is trained is a
    `zoo.training_config.TrainingConfig`).

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

    def __post_init__(self):
        if self.attention not in ATTENTION_TYPES:
            raise ValueError(f"unknown attention {self.attention!r}; choose from {', '.join(ATTENTION_TYPES)}")
