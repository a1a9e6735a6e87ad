"""Convolutional image VAE in the style of the Keras VAE example."""

import math

import keras
from keras import ops

from zoo.step_model import Signature, TensorSpec
from zoo.vae import VAE


def image_nll(images, logits, likelihood="bernoulli", gaussian_sigma=0.1):
    """Negative log-likelihood of each image (sum over pixels), nats.

    Args:
        images: float tensor (batch, H, W, C) in [0, 1].
        logits: float tensor (batch, H, W, C): decoder pre-activations; the
            pixel mean is `sigmoid(logits)`.
        likelihood: str. `bernoulli` or `gaussian`.
        gaussian_sigma: float. Pixel std of the Gaussian likelihood.

    Returns:
        Float tensor (batch,).
    """
    if likelihood == "bernoulli":
        # Binary cross-entropy from logits, stable form.
        nll = ops.maximum(logits, 0.0) - logits * images + ops.log1p(ops.exp(-ops.abs(logits)))
    else:
        mean = ops.sigmoid(logits)
        nll = 0.5 * ops.square((images - mean) / gaussian_sigma) + math.log(gaussian_sigma * math.sqrt(2 * math.pi))
    return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="zoo")
class ImageVAE(VAE):
    """Conv encoder -> z -> deconv decoder (Kingma & Welling 2014).

    Encoder: stride-2 `Conv2D` blocks, `Dense`, then `z_mean`/`z_log_var`.
    Decoder: `Dense` -> reshape -> stride-2 `Conv2DTranspose` blocks -> one
    `Conv2DTranspose` to the image channels (logits; pixel mean = sigmoid).
    `fit` trains the `VAE` objective (`zoo.vae`), reporting `reconstruction`
    (nats per image), `kl`, `elbo` and the KL weight `beta`.

    Inference graphs (`signature_specs`): `encode(image) -> {z_mean,
    z_log_var}` and `decode(z) -> {image}` (pixel means in [0, 1]).

    Args:
        image_size: int. Image height and width.
        channels: int. Image channels.
        filters: tuple of int. Filters of the stride-2 blocks.
        hidden_dim: int. Dense width.
        latent_dim: int. Size of z.
        likelihood: str. `bernoulli` or `gaussian`.
        gaussian_sigma: float. Pixel std of the Gaussian likelihood.
        kl_schedule: str. KL annealing schedule.
        kl_anneal_steps: int. Annealing length in optimizer steps.
    """

    task = "image_vae"
    def __init__(
        self,
        image_size=8,
        channels=1,
        filters=(32, 64),
        hidden_dim=128,
        latent_dim=8,
        likelihood="bernoulli",
        gaussian_sigma=0.1,
        kl_schedule="constant",
        kl_anneal_steps=1000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        filters = tuple(filters)
        if image_size % (2 ** len(filters)):
            raise ValueError(f"image_size {image_size} is not divisible by 2**{len(filters)} (one per conv block)")
        self.image_size = image_size
        self.channels = channels
        self.filters = filters
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.gaussian_sigma = gaussian_sigma
        self.kl_schedule = kl_schedule
        self.kl_anneal_steps = kl_anneal_steps
        self.reduced_size = image_size // 2 ** len(filters)

        self.encoder_convs = [
            keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"encoder_conv_{i}")
            for i, f in enumerate(filters)
        ]
        self.encoder_flatten = keras.layers.Flatten(name="encoder_flatten")
        self.encoder_dense = keras.layers.Dense(hidden_dim, activation="relu", name="encoder_dense")
        self.z_mean_dense = keras.layers.Dense(latent_dim, name="z_mean")
        self.z_log_var_dense = keras.layers.Dense(latent_dim, name="z_log_var")
        self.decoder_dense = keras.layers.Dense(hidden_dim, activation="relu", name="decoder_dense")
        self.decoder_grid = keras.layers.Dense(
            self.reduced_size**2 * filters[-1], activation="relu", name="decoder_grid"
        )
        self.decoder_reshape = keras.layers.Reshape((self.reduced_size, self.reduced_size, filters[-1]))
        self.decoder_deconvs = [
            keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"decoder_deconv_{i}")
            for i, f in enumerate(reversed(filters))
        ]
        self.decoder_output = keras.layers.Conv2DTranspose(channels, 3, padding="same", name="decoder_output")

    def _encode(self, images):
        x = images  # (batch, H, W, C)
        for conv in self.encoder_convs:
            x = conv(x)  # (batch, H / 2^i, W / 2^i, filters)
        x = self.encoder_dense(self.encoder_flatten(x))
        return self.z_mean_dense(x), self.z_log_var_dense(x)

    def decoder_logits(self, z):
        """Pixel logits (batch, H, W, C) of latent points z (batch, latent)."""
        x = self.decoder_reshape(self.decoder_grid(self.decoder_dense(z)))  # (batch, r, r, filters[-1])
        for deconv in self.decoder_deconvs:
            x = deconv(x)
        return self.decoder_output(x)

    def forward(self, images, sample=False):
        """`(logits, z_mean, z_log_var)`; decodes a posterior sample if `sample`."""
        z_mean, z_log_var = self._encode(images)
        z = self.sample_latent(z_mean, z_log_var) if sample else z_mean
        return self.decoder_logits(z), z_mean, z_log_var

    def call(self, images, training=None):
        return ops.sigmoid(self.forward(images, sample=bool(training))[0])

    def reconstruction_nll(self, images, training):
        logits, z_mean, z_log_var = self.forward(images, sample=True)
        return image_nll(images, logits, self.likelihood, self.gaussian_sigma), z_mean, z_log_var

    # Inference graphs ------------------------------------------------------

    def encode(self, image):
        """Posterior parameters of images (batch, H, W, C) in [0, 1]."""
        z_mean, z_log_var = self._encode(image)
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    def decode(self, z):
        """Pixel means (batch, H, W, C) in [0, 1] of latent points z."""
        return {"image": ops.sigmoid(self.decoder_logits(z))}

    def signature_specs(self):
        image = (None, self.image_size, self.image_size, self.channels)
        latent = (None, self.latent_dim)
        return [
            Signature(
                "encode",
                "encode",
                (TensorSpec("image", image, "float32", "image"),),
                (TensorSpec("z_mean", latent, "float32", "latent_mean"), TensorSpec("z_log_var", latent, "float32", "latent_log_var")),
            ),
            Signature(
                "decode",
                "decode",
                (TensorSpec("z", latent, "float32", "latent"),),
                (TensorSpec("image", image, "float32", "image"),),
            ),
        ]

    def get_config(self):
        return {**super().get_config(), "filters": list(self.filters)}
