"""The contract every encoder-decoder family in the zoo implements.

A family's Keras model has the teacher-forced `call()` used by `fit`, plus:

- `encode(source_ids)` -> dict of tensors: every tensor `decode_step` needs
  besides the token and the step, i.e. the *memory* (constant during
  decoding: encoder outputs, cross-attention K/V, source mask) and the
  *initial state* (self-attention K/V cache, LSTM h/c, ...).
- `decode_step(token, step, **tensors)` -> dict with `"logits"`
  (batch, vocab) and, under the same names as its inputs, what is new in
  the state: the whole next value of a `replace` state (LSTM h/c), or only
  this position's row of an `append` state (a K/V cache), which the caller
  writes at index `step` along the tensor's `time_axis`. A step never
  copies a cache: the runtime owns the buffers (format version 2).
- `decoder_tensor_specs()` -> list of `DecoderTensor`: name, shape, dtype,
  role and batch axis of each of those tensors.

Exporters and runtimes only use these, so a new family needs no code outside
its own folder (the OpenNMT-tf `step` contract, keras-hub's
`call_decoder_with_cache` idea).
"""

import dataclasses

MEMORY = "memory"  # computed by encode, read by every decode_step, never updated
STATE = "state"  # carried from step to step (replaced, or appended along time_axis)
# Cache lengths of the `decode_step` variants of a model with append states:
# a step attends over the smallest cache that holds the sentence so far.
SHORTEST_CACHE = 16


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
        time_axis: int or None. For an *append* state (a K/V cache): the
            axis along which each step's output (size 1 there) is written at
            index `step`; `encode` does not produce it (it starts empty) and
            its length along this axis is the cache length, `None` in the
            shape. None: a *replace* state, whose next value `decode_step`
            returns whole.
    """

    name: str
    shape: tuple
    dtype: str
    role: str
    batch_axis: int = 0
    time_axis: int | None = None

    @property
    def update(self):
        """How `decode_step`'s output updates a state: `append` or `replace`."""
        return "append" if self.time_axis is not None else "replace"


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor of an exported signature.

    Args:
        name: str. Tensor name in the signature (and in `manifest.json`).
        shape: tuple. Shape with `None` for dynamic axes.
        dtype: str. `"float32"` or `"int32"`.
        role: str. What the tensor is for the runtime: `source_tokens`,
            `token`, `step`, `memory`, `state`, `logits`, `latent`,
            `latent_mean`, `latent_log_var`, `image`.
        batch_axis: int or None. The axis indexing examples (None for
            scalars such as `step`).
        time_axis: int or None. The append axis of an append state.
    """

    name: str
    shape: tuple
    dtype: str
    role: str
    batch_axis: int | None = 0
    time_axis: int | None = None


@dataclasses.dataclass(frozen=True)
class Signature:
    """One exported graph: `method` of the model called with `inputs` by name.

    Args:
        name: str. Signature key in the `.tflite` file.
        method: str. Name of the model method that computes it; it takes the
            inputs as keyword arguments and returns a dict of the outputs.
        inputs: tuple of `TensorSpec`.
        outputs: tuple of `TensorSpec`.
    """

    name: str
    method: str
    inputs: tuple
    outputs: tuple


def _as_spec(tensor, cache_length=None):
    shape = list(tensor.shape)
    if tensor.time_axis is not None:
        shape[tensor.time_axis] = cache_length
    return TensorSpec(tensor.name, tuple(shape), tensor.dtype, tensor.role, tensor.batch_axis, tensor.time_axis)


def _new_rows(spec):
    """The `decode_step` output of a state: whole, or one row of an append state."""
    if spec.time_axis is None:
        return spec
    shape = list(spec.shape)
    shape[spec.time_axis] = 1
    return dataclasses.replace(spec, shape=tuple(shape))


def cache_lengths(max_length):
    """Cache lengths of the decode variants: 16, 32, ... below `max_length`, then `max_length`."""
    lengths, length = [], SHORTEST_CACHE
    while length < max_length:
        lengths.append(length)
        length *= 2
    return lengths + [max_length]


def decode_signature_name(cache_length, max_length):
    """`decode_step` for the full-length cache, `decode_step_{L}` for shorter ones."""
    return "decode_step" if cache_length == max_length else f"decode_step_{cache_length}"


def decoding_signatures(model, init_signature="encode", init_inputs=None):
    """The `init -> decode_step` signatures of a step model.

    A model with append states (K/V caches) gets one `decode_step` variant
    per cache length (`cache_lengths(model.max_target_length)`), all over
    the same weights: `decode_step_16` attends over 16 positions,
    `decode_step` over `max_target_length`.

    Args:
        model: has `decoder_tensor_specs()` and `decode_step`.
        init_signature: str. The method making the decoder tensors
            (`encode` for seq2seq, `decode_init` for a text VAE).
        init_inputs: tuple of `TensorSpec` of that method (default: the
            seq2seq `source_ids`).

    Returns:
        A list of `Signature`s: the init signature, then the decode ones.
    """
    decoder_tensors = model.decoder_tensor_specs()
    if init_inputs is None:
        # A model whose encoder runs a fixed number of positions (the LSTM's
        # unrolled encoder) declares it: the runtime then pads every source
        # to it and the device never re-plans the encoder for a new length.
        length = getattr(model, "fixed_source_length", None)
        init_inputs = (TensorSpec("source_ids", (None, length), "int32", "source_tokens"),)
    made_by_init = tuple(_as_spec(t) for t in decoder_tensors if t.time_axis is None)
    signatures = [Signature(init_signature, init_signature, tuple(init_inputs), made_by_init)]
    has_cache = any(t.time_axis is not None for t in decoder_tensors)
    max_length = int(model.max_target_length)
    for length in cache_lengths(max_length) if has_cache else [max_length]:
        tensors = [_as_spec(t, length) for t in decoder_tensors]
        step_inputs = (
            TensorSpec("token", (None,), "int32", "token"),
            TensorSpec("step", (), "int32", "step", None),
            *tensors,
        )
        step_outputs = (
            TensorSpec("logits", (None, None), "float32", "logits"),
            *[_new_rows(t) for t in tensors if t.role == STATE],
        )
        name = decode_signature_name(length, max_length)
        signatures.append(Signature(name, "decode_step", step_inputs, step_outputs))
    return signatures


def model_signatures(model):
    """The signatures a model declares (`signature_specs()`), else the
    seq2seq `encode` / `decode_step` pair."""
    if hasattr(model, "signature_specs"):
        return list(model.signature_specs())
    return decoding_signatures(model)


def model_task(model):
    """The task of a model (`translation` unless the model says otherwise)."""
    return getattr(model, "task", "translation")


def decode_variants(model):
    """`(signature name, cache length or None)` of a model's `decode_step`
    variants, shortest cache first."""
    variants = []
    for signature in model_signatures(model):
        if signature.method != "decode_step":
            continue
        appended = [t for t in signature.inputs if t.time_axis is not None]
        variants.append((signature.name, appended[0].shape[appended[0].time_axis] if appended else None))
    return variants
