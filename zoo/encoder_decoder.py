"""`EncoderDecoder`: the base class of the zoo's sequence-to-sequence models.

It holds what every family shares (docs/architecture.md, "The step
contract"): the three methods a converter and a runtime use, the default
`encode` -> `decode_step*` signatures, and a `get_config` derived from the
constructor, so a model's hyper-parameters are written once (its `__init__`)
and its config dataclass passes them with `model_arguments`.
"""

import keras

from zoo.config_tools import constructor_arguments
from zoo.step_model import decoding_signatures


class EncoderDecoder(keras.Model):
    """A Keras model with the step contract (`zoo/step_model.py`).

    Subclasses implement `call()` (the teacher-forced pass `fit` trains),
    `encode(source_ids)`, `decode_step(token, step, **tensors)` and
    `decoder_tensor_specs()`, store every constructor argument as an
    attribute of the same name, and pass `**kwargs` (Keras's `name`,
    `dtype`, ...) to this constructor.
    """

    task = "translation"

    def encode(self, source_ids):
        """Memory and initial replace states for `source_ids`: `{name: tensor}`."""
        raise NotImplementedError

    def decode_step(self, token, step, **tensors):
        """One position: `{"logits": (batch, vocab), new state...}`."""
        raise NotImplementedError

    def decoder_tensor_specs(self):
        """The `DecoderTensor`s passed from `encode` to `decode_step`."""
        raise NotImplementedError

    def signature_specs(self):
        """`encode` and the `decode_step` variants (`step_model.decoding_signatures`)."""
        return decoding_signatures(self)

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in constructor_arguments(type(self))})
        return config
