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
    """

    name: str
    shape: tuple
    dtype: str
    role: str
    batch_axis: int | None = 0


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


def _as_spec(tensor):
    return TensorSpec(tensor.name, tuple(tensor.shape), tensor.dtype, tensor.role, tensor.batch_axis)


def decoding_signatures(model, init_signature="encode", init_inputs=None):
    """The `init -> decode_step` signatures of a step model.

    Args:
        model: has `decoder_tensor_specs()` and `decode_step`.
        init_signature: str. The method making the decoder tensors
            (`encode` for seq2seq, `decode_init` for a text VAE).
        init_inputs: tuple of `TensorSpec` of that method (default: the
            seq2seq `source_ids`).

    Returns:
        A list of two `Signature`s.
    """
    tensors = [_as_spec(t) for t in model.decoder_tensor_specs()]
    if init_inputs is None:
        init_inputs = (TensorSpec("source_ids", (None, None), "int32", "source_tokens"),)
    step_inputs = (
        TensorSpec("token", (None,), "int32", "token"),
        TensorSpec("step", (), "int32", "step", None),
        *tensors,
    )
    step_outputs = (TensorSpec("logits", (None, None), "float32", "logits"), *[t for t in tensors if t.role == STATE])
    return [
        Signature(init_signature, init_signature, tuple(init_inputs), tuple(tensors)),
        Signature("decode_step", "decode_step", step_inputs, step_outputs),
    ]


def model_signatures(model):
    """The signatures a model declares (`signature_specs()`), else the
    seq2seq `encode` / `decode_step` pair."""
    if hasattr(model, "signature_specs"):
        return list(model.signature_specs())
    return decoding_signatures(model)


def model_task(model):
    """The task of a model (`translation` unless the model says otherwise)."""
    return getattr(model, "task", "translation")
