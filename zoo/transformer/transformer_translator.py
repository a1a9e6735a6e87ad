"""Transformer encoder-decoder translator built from keras-hub layers."""

import keras
import keras_hub
from keras import ops

from zoo.step_model import MEMORY, STATE, DecoderTensor


@keras.saving.register_keras_serializable(package="zoo")
class TransformerTranslator(keras.Model):
    """A pre-norm Transformer encoder-decoder (Vaswani et al., 2017).

    `call()` is the teacher-forced forward pass used by `fit`. `encode()` and
    `decode_step()` are the split inference graphs: `encode` runs the encoder
    once and precomputes every decoder layer's cross-attention K/V;
    `decode_step` consumes one token per sentence and updates the
    self-attention K/V cache in place at index `step` (keras-hub's cached
    attention), so a step costs O(step) instead of re-running the decoder.

    Args:
        source_vocabulary_size: int. Source WordPiece vocabulary size.
        target_vocabulary_size: int. Target WordPiece vocabulary size.
        hidden_dim: int. Model width.
        intermediate_dim: int. Feed-forward width.
        num_heads: int. Attention heads.
        num_encoder_layers: int. Encoder depth.
        num_decoder_layers: int. Decoder depth.
        dropout: float. Dropout rate.
        max_source_length: int. Longest source sequence.
        max_target_length: int. Decoder positions (K/V cache length).
        tie_embeddings: bool. Compute the logits with the transpose of the
            decoder's token embedding instead of a separate output `Dense`
            (Press & Wolf, 2017): fewer weights, a smaller file.
    """

    family = "transformer"

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        hidden_dim=256,
        intermediate_dim=1024,
        num_heads=4,
        num_encoder_layers=4,
        num_decoder_layers=4,
        dropout=0.1,
        max_source_length=64,
        max_target_length=64,
        tie_embeddings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.tie_embeddings = tie_embeddings
        self.head_dim = hidden_dim // num_heads

        def block_kwargs():
            return dict(
                intermediate_dim=intermediate_dim,
                num_heads=num_heads,
                dropout=dropout,
                normalize_first=True,
            )

        self.encoder_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            source_vocabulary_size, max_source_length, hidden_dim, name="encoder_embedding"
        )
        self.encoder_layers = [
            keras_hub.layers.TransformerEncoder(**block_kwargs(), name=f"encoder_layer_{i}")
            for i in range(num_encoder_layers)
        ]
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self.decoder_embedding = keras_hub.layers.TokenAndPositionEmbedding(
            target_vocabulary_size, max_target_length, hidden_dim, name="decoder_embedding"
        )
        self.decoder_layers = [
            keras_hub.layers.TransformerDecoder(**block_kwargs(), name=f"decoder_layer_{i}")
            for i in range(num_decoder_layers)
        ]
        self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        if not tie_embeddings:
            self.output_projection = keras.layers.Dense(target_vocabulary_size, name="output_projection")

    def _logits(self, x):
        x = self.decoder_norm(x)  # (batch, tgt, hidden)
        if self.tie_embeddings:
            return self.decoder_embedding.token_embedding(x, reverse=True)  # (batch, tgt, vocab)
        return self.output_projection(x)  # (batch, tgt, vocab)

    # Training graph --------------------------------------------------------

    def _encode_sequence(self, source_ids, training=None):
        source_mask = ops.not_equal(source_ids, 0)  # (batch, src)
        x = self.encoder_embedding(source_ids)  # (batch, src, hidden)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=source_mask, training=training)
        return self.encoder_norm(x), source_mask

    def call(self, inputs, training=None):
        source_ids = inputs["encoder_inputs"]  # (batch, src)
        decoder_ids = inputs["decoder_inputs"]  # (batch, tgt)
        memory, source_mask = self._encode_sequence(source_ids, training)
        x = self.decoder_embedding(decoder_ids)  # (batch, tgt, hidden)
        for layer in self.decoder_layers:
            x = layer(x, encoder_sequence=memory, encoder_padding_mask=source_mask, training=training)
        return self._logits(x)  # (batch, tgt, vocab)

    # Inference graphs ------------------------------------------------------

    def decoder_tensor_specs(self):
        """The tensors `encode` hands to `decode_step` (see `zoo.step_model`)."""
        cache = (None, 2, None, self.num_heads, self.head_dim)  # (batch, k/v, time, heads, dim)
        self_cache = (None, 2, self.max_target_length, self.num_heads, self.head_dim)
        specs = [DecoderTensor("source_mask", (None, None), "int32", MEMORY)]
        for i in range(self.num_decoder_layers):
            specs.append(DecoderTensor(f"cross_cache_{i}", cache, "float32", MEMORY))
        for i in range(self.num_decoder_layers):
            specs.append(DecoderTensor(f"self_cache_{i}", self_cache, "float32", STATE))
        return specs

    def encode(self, source_ids):
        """Run the encoder once.

        Args:
            source_ids: int tensor (batch, src), 0-padded.

        Returns:
            Dict with `source_mask` (batch, src), `cross_cache_{i}`
            (batch, 2, src, heads, head_dim) and zero-filled `self_cache_{i}`
            (batch, 2, max_target_length, heads, head_dim).
        """
        memory, source_mask = self._encode_sequence(source_ids, training=False)
        batch, source_length = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
        outputs = {"source_mask": ops.cast(source_mask, "int32")}
        # One dummy position through each layer with cross-attention update
        # index 0 fills the cross-attention cache from `memory` (keras-hub's
        # way of building the cache, as in its BART `_build_cache`).
        dummy = ops.zeros((batch, 1, self.hidden_dim), dtype=memory.dtype)
        zeros = ops.zeros((batch, 2, self.max_target_length, self.num_heads, self.head_dim))
        for i, layer in enumerate(self.decoder_layers):
            _, _, cross_cache = layer(
                dummy,
                encoder_sequence=memory,
                encoder_padding_mask=source_mask,
                self_attention_cache=zeros,
                self_attention_cache_update_index=0,
                cross_attention_cache=ops.zeros((batch, 2, source_length, self.num_heads, self.head_dim)),
                cross_attention_cache_update_index=0,
                training=False,
            )
            outputs[f"cross_cache_{i}"] = cross_cache
        for i in range(self.num_decoder_layers):
            outputs[f"self_cache_{i}"] = zeros
        return outputs

    def decode_step(self, token, step, source_mask, **caches):
        """Decode one position for every sentence in the batch.

        Args:
            token: int tensor (batch,). The token at position `step`.
            step: int scalar. Position index, 0 for `[START]`.
            source_mask: int tensor (batch, src) from `encode`.
            **caches: `cross_cache_{i}` and `self_cache_{i}` from `encode` or
                the previous step.

        Returns:
            Dict with `logits` (batch, vocab) for position `step + 1` and the
            updated `self_cache_{i}`.
        """
        x = self.decoder_embedding(ops.expand_dims(token, 1), start_index=step)  # (batch, 1, hidden)
        # With a precomputed cross-attention cache keras-hub never reads the
        # encoder sequence; it only has to be present (batch, src, 1).
        encoder_stub = ops.cast(source_mask[:, :, None], x.dtype)
        outputs = {}
        for i, layer in enumerate(self.decoder_layers):
            x, self_cache, _ = layer(
                x,
                encoder_sequence=encoder_stub,
                encoder_padding_mask=source_mask,
                self_attention_cache=caches[f"self_cache_{i}"],
                self_attention_cache_update_index=step,
                cross_attention_cache=caches[f"cross_cache_{i}"],
                cross_attention_cache_update_index=None,
                training=False,
            )
            outputs[f"self_cache_{i}"] = self_cache
        logits = self._logits(x)[:, 0, :]  # (batch, vocab)
        return {"logits": logits, **outputs}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "num_encoder_layers": self.num_encoder_layers,
                "num_decoder_layers": self.num_decoder_layers,
                "dropout": self.dropout,
                "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length,
                "tie_embeddings": self.tie_embeddings,
            }
        )
        return config
