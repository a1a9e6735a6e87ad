"""The inverse-square-root learning-rate schedule (Vaswani et al., 2017)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class InverseSquareRootDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak`, then `peak * sqrt(warmup_steps / step)`.

    fairseq's `inverse_sqrt` with `warmup_init_lr=0`: the rate at step `s`
    (counted from 1) is `peak * min(s / warmup, sqrt(warmup / s))`.

    Args:
        peak: float. The learning rate reached at the end of warmup.
        warmup_steps: int. Number of warmup steps (>= 1).
    """

    def __init__(self, peak, warmup_steps):
        self.peak = float(peak)
        self.warmup_steps = int(max(1, warmup_steps))

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = float(self.warmup_steps)
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}
