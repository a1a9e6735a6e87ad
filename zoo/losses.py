"""Masked sequence loss and accuracy: padding (id 0) never counts."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedSequenceLoss(keras.losses.Loss):
    """Token-level cross-entropy with label smoothing, averaged over non-pad
    tokens, plus R-Drop's consistency term when `rdrop_alpha` > 0.

    R-Drop (Liang et al., NeurIPS 2021) runs every sentence twice with
    different dropout masks and penalizes the symmetric KL divergence between
    the two predicted distributions. Here the batch holds each example twice
    in adjacent rows (`make_dataset(..., duplicate=True)`), so one forward
    pass gives both (training refuses R-Drop on several replicas, whose
    split of a batch could part a pair). The value is the paper's
    `NLL_1 + NLL_2 + alpha * KL` divided by two, per target token.

    Args:
        label_smoothing: float. Mass spread uniformly over the vocabulary.
        pad_id: int. Label id that is ignored.
        rdrop_alpha: float. Weight of the consistency term; 0 for none (the
            batch is then read as ordinary, unpaired rows).
    """

    def __init__(self, label_smoothing=0.1, pad_id=0, rdrop_alpha=0.0, name="masked_sequence_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing
        self.pad_id = pad_id
        self.rdrop_alpha = rdrop_alpha

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
        per_example = ops.sum(loss * mask, axis=-1)  # (batch,)
        if self.rdrop_alpha:
            per_example = per_example + 0.5 * self.rdrop_alpha * _paired_kl(y_pred, mask)
        return per_example * batch / ops.maximum(ops.sum(mask), 1.0)  # (batch,)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing, "pad_id": self.pad_id, "rdrop_alpha": self.rdrop_alpha})
        return config


def _paired_kl(logits, mask):
    """Symmetric KL divergence between rows 2i and 2i+1, summed over their
    non-pad tokens, given to both rows: `(batch,)`. Rows of a pair are the
    same example, so the pair's mean over rows is its KL once per token."""
    log_probs = ops.log_softmax(logits, axis=-1)  # (batch, time, vocab)
    pairs = ops.reshape(log_probs, (-1, 2) + tuple(ops.shape(log_probs)[1:]))  # (pairs, 2, time, vocab)
    first, second = pairs[:, 0], pairs[:, 1]
    # (KL(p || q) + KL(q || p)) / 2 = sum (p - q) (log p - log q) / 2
    kl = 0.5 * ops.sum((ops.exp(first) - ops.exp(second)) * (first - second), axis=-1)  # (pairs, time)
    kl = ops.sum(kl * ops.reshape(mask, (-1, 2, ops.shape(mask)[1]))[:, 0], axis=-1)  # (pairs,)
    return ops.repeat(kl, 2, axis=0)  # (batch,)


@keras.saving.register_keras_serializable(package="zoo")
def masked_accuracy(y_true, y_pred):
    """Fraction of non-pad target tokens whose argmax prediction is right."""
    y_true = ops.cast(y_true, "int32")
    mask = ops.cast(ops.not_equal(y_true, 0), "float32")
    hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
    return ops.sum(hits * mask) / ops.maximum(ops.sum(mask), 1.0)
