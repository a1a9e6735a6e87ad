"""Configuration of the convolutional image VAE."""

import dataclasses

from zoo.vae_config import check_kl_schedule

LIKELIHOODS = ("bernoulli", "gaussian")


@dataclasses.dataclass
class ImageVAEConfig:
    """The constructor arguments of `ImageVAE` (how it is trained is a
    `zoo.training_config.TrainingConfig`).

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

    def __post_init__(self):
        self.filters = tuple(self.filters)
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; choose from {', '.join(LIKELIHOODS)}")
        check_kl_schedule(self.kl_schedule)
