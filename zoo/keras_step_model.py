"""A trained Keras model run like a converted one: its signatures, and the step model over them.

`KerasSignatures` is the Keras twin of `ondevice.litert_model.LiteRTSignatures`:
`run("encode", source_ids=...)` calls the model method behind a declared
signature (`zoo.step_model.model_signatures`) and returns numpy arrays.
`KerasStepModel` is `ondevice.signature_step_model.SignatureStepModel` over
them, the step model `LiteRTStepModel` also is. Evaluation of a run and
conversion-time verification (translation and VAEs) therefore decode the
Keras model with the very same search code as the device, so any
difference between Keras and LiteRT comes from the conversion alone.
"""

import numpy as np
import tensorflow as tf

from ondevice.signature_step_model import SignatureStepModel
from zoo.step_model import model_signatures


class KerasSignatures:
    """Every signature of a zoo model, called by name with numpy arrays.

    Each model method runs in one `tf.function` with relaxed shapes
    (`reduce_retracing`), shared by the signatures it computes (the
    `decode_step` variants), so any batch, source length or cache length
    runs without a retrace per call.

    Args:
        model: a zoo Keras model (`signature_specs()` or the step contract).
    """

    def __init__(self, model):
        self.model = model
        self.signatures = {s.name: s for s in model_signatures(model)}
        self._functions = {}  # model method name -> tf.function

    def tensors(self, name, side):
        """The declared `TensorSpec`s of signature `name` (`inputs`/`outputs`)."""
        return list(getattr(self.signatures[name], side))

    def run(self, name, **inputs):
        """Run signature `name`; returns its outputs by name as numpy arrays.

        Args:
            name: str. A declared signature.
            **inputs: array-likes, every input of the signature by name
                (cast to its declared dtype).
        """
        signature = self.signatures[name]
        feeds = {t.name: tf.constant(np.asarray(inputs[t.name]), t.dtype) for t in signature.inputs}
        return {k: v.numpy() for k, v in self._function(signature.method)(feeds).items()}

    def _function(self, method):
        if method not in self._functions:
            call = getattr(self.model, method)
            self._functions[method] = tf.function(lambda feeds: call(**feeds), reduce_retracing=True)
        return self._functions[method]


class KerasStepModel(SignatureStepModel):
    """A zoo model's `init -> decode_step` signatures as a numpy step model.

    Args:
        model: a zoo Keras model implementing the step contract.
        init_signature: str. The signature making the decoder tensors:
            `encode` (translation) or `decode_init` (text VAE).
    """

    def __init__(self, model, init_signature="encode"):
        super().__init__(KerasSignatures(model), init_signature)
        self.model = model
