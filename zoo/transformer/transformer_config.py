"""Configuration of the Transformer translator (its presets: `transformer_presets`)."""

import dataclasses

POSITIONS = ("learned", "sinusoidal")


@dataclasses.dataclass
class TransformerConfig:
    """The constructor arguments of `TransformerTranslator` (how it is
    trained is a `zoo.training_config.TrainingConfig`).

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
        shared_vocabulary: bool. One WordPiece vocabulary learned over both
            languages and one token table for the encoder input, the decoder
            input and the output projection (Press & Wolf, 2017).
        normalize_first: bool. Pre-norm blocks (True) or the original
            post-norm blocks (False, as fairseq's and Marian's defaults).
        positions: str. `"learned"` position tables or fixed
            `"sinusoidal"` ones (Vaswani et al., 2017).
        scale_embeddings: bool. Multiply token embeddings by
            `sqrt(hidden_dim)` (and initialize them with standard deviation
            `hidden_dim ** -0.5`), as fairseq and Marian do.
        activation: str. Feed-forward activation (`relu`, `gelu`, `swish`).
        logits_bias: bool. A bias vector added to the logits (Marian's
            `final_logits_bias`).
        attention_dropout: float or None. Dropout on the attention
            probabilities; None: the same as `dropout` (keras-hub's blocks).
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
    shared_vocabulary: bool = False
    normalize_first: bool = True
    positions: str = "learned"
    scale_embeddings: bool = False
    activation: str = "relu"
    logits_bias: bool = False
    attention_dropout: float | None = None

    def __post_init__(self):
        if self.positions not in POSITIONS:
            raise ValueError(f"unknown positions {self.positions!r}; choose from {', '.join(POSITIONS)}")
