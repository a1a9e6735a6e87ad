"""A step model (`ondevice.search`) over named signatures.

`SignatureStepModel` turns any object with `run(signature, **inputs)` (the
LiteRT `ondevice.litert_model.LiteRTSignatures`, or the Keras
`zoo.keras_signatures.KerasSignatures`) into the `encode` / `decode_step` /
`decoder_tensors` interface the searches use. `encode` is whichever
signature makes the decoder's memory and state: `encode` for a translator,
`decode_init(z)` for a text VAE, so greedy, beam and sampling search decode
from a latent point with the very same code.
"""

import numpy as np


class SignatureStepModel:
    """Adapt named signatures to the step-model interface.

    Args:
        runner: has `run(signature, **inputs) -> dict`.
        init_signature: str. The signature producing the decoder tensors.
        init_input: str. Name of its (single) input.
        step_inputs: list of tensor descriptions (`name`, `role`,
            `batch_axis`) of `decode_step`'s inputs.
        step_signature: str. The decoding step signature.
    """

    def __init__(self, runner, init_signature, init_input, step_inputs, step_signature="decode_step"):
        self.runner = runner
        self.init_signature = init_signature
        self.init_input = init_input
        self.step_signature = step_signature
        self.decoder_tensors = [t for t in step_inputs if t.role in ("memory", "state")]
        self._token_name = next(t.name for t in step_inputs if t.role == "token")
        self._step_name = next(t.name for t in step_inputs if t.role == "step")

    @classmethod
    def from_manifest(cls, runner, manifest, init_signature):
        """Build from a manifest's signature descriptions."""
        init_input = manifest.tensors(init_signature, "inputs")[0].name
        return cls(runner, init_signature, init_input, manifest.tensors("decode_step", "inputs"))

    def encode(self, inputs):
        """Run the init signature on `inputs`; returns memory + initial state."""
        return dict(self.runner.run(self.init_signature, **{self.init_input: inputs}))

    def decode_step(self, token, step, tensors):
        """One decoding step: `logits` and the next state."""
        feeds = {t.name: tensors[t.name] for t in self.decoder_tensors}
        feeds[self._token_name] = np.asarray(token, np.int32)
        feeds[self._step_name] = np.asarray(step, np.int32)
        return dict(self.runner.run(self.step_signature, **feeds))
