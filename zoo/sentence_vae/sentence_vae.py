"""Sentence VAE (Bowman et al. 2016, "Generating Sentences from a Continuous Space")."""

import keras
import keras_hub
from keras import ops

from zoo.step_model import MEMORY, STATE, DecoderTensor, Signature, TensorSpec, decoding_signatures
from zoo.text_tokenizer import PAD_ID, START_ID, UNK_ID
from zoo.vae import VAE


def sequence_nll(labels, logits):
    """Negative log-likelihood of each sentence (sum over non-pad tokens).

    Args:
        labels: int tensor (batch, time), 0-padded.
        logits: float tensor (batch, time, vocab).

    Returns:
        Float tensor (batch,), nats.
    """
    mask = ops.cast(ops.not_equal(labels, PAD_ID), logits.dtype)
    nll = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)  # (batch, time)
    return ops.sum(nll * mask, axis=1)


@keras.saving.register_keras_serializable(package="zoo")
class SentenceVAE(VAE):
    """A VAE over sentences: Transformer encoder -> z -> LSTM decoder.

    The encoder (keras-hub `TransformerEncoder` blocks, masked mean pooling)
    maps a sentence to `z_mean`, `z_log_var`. The decoder is an LSTM whose
    initial state is computed from z, and which also sees a projection of z
    (the *latent context*) concatenated to every input embedding, so the
    latent cannot be forgotten along the sentence. `fit` trains the `VAE`
    objective (`zoo.vae`): reconstruction + beta * KL with KL annealing
    (`kl_schedule`) and optional free bits, plus word dropout on the decoder
    inputs; it reports `reconstruction` (nats per sentence), `kl`, `elbo`
    (-reconstruction - KL) and the KL weight `beta`. `loss` is the training
    objective; on validation it is the negative ELBO (an upper bound on the
    NLL).

    Inference graphs (`signature_specs`): `encode(source_ids) -> {z_mean,
    z_log_var}`, `decode_init(z) -> {h, c, latent_context}` and a loop-free
    `decode_step(token, step, h, c, latent_context) -> {logits, h, c}` built
    on the decoder's `LSTMCell`.

    Args:
        vocabulary_size: int. WordPiece vocabulary size.
        hidden_dim: int. Encoder width.
        intermediate_dim: int. Encoder feed-forward width.
        num_heads: int. Encoder attention heads.
        num_encoder_layers: int. Encoder depth.
        embedding_dim: int. Decoder embedding and latent context size.
        decoder_dim: int. LSTM units.
        latent_dim: int. Size of z.
        dropout: float. Dropout rate.
        word_dropout: float. Decoder input tokens replaced by `[UNK]` in training.
        max_length: int. Longest sentence (tokens).
        kl_schedule: str. KL annealing (`zoo.vae_losses.kl_weight`).
        kl_anneal_steps: int. Annealing length in optimizer steps.
        kl_cycles: int. Cycles of the cyclical schedule.
        free_bits: float. Free nats per latent dimension.
    """

    task = "text_vae"
    def __init__(
        self,
        vocabulary_size,
        hidden_dim=128,
        intermediate_dim=256,
        num_heads=4,
        num_encoder_layers=1,
        embedding_dim=128,
        decoder_dim=256,
        latent_dim=32,
        dropout=0.1,
        word_dropout=0.3,
        max_length=32,
        kl_schedule="linear",
        kl_anneal_steps=3000,
        kl_cycles=4,
        free_bits=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.num_encoder_layers = num_encoder_layers
        self.embedding_dim = embedding_dim
        self.decoder_dim = decoder_dim
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.max_length = max_length
        self.kl_schedule = kl_schedule
        self.kl_anneal_steps = kl_anneal_steps
        self.kl_cycles = kl_cycles
        self.free_bits = free_bits

        self.encoder_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size, max_length, hidden_dim, name="encoder_embedding"
        )
        self.encoder_layers = [
            keras_hub.layers.TransformerEncoder(
                intermediate_dim, num_heads, dropout=dropout, normalize_first=True, name=f"encoder_layer_{i}"
            )
            for i in range(num_encoder_layers)
        ]
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self.z_mean_dense = keras.layers.Dense(latent_dim, name="z_mean")
        self.z_log_var_dense = keras.layers.Dense(latent_dim, name="z_log_var")
        self.init_h = keras.layers.Dense(decoder_dim, activation="tanh", name="init_h")
        self.init_c = keras.layers.Dense(decoder_dim, name="init_c")
        self.latent_context = keras.layers.Dense(embedding_dim, name="latent_context")
        self.decoder_embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="decoder_embedding")
        self.decoder_dropout = keras.layers.Dropout(dropout, name="decoder_dropout")
        self.decoder_lstm = keras.layers.LSTM(decoder_dim, return_sequences=True, name="decoder_lstm")
        self.output_projection = keras.layers.Dense(vocabulary_size, name="output_projection")

    @property
    def max_source_length(self):
        return self.max_length

    @property
    def max_target_length(self):
        return self.max_length + 1  # tokens + [END]

    # Training graph --------------------------------------------------------

    def _encode(self, source_ids, training=None):
        mask = ops.not_equal(source_ids, PAD_ID)  # (batch, src)
        x = self.encoder_embedding(source_ids)  # (batch, src, hidden)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=mask, training=training)
        x = self.encoder_norm(x)
        weights = ops.expand_dims(ops.cast(mask, x.dtype), -1)  # (batch, src, 1)
        pooled = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)  # (batch, hidden)
        return self.z_mean_dense(pooled), self.z_log_var_dense(pooled)

    def _drop_words(self, decoder_ids):
        keep = keras.random.uniform(ops.shape(decoder_ids), seed=self.seed_generator) >= self.word_dropout
        special = ops.logical_or(ops.equal(decoder_ids, START_ID), ops.equal(decoder_ids, PAD_ID))
        return ops.where(ops.logical_or(keep, special), decoder_ids, UNK_ID)

    def forward(self, inputs, training=False, sample=False):
        """Teacher-forced pass: `(logits, z_mean, z_log_var)`.

        Args:
            inputs: dict with `encoder_inputs` (batch, src) and
                `decoder_inputs` (batch, tgt) = `[START]` + sentence.
            training: bool. Dropout and word dropout on.
            sample: bool. Decode from a reparameterized sample of q(z|x)
                instead of its mean.
        """
        z_mean, z_log_var = self._encode(inputs["encoder_inputs"], training)
        z = self.sample_latent(z_mean, z_log_var) if sample else z_mean
        decoder_ids = inputs["decoder_inputs"]
        if training and self.word_dropout > 0:
            decoder_ids = self._drop_words(decoder_ids)
        init = self.decode_init(z)
        x = self.decoder_embedding(decoder_ids)  # (batch, tgt, embedding)
        context = ops.zeros_like(x) + ops.expand_dims(init["latent_context"], 1)  # (batch, tgt, embedding)
        x = self.decoder_dropout(ops.concatenate([x, context], axis=-1), training=training)
        x = self.decoder_lstm(x, initial_state=[init["h"], init["c"]], training=training)  # (batch, tgt, units)
        return self.output_projection(x), z_mean, z_log_var

    def call(self, inputs, training=None):
        return self.forward(inputs, training=bool(training), sample=bool(training))[0]

    def reconstruction_nll(self, data, training):
        inputs, labels = data
        logits, z_mean, z_log_var = self.forward(inputs, training=training, sample=True)
        return sequence_nll(labels, logits), z_mean, z_log_var

    # Inference graphs ------------------------------------------------------

    def encode(self, source_ids):
        """Posterior parameters of (batch, src) 0-padded ids: `{z_mean, z_log_var}`."""
        z_mean, z_log_var = self._encode(source_ids, training=False)
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    def decode_init(self, z):
        """Decoder tensors for latent points z (batch, latent): LSTM `h`, `c`
        (state) and the `latent_context` (memory) fed with every token."""
        return {"h": self.init_h(z), "c": self.init_c(z), "latent_context": self.latent_context(z)}

    def decode_step(self, token, step, h, c, latent_context):
        """One decoder step (no loop): `{logits, h, c}`. `step` is unused by
        an LSTM but kept so every decoder has the same contract."""
        del step
        x = ops.concatenate([self.decoder_embedding(token), latent_context], axis=-1)  # (batch, 2 * embedding)
        output, (h, c) = self.decoder_lstm.cell(x, [h, c], training=False)
        return {"logits": self.output_projection(output), "h": h, "c": c}

    def decoder_tensor_specs(self):
        return [
            DecoderTensor("h", (None, self.decoder_dim), "float32", STATE),
            DecoderTensor("c", (None, self.decoder_dim), "float32", STATE),
            DecoderTensor("latent_context", (None, self.embedding_dim), "float32", MEMORY),
        ]

    def signature_specs(self):
        """`encode`, `decode_init` and `decode_step` (see `zoo.step_model`)."""
        latent = (None, self.latent_dim)
        encode = Signature(
            "encode",
            "encode",
            (TensorSpec("source_ids", (None, None), "int32", "source_tokens"),),
            (TensorSpec("z_mean", latent, "float32", "latent_mean"), TensorSpec("z_log_var", latent, "float32", "latent_log_var")),
        )
        return [encode, *decoding_signatures(self, "decode_init", (TensorSpec("z", latent, "float32", "latent"),))]
