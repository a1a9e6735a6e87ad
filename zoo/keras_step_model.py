"""A trained Keras model as a numpy step model (see `ondevice.search`).

Evaluation of a run directory and conversion-time verification decode the
Keras model with the very same greedy/beam search code as the device, so any
difference between Keras and LiteRT comes from the conversion alone.
"""

import numpy as np
import tensorflow as tf


class KerasStepModel:
    """Wrap a zoo model's `encode` / `decode_step` methods in `tf.function`s.

    Args:
        model: a zoo Keras model (has `encode`, `decode_step`,
            `decoder_tensor_specs`).
    """

    def __init__(self, model):
        self.model = model
        self.decoder_tensors = model.decoder_tensor_specs()
        self._encode = tf.function(model.encode, reduce_retracing=True)
        self._decode = tf.function(
            lambda token, step, tensors: model.decode_step(token, step, **tensors), reduce_retracing=True
        )

    def encode(self, source_ids):
        outputs = self._encode(tf.constant(source_ids, tf.int32))
        return {k: v.numpy() for k, v in outputs.items()}

    def decode_step(self, token, step, tensors):
        feeds = {t.name: tf.constant(tensors[t.name]) for t in self.decoder_tensors}
        outputs = self._decode(tf.constant(token, tf.int32), tf.constant(step, tf.int32), feeds)
        return {k: v.numpy() for k, v in outputs.items()}
