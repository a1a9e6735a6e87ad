"""LSTM encoder-decoder translator with attention.

A bidirectional LSTM encoder (Bahdanau et al., 2015) and a stacked LSTM
decoder with global attention and, optionally, input feeding (Luong et al.,
2015), scored with Luong `dot` / `general` or Bahdanau (additive) attention.
Training (`call`) and inference (`encode` / `decode_step`) run the very same
decoder step; only the loop around it differs.

Why the device encoder is an unrolled cell loop over a fixed length: a Keras 3
`LSTM` layer converts to a TFLite `WHILE` loop, and full-integer calibration
of that loop crashed the process (the `encode` / `decode_step` contract:
docs/architecture.md, "The step contract"). `encode` therefore pads the
source to `max_source_length` and steps the *same* `LSTMCell` weights of the
trained bidirectional layers in an unrolled Python loop, carrying state over
padded positions with the mask. The graph has no loop, so every recipe
(int8 and int16x8 included) calibrates. The price is measured: for the
`small` preset on Multi30k (48 positions, 2 bidirectional layers, about
3,000 ops) `encode` runs every position whatever the sentence length, so on
short sentences it dominates the decoding time (`zoo bench` profiles it).
Computing the input half of the gates for all positions in one matmul
before the loop (as cuDNN does) cut it from 5.5 to 3.7 ms (int8, batch 1,
1 thread, median, measured side by side). Writing every op in the form the
XNNPACK delegate takes (2-D matmuls, slices of at most 4 outputs, concats of
at most 4 inputs, the mask as arithmetic rather than `where`) made the whole
encoder one delegate partition (it was 104): 11.2 -> 9.2 ms, side by side
on a loaded machine (dynamic int8, 1 thread); a shorter `max_source_length`
would cut it further. Training keeps the fast `LSTM` layer (its `WHILE` loop,
cuDNN on a GPU) over bucketed, unpadded batches; a test checks both encoders
give the same memory.
"""

import keras
import keras_hub
from keras import ops

from zoo.graph_ops import concatenate
from zoo.lstm.lstm_config import ATTENTION_TYPES
from zoo.encoder_decoder import EncoderDecoder
from zoo.step_model import MEMORY, STATE, DecoderTensor


