"""Conversion task `image_vae`: `encode(image)` and `decode(z)`.

Parity against Keras, on real validation images:

- encoder: relative error RMS(LiteRT - Keras) / RMS(Keras) of z_mean.
- decoder: both sides decode the same latent points (Keras posterior means
  and as many prior samples): max and mean absolute pixel difference
  (pixels are in [0, 1]).
- end to end: the reconstruction loss (nats per image, decoded from
  z_mean) of each side.

Thresholds (recipe: latent relative error, mean |pixel diff|, relative
reconstruction-loss difference): float32 differs only by kernel rounding;
float16 weights round at 2^-11 relative, far below one grey level (1/255 =
0.004); int8 steps are ~1/255 of a tensor's range, so dynamic int8 and int8
may move pixels by about one grey level on average and the loss by a few
percent; int16x8 keeps activations at 16 bits but its weights are int8,
so it gets the int8 bounds (a tiny test model reached 0.059 latent error).
"""

import numpy as np

from converters.tasks.text_vae import relative_error
from ondevice.litert_model import LiteRTSignatures
from ondevice.vae import ImageVAERunner
from zoo.datasets.images import load_images
from zoo.vae_evaluation import keras_vae

# recipe: (max latent relative error, max mean |pixel diff|, max relative reconstruction difference)
TOLERANCES = {
    "float32": (1e-4, 1e-5, 1e-4),
    "float16": (0.01, 0.002, 0.005),
    "dynamic_int8": (0.05, 0.01, 0.03),
    "int8": (0.10, 0.02, 0.05),
    "int16x8": (0.10, 0.02, 0.05),  # int8 weights, as in int8: the same bound
}


class ImageVAETask:
    """Image VAEs: latent, pixel and reconstruction-loss parity with Keras."""

    name = "image_vae"

    def __init__(self, model, run_dir, run_info, data, num_calibration, num_verify, batch_size):
        self.model = model
        images = load_images(data or run_info.get("data"))
        shape = (model.image_size, model.image_size, model.channels)
        if images.image_shape != shape:
            raise ValueError(f"{images.name} images are {images.image_shape}; the model takes {shape}")
        order = np.random.default_rng(0).permutation(len(images.train))[:num_calibration]
        self.calibration_images = images.train[order]
        self.verify_images = (images.val if len(images.val) else images.train)[:num_verify]
        self.keras_vae = keras_vae(model)

    def representative_dataset(self):
        """Each image, then a posterior sample and a prior sample of z."""
        rng = np.random.default_rng(0)

        def generator():
            for image in self.calibration_images:
                yield "encode", {"image": image[None]}
            for image in self.calibration_images:
                z_mean, z_log_var = self.keras_vae.encode(image[None])
                posterior = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
                yield "decode", {"z": posterior.astype(np.float32)}
                yield "decode", {"z": rng.standard_normal(z_mean.shape).astype(np.float32)}

        return generator

    def manifest_fields(self):
        m = self.model
        return {
            "latent_dim": int(m.latent_dim),
            "image": {
                "height": int(m.image_size),
                "width": int(m.image_size),
                "channels": int(m.channels),
                "value_range": [0.0, 1.0],
                "likelihood": m.likelihood,
                "gaussian_sigma": float(m.gaussian_sigma),
            },
        }

    def files(self):
        return {}

    def parity(self, manifest, model_bytes):
        k = self.keras_vae
        signatures = LiteRTSignatures(manifest, model_content=model_bytes)
        litert_vae = ImageVAERunner(signatures, k.image_shape, k.latent_dim, k.likelihood, k.gaussian_sigma, k.batch_size)
        images = self.verify_images
        k_mean, _ = self.keras_vae.encode(images)
        l_mean, _ = litert_vae.encode(images)
        prior = np.random.default_rng(1).standard_normal(k_mean.shape).astype(np.float32)
        latents = np.concatenate([k_mean, prior])
        pixel_diff = np.abs(litert_vae.decode(latents) - self.keras_vae.decode(latents))
        keras_loss = float(self.keras_vae.nll(images, self.keras_vae.reconstruct(images)).mean())
        litert_loss = float(litert_vae.nll(images, litert_vae.reconstruct(images)).mean())
        return {
            "images": len(images),
            "max_abs_z_mean_diff": float(np.abs(l_mean - k_mean).max()),
            "z_mean_relative_error": relative_error(k_mean, l_mean),
            "max_abs_pixel_diff": float(pixel_diff.max()),
            "mean_abs_pixel_diff": float(pixel_diff.mean()),
            "keras_reconstruction": keras_loss,
            "litert_reconstruction": litert_loss,
            "reconstruction_relative_diff": abs(litert_loss - keras_loss) / max(keras_loss, 1e-12),
        }

    def check(self, recipe, parity):
        latent, pixel, loss = TOLERANCES[recipe.name]
        parity.update(max_z_mean_relative_error=latent, max_mean_abs_pixel_diff=pixel, max_reconstruction_relative_diff=loss)
        problems = []
        if parity["z_mean_relative_error"] > latent:
            problems.append(f"z_mean relative error {parity['z_mean_relative_error']:.4f} > {latent} allowed for {recipe.name}")
        if parity["mean_abs_pixel_diff"] > pixel:
            problems.append(f"mean pixel difference {parity['mean_abs_pixel_diff']:.2e} > {pixel} allowed for {recipe.name}")
        if parity["reconstruction_relative_diff"] > loss:
            problems.append(
                f"reconstruction loss differs by {parity['reconstruction_relative_diff']:.2%} > {loss:.2%} allowed for {recipe.name}"
            )
        if recipe.name == "float32" and parity["max_abs_pixel_diff"] > 1e-4:
            problems.append(f"max pixel difference {parity['max_abs_pixel_diff']:.2e} > 1e-04 allowed for float32")
        return problems

    def summary(self, parity):
        return (
            f"z_mean rel. error {parity['z_mean_relative_error']:.2e}, "
            f"mean |pixel diff| {parity['mean_abs_pixel_diff']:.2e} (max {parity['max_abs_pixel_diff']:.2e}), "
            f"reconstruction {parity['litert_reconstruction']:.3f} vs Keras {parity['keras_reconstruction']:.3f} "
            f"nats on {parity['images']} images"
        )
