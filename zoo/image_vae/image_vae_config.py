"""Configuration and presets of the convolutional image VAE."""

import dataclasses


from zoo.vae_losses import KL_SCHEDULES

LIKELIHOODS = ("bernoulli", "gaussian")


@dataclasses.dataclass
class ImageVAEConfig:
    """Hyper-parameters of `ImageVAE` and its training run.

    Args:
        image_size: int. Height = width of the images; divisible by
            `2 ** len(filters)`. Set from the data by `zoo train`.
        channels: int. Image channels. Set from the data.
        filters: tuple of int. Conv2D filters of each stride-2 encoder block
            (the decoder mirrors them with Conv2DTranspose).
        hidden_dim: int. Dense layer between the convolutions and z.
        latent_dim: int. Size of z.
        likelihood: str. `bernoulli` (binary cross-entropy on [0, 1]
            pixels) or `gaussian` (fixed `gaussian_sigma`).
        gaussian_sigma: float. Pixel standard deviation of the Gaussian
            likelihood.
        kl_schedule: str. KL annealing (`zoo.vae_losses.kl_weight`).
        kl_anneal_steps: int. Annealing length in optimizer steps (divided
            by the replicas of a distributed run).
        batch_size: int. Images per batch (per replica).
        learning_rate: float. Adam learning rate (times `sqrt(replicas)`
            in a distributed run).
        epochs: int. Default number of epochs.
        patience: int. Early-stopping patience on validation -ELBO
            (0 trains every epoch).
        keep_checkpoints: int. Keep the weights of this many last epochs in
            `checkpoints/` (as the translators do); 0 keeps none.
    """

    image_size: int = 8
    channels: int = 1
    filters: tuple = (32, 64)
    hidden_dim: int = 128
    latent_dim: int = 8
    likelihood: str = "bernoulli"
    gaussian_sigma: float = 0.1
    kl_schedule: str = "constant"
    kl_anneal_steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 2e-3
    epochs: int = 100
    patience: int = 10
    keep_checkpoints: int = 5

    def __post_init__(self):
        self.filters = tuple(self.filters)
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; choose from {', '.join(LIKELIHOODS)}")
        if self.kl_schedule not in KL_SCHEDULES:
            raise ValueError(f"unknown KL schedule {self.kl_schedule!r}; choose from {', '.join(KL_SCHEDULES)}")
