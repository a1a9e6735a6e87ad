"""Decoding state: what a search holds between two steps of one batch.

A search (`ondevice.search`) starts a state from source ids and then only
calls, once per generated position:

- `logits = state.step(token)`: run the decoder for position `state.length`
  (tokens (batch,) -> logits (batch, vocab)) and update the state the way
  the manifest says: a `replace` state takes the step's output, an `append`
  state (a K/V cache) gets the step's row written at index `length` along
  its `time_axis`;
- `state.select(rows, memory_rows=None)`: keep only these rows, in this
  order (beam reordering, finished sentences leaving the batch); memory
  tensors follow `memory_rows` (default `rows`), which beam search sets to
  whole sentences since beams of one sentence share their memory.

`ArrayDecoderState` implements this in numpy for any *step model*
(`encode(source_ids) -> dict`, `decode_step(token, step, tensors) -> dict`,
`decoder_tensors`): the Keras model behind evaluation and conversion
parity, replayed goldens, test doubles. The LiteRT runtime has its own
(`ondevice.litert_model.LiteRTDecoderState`), whose buffers are the
interpreter's input tensors, so nothing is copied per step but new rows.
"""

import numpy as np


def start_decoding(model, source_ids, max_steps):
    """A decoding state for `model` on `source_ids`.

    Args:
        model: a step model; one with its own `start(source_ids, max_steps)`
            (the LiteRT runtime) makes its own state.
        source_ids: array (batch, ...) given to the model's encoder.
        max_steps: int. Most steps that will be run (cache capacity).
    """
    if hasattr(model, "start"):
        return model.start(source_ids, max_steps)
    return ArrayDecoderState(model, source_ids, max_steps)


def time_index(tensor, position, ndim):
    """Index tuple selecting `position` (an int or a slice) along `tensor.time_axis`."""
    index = [slice(None)] * ndim
    index[tensor.time_axis] = slice(position, position + 1) if isinstance(position, int) else position
    return tuple(index)


def append_buffer(tensor, batch, capacity, dtype=np.float32):
    """A zero buffer for an append state: `tensor.shape` with this batch and cache length."""
    shape = list(tensor.shape)
    shape[tensor.batch_axis] = batch
    shape[tensor.time_axis] = capacity
    if any(d is None or d < 0 for d in shape):
        raise ValueError(f"state {tensor.name!r} has an unknown dimension besides batch and time: {tensor.shape}")
    return np.zeros(shape, dtype)


class ArrayDecoderState:
    """A decoding state held in numpy arrays (see module docstring).

    Args:
        model: a step model.
        source_ids: array (batch, ...) for `model.encode`.
        max_steps: int. Capacity of append states along their time axis.
    """

    def __init__(self, model, source_ids, max_steps):
        self.model = model
        self.length = 0  # positions decoded so far
        encoded = model.encode(source_ids)
        self.batch_size = int(np.asarray(source_ids).shape[0])
        self.tensors = {}
        for t in model.decoder_tensors:
            if t.role == "state" and t.time_axis is not None:
                self.tensors[t.name] = append_buffer(t, self.batch_size, max_steps, np.dtype(t.dtype))
            else:
                self.tensors[t.name] = encoded[t.name]

    def close(self):
        """Nothing to release (the LiteRT state releases its interpreter)."""

    def step(self, token):
        """Decode position `length`; returns logits (batch, vocab)."""
        out = dict(self.model.decode_step(np.asarray(token, np.int32), self.length, self.tensors))
        logits = out.pop("logits")
        for t in self.model.decoder_tensors:
            if t.role != "state" or t.name not in out:
                continue
            if t.time_axis is None:
                self.tensors[t.name] = out[t.name]
            else:
                buffer = self.tensors[t.name]
                buffer[time_index(t, self.length, buffer.ndim)] = out[t.name]
        self.length += 1
        return logits

    def select(self, rows, memory_rows=None):
        """Keep `rows` of every state (and `memory_rows` of every memory tensor)."""
        rows = np.asarray(rows, np.int64)
        memory_rows = rows if memory_rows is None else np.asarray(memory_rows, np.int64)
        for t in self.model.decoder_tensors:
            chosen = rows if t.role == "state" else memory_rows
            self.tensors[t.name] = np.take(self.tensors[t.name], chosen, axis=t.batch_axis)
        self.batch_size = len(rows)
