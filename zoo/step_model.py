"""The contract every encoder-decoder family in the zoo implements.

A family's Keras model has the teacher-forced `call()` used by `fit`, plus:

- `encode(source_ids)` -> dict of tensors: every tensor `decode_step` needs
  besides the token and the step, i.e. the *memory* (constant during
  decoding: encoder outputs, cross-attention K/V, source mask) and the
  *initial state* (self-attention K/V cache, LSTM h/c, ...).
- `decode_step(token, step, **tensors)` -> dict with `"logits"`
  (batch, vocab) and the *next state* under the same names as its inputs.
- `decoder_tensor_specs()` -> list of `DecoderTensor`: name, shape, dtype,
  role and batch axis of each of those tensors.

Exporters and runtimes only use these, so a new family needs no code outside
its own folder (the OpenNMT-tf `step` contract, keras-hub's
`call_decoder_with_cache` idea).
"""

import dataclasses

MEMORY = "memory"  # computed by encode, read by every decode_step, never updated
STATE = "state"  # computed by encode, replaced by each decode_step output


@dataclasses.dataclass(frozen=True)
class DecoderTensor:
    """One tensor passed from `encode` to `decode_step`.

    Args:
        name: str. The name used in both signatures.
        shape: tuple. Shape with `None` for dynamic axes (batch included).
        dtype: str. `"float32"` or `"int32"`.
        role: str. `"memory"` or `"state"`.
        batch_axis: int. The axis indexing sentences/beams; beam search
            gathers along it.
    """

    name: str
    shape: tuple
    dtype: str
    role: str
    batch_axis: int = 0
