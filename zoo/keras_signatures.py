"""A zoo model's declared signatures as numpy functions (the Keras twin of
`ondevice.litert_model.LiteRTSignatures`).

`KerasSignatures(model).run("encode", source_ids=...)` calls the model
method behind the `encode` signature in a `tf.function` with the declared
input specs and returns numpy arrays, so on-device code (`ondevice.vae`)
evaluates a run directory exactly as it evaluates a converted artifact, and
conversion parity compares the two through one code path.
"""

import numpy as np
import tensorflow as tf

from zoo.step_model import model_signatures


class KerasSignatures:
    """Every signature of a zoo model, called by name with numpy arrays.

    Args:
        model: a zoo Keras model (`signature_specs()` or the step contract).
    """

    def __init__(self, model):
        self.model = model
        self.signatures = {s.name: s for s in model_signatures(model)}
        self._functions = {}

    def _function(self, name):
        if name not in self._functions:
            signature = self.signatures[name]
            method = getattr(self.model, signature.method)
            names = [t.name for t in signature.inputs]
            specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in signature.inputs]
            self._functions[name] = tf.function(
                lambda *args: method(**dict(zip(names, args))), input_signature=specs
            )
        return self._functions[name]

    def tensors(self, name, side):
        """The declared `TensorSpec`s of signature `name` (`inputs`/`outputs`)."""
        return list(getattr(self.signatures[name], side))

    def run(self, name, **inputs):
        """Run signature `name`; returns its outputs by name as numpy arrays."""
        signature = self.signatures[name]
        args = [tf.constant(np.asarray(inputs[t.name]), t.dtype) for t in signature.inputs]
        return {k: v.numpy() for k, v in self._function(name)(*args).items()}
