"""The step model (`ondevice.search`) over a model's named signatures.

A *signatures* object runs one backend's signatures by name:
`run(name, **inputs) -> {name: array}` and `tensors(name, side)` (the
descriptions: name, role, batch axis, ...). There is one per backend:
`ondevice.litert_model.LiteRTSignatures` for a converted model,
`zoo.keras_step_model.KerasSignatures` for a Keras model.

`SignatureStepModel` turns one into the `encode` / `decode_step` /
`decoder_tensors` interface the searches use, for every task: `encode` is
whichever signature makes the decoder's memory and state, `encode(source_ids)`
for a translator, `decode_init(z)` for a text VAE, so greedy, beam and
sampling search decode from a latent point with the very same code.
`LiteRTStepModel` extends it with runtime-owned decoding state.
"""

import numpy as np


class SignatureStepModel:
    """Adapt named signatures to the step-model interface.

    Args:
        signatures: has `run(name, **inputs) -> dict` and
            `tensors(name, side)`.
        init_signature: str. The signature producing the decoder tensors
            (`encode`; a text VAE's `decode_init`); its one input is the
            source (or the latent point).
    """

    def __init__(self, signatures, init_signature="encode"):
        self.signatures = signatures
        self.init_signature = init_signature
        self.init_input = signatures.tensors(init_signature, "inputs")[0].name
        step_inputs = signatures.tensors("decode_step", "inputs")
        self.decoder_tensors = [t for t in step_inputs if t.role in ("memory", "state")]
        self.token_name = next(t.name for t in step_inputs if t.role == "token")
        self.step_name = next(t.name for t in step_inputs if t.role == "step")

    def encode(self, source_ids):
        """Run the init signature on `source_ids`; returns memory + initial state.

        Args:
            source_ids: array (batch, ...): source token ids, or latent points.
        """
        return dict(self.signatures.run(self.init_signature, **{self.init_input: source_ids}))

    def decode_step(self, token, step, tensors):
        """One decoding step with numpy-held tensors.

        Args:
            token: int array (batch,). The previous token of each row.
            step: int. The position decoded.
            tensors: dict. Every tensor of `decoder_tensors` by name.

        Returns:
            Dict: `logits` (batch, vocab) and each state's new value (an
            append state: this position's row only).
        """
        feeds = {t.name: tensors[t.name] for t in self.decoder_tensors}
        feeds[self.token_name] = np.asarray(token, np.int32)
        feeds[self.step_name] = np.asarray(step, np.int32)
        return dict(self.signatures.run("decode_step", **feeds))