@keras.saving.register_keras_serializable(package="zoo")
class LSTMTranslator(EncoderDecoder):
    """Bidirectional-LSTM encoder, attentional LSTM decoder.

    `call()` is the teacher-forced pass used by `fit`; `encode()` runs the
    encoder once and returns the memory and initial decoder state;
    `decode_step()` is one `LSTMCell` step per decoder layer plus attention,
    with explicit state: `h_i`, `c_i` per layer and, with input feeding, the
    previous `attention_vector`.

    Args:
        source_vocabulary_size: int. Source WordPiece vocabulary size.
        target_vocabulary_size: int. Target WordPiece vocabulary size.
        embedding_dim: int. Token embedding width.
        encoder_units: int. LSTM units per encoder direction.
        decoder_units: int. Decoder LSTM units.
        num_encoder_layers: int. Bidirectional encoder layers.
        num_decoder_layers: int. Decoder LSTM layers.
        attention: str. `"luong_dot"` (needs `decoder_units ==
            2 * encoder_units`), `"luong_general"` or `"bahdanau"`.
        input_feeding: bool. Feed the attentional vector to the next step.
        dropout: float. Dropout rate (embeddings, encoder outputs, output).
        max_source_length: int. Source positions of the device encoder.
        max_target_length: int. Longest decoded target, with `[START]`.
        shared_vocabulary: bool. One vocabulary and one token table
            (`shared_embedding`) for the source, the target and the output
            layer: the attentional vector is projected to `embedding_dim`
            and scored against the table (three-way tying, Press & Wolf,
            2017); the vocabulary sizes must be equal.
    """

    family = "lstm"

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        embedding_dim=256,
        encoder_units=256,
        decoder_units=512,
        num_encoder_layers=2,
        num_decoder_layers=2,
        attention="luong_general",
        input_feeding=True,
        dropout=0.3,
        max_source_length=48,
        max_target_length=64,
        shared_vocabulary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if shared_vocabulary and source_vocabulary_size != target_vocabulary_size:
            raise ValueError("shared_vocabulary needs equal source and target vocabulary sizes")
        if attention not in ATTENTION_TYPES:
            raise ValueError(f"unknown attention {attention!r}; choose from {', '.join(ATTENTION_TYPES)}")
        if attention == "luong_dot" and decoder_units != 2 * encoder_units:
            raise ValueError("luong_dot attention needs decoder_units == 2 * encoder_units")
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.embedding_dim = embedding_dim
        self.encoder_units = encoder_units
        self.decoder_units = decoder_units
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.attention = attention
        self.input_feeding = input_feeding
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.shared_vocabulary = shared_vocabulary
        self.memory_dim = 2 * encoder_units
        # Width of the attention keys (and of the query they are scored with).
        self.key_dim = self.memory_dim if attention == "luong_dot" else decoder_units

        if shared_vocabulary:
            self.shared_embedding = keras_hub.layers.ReversibleEmbedding(
                source_vocabulary_size, embedding_dim, name="shared_embedding"
            )
        else:
            self.source_embedding = keras.layers.Embedding(source_vocabulary_size, embedding_dim, name="source_embedding")
        self.encoder_layers = [
            keras.layers.Bidirectional(
                keras.layers.LSTM(encoder_units, return_sequences=True), name=f"encoder_layer_{i}"
            )
            for i in range(num_encoder_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout)
        # Initial decoder state from the mean of the encoder outputs.
        self.bridge = keras.layers.Dense(2 * num_decoder_layers * decoder_units, activation="tanh", name="bridge")
        if not shared_vocabulary:
            self.target_embedding = keras.layers.Embedding(target_vocabulary_size, embedding_dim, name="target_embedding")
        self.decoder_cells = [
            keras.layers.LSTMCell(decoder_units, name=f"decoder_cell_{i}") for i in range(num_decoder_layers)
        ]
        self.key_projection = None
        self.query_projection = None
        if attention != "luong_dot":
            self.key_projection = keras.layers.Dense(decoder_units, use_bias=False, name="key_projection")
        if attention == "bahdanau":
            self.query_projection = keras.layers.Dense(decoder_units, use_bias=False, name="query_projection")
            self.attention_layer = keras.layers.AdditiveAttention(name="attention")
        else:
            self.attention_layer = keras.layers.Attention(score_mode="dot", name="attention")
        # Luong's attentional vector: tanh(W [context; h]).
        self.attention_output = keras.layers.Dense(
            decoder_units, activation="tanh", use_bias=False, name="attention_output"
        )
        if shared_vocabulary:  # attentional vector -> embedding space, scored against the table
            self.output_projection = keras.layers.Dense(embedding_dim, name="output_projection")
        else:
            self.output_projection = keras.layers.Dense(target_vocabulary_size, name="output_projection")

    def token_embedding(self, side):
        """The token table of `side` ("source" or "target"); one
        `shared_embedding` for both with a shared vocabulary."""
        if self.shared_vocabulary:
            return self.shared_embedding
        return self.source_embedding if side == "source" else self.target_embedding

    def _logits(self, x):
        """Logits (..., vocab) of attentional vectors (..., decoder_units)."""
        if self.shared_vocabulary:
            return self.shared_embedding(self.output_projection(x), reverse=True)
        return self.output_projection(x)

    def build(self, input_shape=None):
        if self.built:
            return
        self.token_embedding("source").build((None, None))
        width = self.embedding_dim
        for layer in self.encoder_layers:
            layer.build((None, None, width))
            width = self.memory_dim
        self.bridge.build((None, self.memory_dim))
        if not self.shared_vocabulary:
            self.target_embedding.build((None,))
        width = self.embedding_dim + (self.decoder_units if self.input_feeding else 0)
        for cell in self.decoder_cells:
            cell.build((None, width))
            width = self.decoder_units
        if self.key_projection is not None:
            self.key_projection.build((None, None, self.memory_dim))
        if self.query_projection is not None:
            self.query_projection.build((None, None, self.decoder_units))
        self.attention_layer.build([(None, 1, self.key_dim), (None, None, self.memory_dim), (None, None, self.key_dim)])
        self.attention_output.build((None, self.memory_dim + self.decoder_units))
        self.output_projection.build((None, self.decoder_units))
        self.built = True

    # Shared pieces ---------------------------------------------------------

    def _memory_and_state(self, values, mask):
        """Memory tensors and the initial decoder state from encoder outputs.

        The memory is laid out for the step: an additive `source_bias` (0 for
        tokens, -1e9 for padding: Keras' `Attention` mask, as arithmetic) and,
        for the dot-product scores, keys stored transposed `(batch, dim, src)`
        so the step multiplies them as they are.

        Args:
            values: float tensor (batch, src, 2 * encoder_units).
            mask: bool tensor (batch, src).
        """
        mask = ops.cast(mask, values.dtype)  # (batch, src)
        count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        pooled = ops.sum(values * mask[:, :, None], axis=1) / count  # (batch, memory_dim)
        initial = ops.split(self.bridge(pooled), 2 * self.num_decoder_layers, axis=-1)
        keys = values  # (batch, src, key_dim)
        if self.key_projection is not None:  # as a 2-D matmul, with static shapes on the device
            flat = self.key_projection(ops.reshape(values, (-1, self.memory_dim)))
            keys = ops.reshape(flat, (-1, ops.shape(values)[1], self.key_dim))
        if self.attention != "bahdanau":
            keys = ops.transpose(keys, (0, 2, 1))  # (batch, key_dim, src)
        memory = {
            "source_bias": (mask[:, None, :] - 1.0) * 1.0e9,  # (batch, 1, src)
            "memory_values": values,
            "memory_keys": keys,
        }
        state = {}
        for i in range(self.num_decoder_layers):
            state[f"h_{i}"], state[f"c_{i}"] = initial[2 * i], initial[2 * i + 1]  # (batch, decoder_units)
        if self.input_feeding:
            state["attention_vector"] = ops.zeros_like(initial[0])
        return memory, state

    def _attend(self, query, memory):
        """Global attention of one decoder position over the source.

        The math of the Keras `Attention` (dot) and `AdditiveAttention`
        layers, whose weights it reads, written as plain matmuls, an additive
        mask and a softmax, on 3-D tensors without slicing.

        Args:
            query: float tensor (batch, decoder_units).
            memory: dict of memory tensors (see `decoder_tensor_specs`).

        Returns:
            Float tensor (batch, memory_dim), the context vector.
        """
        keys = memory["memory_keys"]
        if self.query_projection is not None:
            query = self.query_projection(query)
        query = ops.reshape(query, (-1, 1, self.key_dim))  # (batch, 1, key_dim)
        if self.attention == "bahdanau":
            hidden = ops.tanh(query + keys)  # (batch, src, key_dim)
            scale = ops.reshape(self.attention_layer.scale, (self.key_dim, 1))
            scores = ops.reshape(ops.matmul(hidden, scale), (-1, 1, ops.shape(keys)[1]))  # (batch, 1, src)
        else:
            scores = ops.matmul(query, keys)  # (batch, 1, src); keys (batch, key_dim, src)
        weights = ops.softmax(scores + memory["source_bias"], axis=-1)  # (batch, 1, src)
        context = ops.matmul(weights, memory["memory_values"])  # (batch, 1, memory_dim)
        return ops.reshape(context, (-1, self.memory_dim))

    def _step(self, embedded, memory, state):
        """One decoder step: LSTM cells, attention, attentional vector.

        Args:
            embedded: float tensor (batch, embedding_dim).
            memory: dict of memory tensors (see `decoder_tensor_specs`).
            state: dict of state tensors.

        Returns:
            `(attentional_vector, next_state)`; the vector is (batch, decoder_units).
        """
        x = embedded
        if self.input_feeding:
            x = ops.concatenate([x, state["attention_vector"]], axis=-1)
        next_state = {}
        for i, cell in enumerate(self.decoder_cells):
            x, (h, c) = cell(x, [state[f"h_{i}"], state[f"c_{i}"]])
            next_state[f"h_{i}"], next_state[f"c_{i}"] = h, c
        context = self._attend(x, memory)
        attentional = self.attention_output(ops.concatenate([context, x], axis=-1))
        if self.input_feeding:
            next_state["attention_vector"] = attentional
        return attentional, next_state

    # Training graph --------------------------------------------------------

    def call(self, inputs, training=None):
        source_ids = inputs["encoder_inputs"]  # (batch, src)
        mask = ops.not_equal(source_ids, 0)
        x = self.dropout_layer(self.token_embedding("source")(source_ids), training=training)
        for layer in self.encoder_layers:
            x = self.dropout_layer(layer(x, mask=mask, training=training), training=training)
        memory, state = self._memory_and_state(x, mask)

        embedded = self.dropout_layer(self.token_embedding("target")(inputs["decoder_inputs"]), training=training)

        # Keras' `scan` stacks the carry as its per-step output, so the carry
        # holds the attentional vector (`output`) beside the decoder state.
        def body(carry, embedded_t):
            state = {k: v for k, v in carry.items() if k != "output"}
            attentional, next_state = self._step(embedded_t, memory, state)
            next_carry = {**next_state, "output": attentional}
            return next_carry, next_carry

        carry = {**state, "output": ops.zeros_like(state["h_0"])}
        _, steps = ops.scan(body, carry, ops.transpose(embedded, (1, 0, 2)))
        outputs = steps["output"]  # (tgt, batch, decoder_units)
        outputs = ops.transpose(outputs, (1, 0, 2))  # (batch, tgt, decoder_units)
        return self._logits(self.dropout_layer(outputs, training=training))  # (batch, tgt, vocab)

    # Inference graphs ------------------------------------------------------

    @property
    def fixed_source_length(self):
        """The device encoder always runs `max_source_length` positions."""
        return self.max_source_length

    def decoder_tensor_specs(self):
        """The tensors `encode` hands to `decode_step` (see `zoo.step_model`)."""
        source = self.max_source_length
        keys = (source, self.key_dim) if self.attention == "bahdanau" else (self.key_dim, source)
        specs = [
            DecoderTensor("source_bias", (None, 1, source), "float32", MEMORY),
            DecoderTensor("memory_values", (None, source, self.memory_dim), "float32", MEMORY),
            DecoderTensor("memory_keys", (None, *keys), "float32", MEMORY),
        ]
        for i in range(self.num_decoder_layers):
            specs.append(DecoderTensor(f"h_{i}", (None, self.decoder_units), "float32", STATE))
            specs.append(DecoderTensor(f"c_{i}", (None, self.decoder_units), "float32", STATE))
        if self.input_feeding:
            specs.append(DecoderTensor("attention_vector", (None, self.decoder_units), "float32", STATE))
        return specs

    def _unrolled_lstm(self, cell, x, mask, reverse):
        """A masked LSTM over the static time axis, as a loop-free graph.

        The input half of every gate is computed for all positions in one
        matmul before the loop (as cuDNN does), so each step only multiplies
        the recurrent kernel: the input kernel is read once per sentence
        instead of once per position. The gate math is `LSTMCell`'s
        (gates i, f, c, o). Written for the device's delegate: plain slices
        and reshapes (no shrinking slices, no `where`: the mask is applied as
        `keep * new + (1 - keep) * old`, exact for keep in {0, 1}), no zero
        initial state (the first position skips the terms it would zero), and
        outputs concatenated a few at a time.

        Args:
            cell: the `LSTMCell` of one direction of a trained encoder layer.
            x: float tensor (batch, max_source_length, width).
            mask: float tensor (batch, max_source_length), 1 for tokens.
            reverse: bool. Run from the last position to the first.

        Returns:
            Float tensor (batch, max_source_length, units). Padded positions
            keep the state of the last real token (as the Keras layer does).
        """
        units, time = cell.units, self.max_source_length
        x_gates = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), cell.kernel)  # (batch * time, 4 * units)
        if cell.use_bias:
            x_gates = x_gates + cell.bias
        x_gates = ops.reshape(x_gates, (-1, time, 4 * units))
        sigmoid, tanh = cell.recurrent_activation, cell.activation
        h = c = None  # zero state
        outputs = [None] * time
        for t in reversed(range(time)) if reverse else range(time):
            keep = mask[:, t : t + 1]  # (batch, 1)
            z = ops.reshape(x_gates[:, t : t + 1, :], (-1, 4 * units))  # (batch, 4 * units)
            if h is not None:
                z = z + ops.matmul(h, cell.recurrent_kernel)
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c_new = sigmoid(z_i) * tanh(z_c)
            if c is not None:
                c_new = sigmoid(z_f) * c + c_new
            h_new = sigmoid(z_o) * tanh(c_new)
            if h is None:
                h, c = keep * h_new, keep * c_new
            else:
                h, c = keep * h_new + (1.0 - keep) * h, keep * c_new + (1.0 - keep) * c
            outputs[t] = ops.reshape(h, (-1, 1, units))
        return concatenate(outputs, axis=1)  # (batch, time, units)

    def encode(self, source_ids):
        """Run the encoder once.

        Args:
            source_ids: int tensor (batch, src), 0-padded, src <=
                `max_source_length`.

        Returns:
            Dict with the memory (`source_bias` (batch, 1, max_source_length),
            `memory_values`, `memory_keys`) and the initial state (`h_i`,
            `c_i`, `attention_vector`).
        """
        batch, length = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
        if length != self.max_source_length:  # the device graph gets the full length already
            padding = ops.zeros((batch, self.max_source_length - length), dtype=source_ids.dtype)
            source_ids = ops.concatenate([source_ids, padding], axis=1)
        source_ids = ops.reshape(source_ids, (-1, self.max_source_length))
        mask = ops.not_equal(source_ids, 0)  # (batch, max_source_length)
        float_mask = ops.cast(mask, "float32")
        x = self.token_embedding("source")(source_ids)
        for layer in self.encoder_layers:
            forward = self._unrolled_lstm(layer.forward_layer.cell, x, float_mask, reverse=False)
            backward = self._unrolled_lstm(layer.backward_layer.cell, x, float_mask, reverse=True)
            x = ops.concatenate([forward, backward], axis=-1)  # (batch, max_source_length, memory_dim)
        memory, state = self._memory_and_state(x, mask)
        return {**memory, **state}

    def decode_step(self, token, step, **tensors):
        """Decode one position for every sentence in the batch.

        Args:
            token: int tensor (batch,). The token at position `step`.
            step: int scalar. Position index (unused: the LSTM state carries
                the position; kept for the common signature).
            **tensors: memory and state from `encode` or the previous step.

        Returns:
            Dict with `logits` (batch, vocab) and the next state.
        """
        names = {t.name: t.role for t in self.decoder_tensor_specs()}
        memory = {k: v for k, v in tensors.items() if names[k] == MEMORY}
        state = {k: v for k, v in tensors.items() if names[k] == STATE}
        attentional, next_state = self._step(self.token_embedding("target")(token), memory, state)
        return {"logits": self._logits(attentional), **next_state}
