"""Configuration of the sentence VAE."""

import dataclasses

from zoo.vae_config import check_kl_schedule


@dataclasses.dataclass
class SentenceVAEConfig:
    """The constructor arguments of `SentenceVAE` (how it is trained is a
    `zoo.training_config.TrainingConfig`).

    Args:
        vocabulary_size: int. WordPiece vocabulary size (upper bound; the
            learned size is used).
        hidden_dim: int. Width of the Transformer encoder.
        intermediate_dim: int. Feed-forward width of the encoder blocks.
        num_heads: int. Attention heads of the encoder.
        num_encoder_layers: int. Encoder depth.
        embedding_dim: int. Decoder token embedding size (and size of the
            latent context concatenated to every decoder input).
        decoder_dim: int. LSTM units of the decoder.
        latent_dim: int. Size of z.
        dropout: float. Dropout in the encoder blocks and on decoder inputs.
        word_dropout: float. Probability of replacing a decoder input token
            by `[UNK]` while training (Bowman et al. 2016).
        max_length: int. Longest sentence in tokens (+1 decoder position for
            `[START]`/`[END]`).
        kl_schedule: str. `constant`, `linear`, `sigmoid` or `cyclical`.
        kl_anneal_steps: int. Warm-up steps (cycle length for cyclical),
            divided by the replicas of a distributed run.
        kl_cycles: int. Cycles of the cyclical schedule.
        free_bits: float. Free nats per latent dimension (0 = off).
    """

    vocabulary_size: int = 4000
    hidden_dim: int = 128
    intermediate_dim: int = 256
    num_heads: int = 4
    num_encoder_layers: int = 1
    embedding_dim: int = 128
    decoder_dim: int = 256
    latent_dim: int = 32
    dropout: float = 0.1
    word_dropout: float = 0.3
    max_length: int = 32
    kl_schedule: str = "linear"
    kl_anneal_steps: int = 3000
    kl_cycles: int = 4
    free_bits: float = 0.1

    def __post_init__(self):
        check_kl_schedule(self.kl_schedule)
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError(f"word_dropout must be in [0, 1), got {self.word_dropout}")
