"""Transformer encoder-decoder translator built from keras-hub layers."""

import keras
import keras_hub
import numpy as np
from keras import ops

from zoo.graph_ops import concatenate
from zoo.encoder_decoder import EncoderDecoder
from zoo.step_model import MEMORY, STATE, DecoderTensor


@keras.saving.register_keras_serializable(package="zoo")
class TransformerTranslator(EncoderDecoder):
    """A Transformer encoder-decoder (Vaswani et al., 2017), pre- or post-norm.

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
        dropout: float. Dropout rate on the embeddings and on the output of
            every attention and feed-forward block.
        attention_dropout: float or None. Dropout rate on the attention
            probabilities; None uses `dropout` (keras-hub's blocks), fairseq
            and Marian set it apart (0 in fairseq's `transformer_tiny`).
        max_source_length: int. Longest source sequence.
        max_target_length: int. Decoder positions (K/V cache length).
        tie_embeddings: bool. Compute the logits with the transpose of the
            decoder's token embedding instead of a separate output `Dense`
            (Press & Wolf, 2017): fewer weights, a smaller file.
        shared_vocabulary: bool. One token table (`shared_embedding`) for
            the encoder input, the decoder input and the output projection;
            the two vocabulary sizes must be equal. Implies `tie_embeddings`.
        normalize_first: bool. Pre-norm blocks with a final layer norm on
            each side (True), or post-norm blocks without (False).
        positions: str. `"learned"` position embeddings or fixed
            `"sinusoidal"` ones (sines in the first half of the channels,
            cosines in the second, Marian's and tensor2tensor's layout).
        scale_embeddings: bool. Token embeddings times `sqrt(hidden_dim)`.
        activation: str. Feed-forward activation.
        logits_bias: bool. A bias added to the logits (Marian's
            `final_logits_bias`); with tied embeddings the projection has
            no bias of its own.
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
        shared_vocabulary=False,
        normalize_first=True,
        positions="learned",
        scale_embeddings=False,
        activation="relu",
        logits_bias=False,
        attention_dropout=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if shared_vocabulary and source_vocabulary_size != target_vocabulary_size:
            raise ValueError("shared_vocabulary needs equal source and target vocabulary sizes")
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
        self.tie_embeddings = tie_embeddings or shared_vocabulary
        self.shared_vocabulary = shared_vocabulary
        self.normalize_first = normalize_first
        self.positions = positions
        self.scale_embeddings = scale_embeddings
        self.activation = activation
        self.logits_bias = logits_bias
        self.attention_dropout = attention_dropout
        self.head_dim = hidden_dim // num_heads
        self.embedding_scale = float(np.sqrt(hidden_dim)) if scale_embeddings else 1.0

        def block_kwargs():
            return dict(
                intermediate_dim=intermediate_dim,
                num_heads=num_heads,
                # Every dropout layer of a block is made at this rate (so that it
                # can drop); `_set_attention_dropout` then sets each rate.
                dropout=max(dropout, attention_dropout or 0.0),
                activation=activation,
                normalize_first=normalize_first,
            )

        # Created in this order, the order of the trainable variables (and of
        # the optimizer state saved with a run).
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self._make_embedding("source")
        self.encoder_layers = [
            keras_hub.layers.TransformerEncoder(**block_kwargs(), name=f"encoder_layer_{i}")
            for i in range(num_encoder_layers)
        ]
        if normalize_first:  # pre-norm blocks leave their output unnormalized
            self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self._make_embedding("target")
        self.decoder_layers = [
            keras_hub.layers.TransformerDecoder(**block_kwargs(), name=f"decoder_layer_{i}")
            for i in range(num_decoder_layers)
        ]
        if normalize_first:
            self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        if not self.tie_embeddings:
            self.output_projection = keras.layers.Dense(target_vocabulary_size, name="output_projection")
        if logits_bias:
            self.output_bias = self.add_weight(shape=(target_vocabulary_size,), initializer="zeros", name="logits_bias")

    def build(self, input_shape=None):
        """Create every weight by running the teacher-forced graph on a
        two-token batch (the layers build on their first call)."""
        if self.built:
            return
        ids = ops.ones((1, 2), "int32")  # two positions: a softmax over one key would warn
        self.call({"encoder_inputs": ids, "decoder_inputs": ids})
        if self.attention_dropout is not None:
            self._set_attention_dropout(self.attention_dropout)
        self.built = True

    def _set_attention_dropout(self, rate):
        """keras-hub's blocks use their one `dropout` for the attention
        probabilities (Keras `MultiHeadAttention`) and for the block outputs.
        The blocks were made at the larger of the two rates, so every dropout
        layer can drop; set the attention layers to `rate` and the block
        outputs to `self.dropout`. At 0, Keras also takes its fused
        `dot_product_attention` path."""
        for block in [*self.encoder_layers, *self.decoder_layers]:
            for name in ("_self_attention_layer", "_cross_attention_layer"):
                attention = getattr(block, name, None)
                if attention is not None:
                    attention._dropout = rate
                    attention._dropout_layer.rate = rate
            for name in ("_self_attention_dropout", "_cross_attention_dropout", "_feedforward_dropout"):
                if getattr(block, name, None) is not None:
                    getattr(block, name).rate = self.dropout

    @property
    def _legacy_embeddings(self):
        """Separate vocabularies, learned positions, no scaling: keras-hub's
        `TokenAndPositionEmbedding` per side, the weight layout of runs saved
        before the other options existed."""
        return not self.shared_vocabulary and self.positions == "learned" and not self.scale_embeddings

    def _make_embedding(self, side):
        """The token (and learned position) tables of `side`; with a shared
        vocabulary, one `shared_embedding` made with the source side."""
        hidden = self.hidden_dim
        vocabulary_size = self.source_vocabulary_size if side == "source" else self.target_vocabulary_size
        length = self.max_source_length if side == "source" else self.max_target_length
        if self._legacy_embeddings:
            name = "encoder_embedding" if side == "source" else "decoder_embedding"
            setattr(self, name, keras_hub.layers.TokenAndPositionEmbedding(vocabulary_size, length, hidden, name=name))
            return
        if not self.shared_vocabulary or side == "source":
            name = "shared_embedding" if self.shared_vocabulary else f"{side}_embedding"
            initializer = keras.initializers.RandomNormal(stddev=hidden**-0.5) if self.scale_embeddings else "uniform"
            table = keras_hub.layers.ReversibleEmbedding(vocabulary_size, hidden, embeddings_initializer=initializer, name=name)
            setattr(self, name, table)
        if self.positions == "learned":
            setattr(self, f"{side}_positions", keras_hub.layers.PositionEmbedding(length, name=f"{side}_positions"))

    def token_embedding(self, side):
        """The `ReversibleEmbedding` of `side` ("source" or "target"); the
        same layer for both sides with a shared vocabulary."""
        if self._legacy_embeddings:
            return (self.encoder_embedding if side == "source" else self.decoder_embedding).token_embedding
        if self.shared_vocabulary:
            return self.shared_embedding
        return self.source_embedding if side == "source" else self.target_embedding

    def position_table(self, side, length=None):
        """The first `length` rows (all if None) of `side`'s position table:
        (length, hidden)."""
        if self.positions == "sinusoidal":
            rows = self.max_source_length if side == "source" else self.max_target_length
            table = ops.convert_to_tensor(sinusoidal_positions(rows, self.hidden_dim))
        else:
            if self._legacy_embeddings:
                layer = (self.encoder_embedding if side == "source" else self.decoder_embedding).position_embedding
            else:
                layer = self.source_positions if side == "source" else self.target_positions
            if not layer.built:
                layer.build((None, None, self.hidden_dim))
            table = layer.position_embeddings
        return table if length is None else table[:length]

    def _embed(self, ids, side):
        """Token embeddings (scaled) plus positions: (batch, time, hidden)."""
        x = self.token_embedding(side)(ids)
        if self.scale_embeddings:
            x = x * self.embedding_scale
        return x + self.position_table(side, ops.shape(ids)[1])

    def _final_norm(self, x, side):
        if not self.normalize_first:
            return x
        return (self.encoder_norm if side == "source" else self.decoder_norm)(x)

    def _residual(self, x, norm, sublayer):
        """A block's sub-layer with its residual: pre-norm `x + f(norm(x))`
        or post-norm `norm(x + f(x))`."""
        if self.normalize_first:
            return x + sublayer(norm(x))
        return norm(x + sublayer(x))

    def _logits(self, x):
        x = self._final_norm(x, "target")  # (batch, tgt, hidden)
        if self.tie_embeddings:
            logits = self.token_embedding("target")(x, reverse=True)  # (batch, tgt, vocab)
        else:
            logits = self.output_projection(x)  # (batch, tgt, vocab)
        return logits + self.output_bias if self.logits_bias else logits

    # Training graph --------------------------------------------------------

    def _encode_sequence(self, source_ids, training=None):
        source_mask = ops.not_equal(source_ids, 0)  # (batch, src)
        x = self.embedding_dropout(self._embed(source_ids, "source"), training=training)  # (batch, src, hidden)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=source_mask, training=training)
        return self._final_norm(x, "source"), source_mask

    def call(self, inputs, training=None):
        source_ids = inputs["encoder_inputs"]  # (batch, src)
        decoder_ids = inputs["decoder_inputs"]  # (batch, tgt)
        memory, source_mask = self._encode_sequence(source_ids, training)
        x = self.embedding_dropout(self._embed(decoder_ids, "target"), training=training)  # (batch, tgt, hidden)
        for layer in self.decoder_layers:
            x = layer(x, encoder_sequence=memory, encoder_padding_mask=source_mask, training=training)
        return self._logits(x)  # (batch, tgt, vocab)

    # Inference graphs ------------------------------------------------------
    #
    # Written for what a device runs fast (one XNNPACK partition per step):
    # 2-D activations (batch, hidden) so every projection is one matmul,
    # Q/K/V fused in one matmul with 1/sqrt(head_dim) folded into Q, 4-D
    # caches (batch, heads, ...), keys stored pre-transposed (batch, heads,
    # head_dim, time) so scores are a plain batched matmul, additive float
    # masks instead of boolean masks and `where`, and no cache update inside
    # the graph: `decode_step` returns only this position's key/value rows
    # and the caller appends them (the runtime writes them in place). The
    # weights are those of the keras-hub layers used by `call()`.

    def decoder_tensor_specs(self):
        """The tensors `encode` hands to `decode_step` (see `zoo.step_model`).

        The self-attention caches are `append` states: their time axis
        (`None` here) is the cache length the exporter chooses, and each
        step returns one new row along it.
        """
        heads, dim = self.num_heads, self.head_dim
        specs = [DecoderTensor("source_bias", (None, 1, 1, None), "float32", MEMORY)]
        for i in range(self.num_decoder_layers):
            specs.append(DecoderTensor(f"cross_key_{i}", (None, heads, dim, None), "float32", MEMORY))
            specs.append(DecoderTensor(f"cross_value_{i}", (None, heads, None, dim), "float32", MEMORY))
        for i in range(self.num_decoder_layers):
            specs.append(DecoderTensor(f"self_key_{i}", (None, heads, dim, None), "float32", STATE, time_axis=3))
            specs.append(DecoderTensor(f"self_value_{i}", (None, heads, None, dim), "float32", STATE, time_axis=2))
        return specs

    def _heads(self, x, offset=0):
        """Slices of the last axis of `x` (batch, time, channels), one per
        head: `num_heads` tensors (batch, time, head_dim) starting at
        channel `offset`. Static slices, not a reshape: with both batch and
        time dynamic, a reshape to (batch, time, heads, dim) needs the shape
        at run time, which the device's delegate does not take."""
        dim = self.head_dim
        return [x[:, :, offset + h * dim : offset + (h + 1) * dim] for h in range(self.num_heads)]

    @staticmethod
    def _project(x, kernel, bias):
        """(batch, time, in) @ (in, out) + bias as one einsum: it converts to a
        single fully-connected op, where `matmul` of a 3-D by a 2-D tensor
        becomes a `tensordot` that reshapes by run-time shapes."""
        return ops.einsum("bti,io->bto", x, kernel) + bias

    def _encoder_self_attention(self, x, layer, source_bias):
        """Multi-head self-attention over the source, head by head.

        Args:
            x: float (batch, src, hidden), normalized.
            layer: the keras-hub `TransformerEncoder`.
            source_bias: float (batch, 1, src), 0 for tokens, -1e9 for padding.

        Returns:
            float (batch, src, hidden).
        """
        hidden = self.hidden_dim
        (qkv_kernel, qkv_bias), output = self._fused_qkv(layer._self_attention_layer)
        qkv = self._project(x, qkv_kernel, qkv_bias)  # (batch, src, 3 * hidden)
        contexts = []
        for q, k, v in zip(self._heads(qkv), self._heads(qkv, hidden), self._heads(qkv, 2 * hidden)):
            scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) + source_bias  # (batch, src, src)
            contexts.append(ops.matmul(ops.softmax(scores, axis=-1), v))  # (batch, src, dim)
        context = concatenate(contexts, axis=-1)  # (batch, src, hidden)
        return self._project(context, output[0], output[1])

    def encode(self, source_ids):
        """Run the encoder once and precompute every decoder layer's
        cross-attention keys and values in the layout `decode_step` reads.

        The same computation as `call()`'s encoder, written for the device
        like `decode_step`: Q/K/V in one matmul with the scale folded into Q,
        attention head by head over static channel slices, an additive
        padding bias instead of a boolean mask, position embeddings added
        without materializing a (batch, src, hidden) broadcast.

        Args:
            source_ids: int tensor (batch, src), 0-padded.

        Returns:
            Dict with `source_bias` (batch, 1, 1, src): 0 for tokens, -1e9
            for padding; `cross_key_{i}` (batch, heads, head_dim, src) and
            `cross_value_{i}` (batch, heads, src, head_dim).
        """
        x = self._embed(source_ids, "source")  # (batch, src, hidden)
        padding = 1.0 - ops.cast(ops.not_equal(source_ids, 0), x.dtype)
        source_bias = ops.expand_dims(padding * -1e9, 1)  # (batch, 1, src)
        for layer in self.encoder_layers:
            inner, outer = layer._feedforward_intermediate_dense, layer._feedforward_output_dense

            def attention(h, layer=layer):
                return self._encoder_self_attention(h, layer, source_bias)

            def feedforward(h, inner=inner, outer=outer):
                return self._project(inner.activation(self._project(h, inner.kernel, inner.bias)), outer.kernel, outer.bias)

            x = self._residual(x, layer._self_attention_layer_norm, attention)
            x = self._residual(x, layer._feedforward_layer_norm, feedforward)  # (batch, src, hidden)
        memory = self._final_norm(x, "source")  # (batch, src, hidden)
        outputs = {"source_bias": ops.expand_dims(source_bias, 1)}  # (batch, 1, 1, src)
        for i, layer in enumerate(self.decoder_layers):
            _, key, value, _ = self._attention_weights(layer._cross_attention_layer)
            keys = self._heads(self._project(memory, key[0], key[1]))  # heads x (batch, src, dim)
            values = self._heads(self._project(memory, value[0], value[1]))
            keys = [ops.expand_dims(ops.transpose(k, (0, 2, 1)), 1) for k in keys]  # heads x (batch, 1, dim, src)
            outputs[f"cross_key_{i}"] = concatenate(keys, axis=1)  # (batch, heads, dim, src)
            outputs[f"cross_value_{i}"] = concatenate([ops.expand_dims(v, 1) for v in values], axis=1)
        return outputs

    def _attention_weights(self, attention):
        """A keras-hub attention layer's weights as 2-D matmul operands, the
        query scaled by 1/sqrt(head_dim) (constant-folded by the converter)."""
        hidden, scale = self.hidden_dim, 1.0 / self.head_dim**0.5

        def dense(layer, factor=1.0):
            return ops.reshape(layer.kernel, (hidden, hidden)) * factor, ops.reshape(layer.bias, (hidden,)) * factor

        query, key, value = dense(attention._query_dense, scale), dense(attention._key_dense), dense(attention._value_dense)
        output = (ops.reshape(attention._output_dense.kernel, (hidden, hidden)), attention._output_dense.bias)
        return query, key, value, output

    def _fused_qkv(self, attention):
        """Self-attention Q/K/V as one matmul: `((kernel (hidden, 3 * hidden),
        bias (3 * hidden,)), output)`, Q scaled as in `_attention_weights`."""
        query, key, value, output = self._attention_weights(attention)
        kernel = ops.concatenate([query[0], key[0], value[0]], axis=1)
        bias = ops.concatenate([query[1], key[1], value[1]], axis=0)
        return (kernel, bias), output

    def _self_attention(self, x, layer, key_cache, value_cache, cache_bias):
        """Attend from one position over the cached positions and itself.

        Args:
            x: float (batch, hidden), normalized input of this position.
            layer: the keras-hub `TransformerDecoder`.
            key_cache: float (batch, heads, dim, time), earlier keys.
            value_cache: float (batch, heads, time, dim), earlier values.
            cache_bias: float (time,), 0 for filled positions, -1e9 after.

        Returns:
            `(output (batch, hidden), new_key (batch, heads, dim, 1),
            new_value (batch, heads, 1, dim))`.
        """
        heads, dim = self.num_heads, self.head_dim
        (qkv_kernel, qkv_bias), output = self._fused_qkv(layer._self_attention_layer)
        qkv = ops.matmul(x, qkv_kernel) + qkv_bias  # (batch, 3 * hidden)
        q, k, v = ops.split(qkv, 3, axis=-1)
        # Reshapes use -1 for the batch: every shape stays static once the
        # inputs are sized, so the device plans the step once.
        q = ops.reshape(q, (-1, heads, 1, dim))
        new_key = ops.reshape(k, (-1, heads, dim, 1))
        new_value = ops.reshape(v, (-1, heads, 1, dim))
        cached_scores = ops.matmul(q, key_cache) + cache_bias  # (batch, heads, 1, time)
        own_score = ops.matmul(q, new_key)  # (batch, heads, 1, 1)
        probs = ops.softmax(ops.concatenate([cached_scores, own_score], axis=-1), axis=-1)
        time = ops.shape(key_cache)[-1]
        context = ops.matmul(probs[..., :time], value_cache) + probs[..., time:] * new_value  # (batch, heads, 1, dim)
        context = ops.reshape(context, (-1, self.hidden_dim))
        return ops.matmul(context, output[0]) + output[1], new_key, new_value

    def _cross_attention(self, x, layer, key, value, source_bias):
        """Attend from one position over the source (keys/values from `encode`)."""
        query, _, _, output = self._attention_weights(layer._cross_attention_layer)
        q = ops.reshape(ops.matmul(x, query[0]) + query[1], (-1, self.num_heads, 1, self.head_dim))
        probs = ops.softmax(ops.matmul(q, key) + source_bias, axis=-1)  # (batch, heads, 1, src)
        context = ops.reshape(ops.matmul(probs, value), (-1, self.hidden_dim))
        return ops.matmul(context, output[0]) + output[1]

    def decode_step(self, token, step, source_bias, **tensors):
        """Decode one position for every sentence in the batch.

        Args:
            token: int tensor (batch,). The token at position `step`.
            step: int scalar. Position index, 0 for `[START]`; also the
                number of filled cache positions.
            source_bias: float (batch, 1, 1, src) from `encode`.
            **tensors: `cross_key_{i}`, `cross_value_{i}` from `encode` and
                the caches `self_key_{i}` (batch, heads, dim, time),
                `self_value_{i}` (batch, heads, time, dim) whose first `step`
                positions are filled (any time >= step).

        Returns:
            Dict with `logits` (batch, vocab) for position `step + 1`, and
            this position's `self_key_{i}` (batch, heads, dim, 1) and
            `self_value_{i}` (batch, heads, 1, dim) to append to the caches.
        """
        x = self.token_embedding("target")(token)
        if self.scale_embeddings:
            x = x * self.embedding_scale
        x = x + ops.take(self.position_table("target"), step, axis=0)  # (batch, hidden)
        time = ops.shape(tensors["self_key_0"])[-1]
        filled = ops.cast(ops.arange(time) < step, x.dtype)
        cache_bias = (1.0 - filled) * -1e9  # (time,)
        outputs = {}
        for i, layer in enumerate(self.decoder_layers):

            def self_attention(h, layer=layer, i=i):
                attended, outputs[f"self_key_{i}"], outputs[f"self_value_{i}"] = self._self_attention(
                    h, layer, tensors[f"self_key_{i}"], tensors[f"self_value_{i}"], cache_bias
                )
                return attended

            def cross_attention(h, layer=layer, i=i):
                return self._cross_attention(h, layer, tensors[f"cross_key_{i}"], tensors[f"cross_value_{i}"], source_bias)

            def feedforward(h, layer=layer):
                return layer._feedforward_output_dense(layer._feedforward_intermediate_dense(h))

            x = self._residual(x, layer._self_attention_layer_norm, self_attention)
            x = self._residual(x, layer._cross_attention_layer_norm, cross_attention)
            x = self._residual(x, layer._feedforward_layer_norm, feedforward)  # (batch, hidden)
        return {"logits": self._logits(x), **outputs}


def sinusoidal_positions(length, dim):
    """Fixed position encodings (length, dim), float32: row `p` holds
    `sin(p * w_i)` in its first `dim / 2` channels and `cos(p * w_i)` in the
    rest, `w_i = 10000 ** (-2i / dim)` (Marian's and Hugging Face's
    `MarianSinusoidalPositionalEmbedding` layout; positions count from 0)."""
    half = dim // 2
    angles = np.arange(length)[:, None] / np.power(10000.0, 2 * np.arange(half)[None, :] / dim)
    table = np.zeros((length, dim), np.float64)
    table[:, :half] = np.sin(angles)
    table[:, half : 2 * half] = np.cos(angles)
    return table.astype(np.float32)
