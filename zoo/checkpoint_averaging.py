"""Per-epoch weight checkpoints and their average (Vaswani et al., 2017).

`EpochCheckpoints` keeps the weights of the last N epochs of a run in
`checkpoints/epoch_NNNN.weights.h5`; `average_weights` loads a model with the
element-wise mean of several of them, as fairseq's `average_checkpoints.py`
does. Averaging the last epochs of a run with a decaying learning rate
usually gains a few tenths of BLEU over its last or best epoch.
"""

import os
import re

import keras
import numpy as np

from zoo import atomic

EPOCH_FILE = "epoch_{:04d}.weights.h5"
_EPOCH_RE = re.compile(r"^epoch_(\d{4,})\.weights\.h5$")


def epoch_checkpoints(directory):
    """`[(epoch, path), ...]` of the epoch checkpoints in `directory`, oldest first (epochs count from 1)."""
    if not os.path.isdir(directory):
        return []
    found = [(int(m.group(1)), os.path.join(directory, name)) for name in os.listdir(directory) if (m := _EPOCH_RE.match(name))]
    return sorted(found)


class EpochCheckpoints(keras.callbacks.Callback):
    """Save the weights at every epoch end; keep only the last `keep` epochs.

    Each file is written under a temporary name and renamed
    (`atomic.staged_file`), so a kill leaves complete files only.

    Args:
        directory: str. Where the `epoch_NNNN.weights.h5` files go.
        keep: int. How many of the newest epochs to keep.
    """

    def __init__(self, directory, keep):
        super().__init__()
        self.directory, self.keep = directory, keep

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        with atomic.staged_file(os.path.join(self.directory, EPOCH_FILE.format(epoch + 1))) as staged:
            self.model.save_weights(staged, overwrite=True)  # the staged name keeps the `.weights.h5` suffix
        for _, old in epoch_checkpoints(self.directory)[: -self.keep]:
            os.remove(old)


def average_weights(model, paths):
    """Set `model`'s weights to the element-wise mean of the weight files `paths`.

    Args:
        model: a built `keras.Model` of the architecture the files were saved from.
        paths: list of str. `.weights.h5` files written by `model.save_weights`.
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    total = None
    for path in paths:
        model.load_weights(path)
        values = [np.asarray(w, dtype=np.float64) for w in model.get_weights()]
        total = values if total is None else [t + v for t, v in zip(total, values)]
    model.set_weights([(t / len(paths)).astype(w.dtype) for t, w in zip(total, model.get_weights())])
