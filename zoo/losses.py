"""Masked sequence loss and accuracy: padding (id 0) never counts."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedSequenceLoss(keras.losses.Loss):
    """Token-level cross-entropy with label smoothing, averaged over non-pad tokens.

    Args:
        label_smoothing: float. Mass spread uniformly over the vocabulary.
        pad_id: int. Label id that is ignored.
    """

    def __init__(self, label_smoothing=0.1, pad_id=0, name="masked_sequence_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing
        self.pad_id = pad_id

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")  # (batch, time)
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), y_pred.dtype)
        one_hot = ops.one_hot(y_true, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        loss = keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )  # (batch, time)
        # Per-example values whose batch mean is the mean over non-pad tokens:
        # Keras then reduces them (and scales them under tf.distribute, which a
        # scalar returned here would bypass, doubling gradients on 2 replicas).
        batch = ops.cast(ops.shape(y_true)[0], y_pred.dtype)
        return ops.sum(loss * mask, axis=-1) * batch / ops.maximum(ops.sum(mask), 1.0)  # (batch,)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing, "pad_id": self.pad_id})
        return config


@keras.saving.register_keras_serializable(package="zoo")
def masked_accuracy(y_true, y_pred):
    """Fraction of non-pad target tokens whose argmax prediction is right."""
    y_true = ops.cast(y_true, "int32")
    mask = ops.cast(ops.not_equal(y_true, 0), "float32")
    hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
    return ops.sum(hits * mask) / ops.maximum(ops.sum(mask), 1.0)
