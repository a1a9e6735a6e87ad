"""How a model is trained: one config for every family (a family's own
config holds only what its model's constructor takes)."""

import dataclasses

SCHEDULES = ("cosine", "inverse_sqrt", "constant")


@dataclasses.dataclass
class TrainingConfig:
    """How a model is trained, for every family (translators and VAEs); the
    model's own fields live in its family's config. A preset pairs the two
    (`zoo.config_tools.Preset`).

    Args:
        batch_size: int. Sentences per training batch (per replica), used
            when `batch_tokens` is 0.
        batch_tokens: int. If > 0, batches hold about this many tokens
            (per replica): each length bucket takes
            `batch_tokens // bucket_length` sentences, as fairseq's
            `--max-tokens` does.
        learning_rate: float. Peak learning rate after warmup.
        schedule: str. `"cosine"`: linear warmup, then cosine decay to 5% of
            the peak at the last epoch. `"inverse_sqrt"`: linear warmup, then
            `peak * sqrt(warmup_steps / step)` (Vaswani et al., 2017; fairseq's
            `inverse_sqrt`), which does not depend on the epoch count.
            `"constant"`: the peak rate throughout (the VAEs' Adam).
        warmup_steps: int. Linear warmup steps.
        adam_beta_1: float. Adam's first-moment decay.
        adam_beta_2: float. Adam's second-moment decay.
        adam_epsilon: float. Adam's epsilon.
        weight_decay: float. Decoupled weight decay (AdamW); 0 for Adam.
        clipnorm: float. Clip each gradient to this norm; 0 for no clipping.
        label_smoothing: float. Label smoothing of the translation loss
            (the VAEs' objective has none).
        rdrop_alpha: float. If > 0, R-Drop (Liang et al., 2021) for
            translators: every training sentence is run twice with
            different dropout masks, and the loss adds this weight times the
            symmetric KL divergence of the two predictions (the paper's
            alpha; 5 for their IWSLT Transformers). A step costs about twice
            as much (`zoo.losses.MaskedSequenceLoss`).
        epochs: int. Default number of epochs for `zoo train`.
        patience: int. Early-stopping patience on validation loss (epochs);
            0 trains every epoch.
        keep_checkpoints: int. Keep the weights of this many last epochs in
            `checkpoints/` (for `zoo average`); 0 keeps none.
        jit_compile: bool. Compile the training step with XLA (about 2x
            faster on CPU for small Transformers); batches are then padded to
            their length bucket's bound, so the step compiles once per
            bucket and batch size (a minute or two at the start).
        average_last: int. If > 0, the run's model is the average of the
            weights of its last this many epochs (Vaswani et al., 2017;
            `zoo average` does the same after training).
    """

    batch_size: int = 64
    batch_tokens: int = 0
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    warmup_steps: int = 1000
    adam_beta_1: float = 0.9
    adam_beta_2: float = 0.98
    adam_epsilon: float = 1e-7
    weight_decay: float = 0.01
    clipnorm: float = 1.0
    label_smoothing: float = 0.1
    rdrop_alpha: float = 0.0
    epochs: int = 20
    patience: int = 4
    keep_checkpoints: int = 10
    average_last: int = 0
    jit_compile: bool = False

    def __post_init__(self):
        self.check()

    def check(self):
        """Raise `ValueError` for a training setting that cannot work."""
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.average_last > max(self.keep_checkpoints, 0):
            raise ValueError(f"average_last={self.average_last} needs keep_checkpoints >= {self.average_last}")
        if self.rdrop_alpha < 0:
            raise ValueError(f"rdrop_alpha={self.rdrop_alpha} must be >= 0")


def vae_training(**fields):
    """The VAEs' `TrainingConfig`: Adam with Keras' defaults at a constant
    rate, no weight decay, label smoothing or clipping, the last 5 epochs
    kept; `fields` override these."""
    defaults = dict(
        schedule="constant",
        warmup_steps=0,
        adam_beta_2=0.999,
        weight_decay=0.0,
        clipnorm=0.0,
        label_smoothing=0.0,
        keep_checkpoints=5,
    )
    return TrainingConfig(**{**defaults, **fields})
