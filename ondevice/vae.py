"""TensorFlow-free VAE runners (named after the Keras models they run): sample, reconstruct,
interpolate, evaluate.

`SentenceVAERunner` (manifest task `text_vae`): `encode(source_ids) -> z_mean,
z_log_var`, then `decode_init(z)` + `decode_step` decoded by the searches
of `ondevice.search` (greedy, beam, or temperature / top-k sampling).
`ImageVAERunner` (task `image_vae`): `encode(image)` and `decode(z) -> image`.

`SentenceVAERunner` takes a step model whose init signature is `decode_init`
(`LiteRTStepModel` for a converted artifact, with runtime-owned decoding
state as for translation; `zoo.keras_step_model.KerasStepModel` for the
Keras model of a run) and runs `encode` through its `signatures`;
`ImageVAERunner` takes a signatures object (`LiteRTSignatures` or
`KerasSignatures`). So the figures of a run and of its artifacts come from
the same code.
"""

import os

import numpy as np

from ondevice.errors import ArtifactError, InputError
from ondevice.litert_model import LiteRTSignatures, LiteRTStepModel
from ondevice.manifest import load_manifest
from ondevice.png import read_png
from ondevice.search import decode, log_softmax
from ondevice.tokenizers import load_wordpiece
from ondevice.translator import pad_batch, tokenize_input

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2016): Cov_x(E_q[z_u]) > 0.01


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, 1)) per dimension (float64)."""
    z_mean, z_log_var = np.asarray(z_mean, np.float64), np.asarray(z_log_var, np.float64)
    return -0.5 * (1.0 + z_log_var - z_mean**2 - np.exp(z_log_var))


def active_units(z_means, threshold=ACTIVE_UNIT_THRESHOLD):
    """Latent dimensions whose posterior mean varies across the data (variance > threshold)."""
    return int((np.var(np.asarray(z_means, np.float64), axis=0) > threshold).sum())


def interpolation_weights(steps):
    if steps < 2:
        raise InputError(f"--steps must be at least 2, got {steps}")
    return np.linspace(0.0, 1.0, steps)


def _require_task(manifest, task):
    if manifest.task != task:
        raise ArtifactError(f"{manifest.directory}: a {manifest.task} model, not a {task} model")


def _require_names(manifest, names):
    """The tensor names this runtime feeds and reads (`{signature: (inputs, outputs)}`)."""
    for signature, sides in names.items():
        for side, wanted in zip(("inputs", "outputs"), sides):
            have = {t.name for t in manifest.tensors(signature, side)}
            if not set(wanted) <= have:
                raise ArtifactError(
                    f"{manifest.directory}: {signature} {side} {sorted(have)} lack {sorted(set(wanted) - have)}"
                )


class SentenceVAERunner:
    """Sentences <-> latent points with a converted (or Keras) text VAE.

    Args:
        step_model: a step model whose init signature is `decode_init`
            (`LiteRTStepModel`, `KerasStepModel`); its `signatures` run
            `encode`.
        tokenizer: `WordPieceTokenizer`.
        special_tokens: dict with `pad`, `start`, `end` ids.
        max_source_length: int. Longest sentence accepted (tokens).
        max_target_length: int. Most decode steps.
        latent_dim: int. Size of z.
        batch_size: int. Sentences per batch.
    """

    def __init__(
        self,
        step_model,
        tokenizer,
        special_tokens,
        max_source_length,
        max_target_length,
        latent_dim,
        batch_size=64,
    ):
        self.step_model = step_model
        self.signatures = step_model.signatures
        self.tokenizer = tokenizer
        self.special = special_tokens
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.latent_dim = latent_dim
        self.batch_size = batch_size

    @classmethod
    def from_artifact(cls, artifact_dir, num_threads=None, batch_size=64):
        """A `SentenceVAERunner` over a directory written by `zoo convert` (decoded by `LiteRTStepModel`)."""
        manifest = load_manifest(artifact_dir)
        _require_task(manifest, "text_vae")
        _require_names(manifest, {"encode": (["source_ids"], ["z_mean", "z_log_var"])})
        step_model = LiteRTStepModel(manifest, num_threads=num_threads, init_signature="decode_init")
        tokenizer = load_wordpiece(manifest.path("vocabulary"))
        logits = next(t for t in manifest.tensors("decode_step", "outputs") if t.role == "logits")
        if logits.shape[-1] > 0 and logits.shape[-1] != tokenizer.vocabulary_size:
            raise ArtifactError(
                f"{manifest.path('vocabulary')} has {tokenizer.vocabulary_size} tokens but the model's logits "
                f"have {logits.shape[-1]}; the vocabulary does not belong to this model"
            )
        return cls(
            step_model,
            tokenizer,
            manifest.special_tokens,
            manifest.max_source_length,
            manifest.max_target_length,
            int(manifest.data["latent_dim"]),
            batch_size,
        )

    def tokenize(self, text, truncate=False):
        """Token ids of one sentence; `InputError` if empty or too long (unless `truncate`)."""
        return tokenize_input(self.tokenizer, text, self.max_source_length, truncate, action="encode")

    def encode_ids(self, id_lists):
        """`(z_mean, z_log_var)`, float32 (n, latent), of tokenized sentences."""
        means, log_vars = [], []
        for start in range(0, len(id_lists), self.batch_size):
            out = self.signatures.run("encode", source_ids=pad_batch(id_lists[start : start + self.batch_size], self.special["pad"]))
            means.append(out["z_mean"])
            log_vars.append(out["z_log_var"])
        return np.concatenate(means), np.concatenate(log_vars)

    def encode(self, sentences, truncate=False):
        return self.encode_ids([self.tokenize(s, truncate) for s in sentences])

    def decode(self, z, method="greedy", beam_size=5, temperature=1.0, top_k=0, seed=None, length_penalty=1.0):
        """Sentences decoded from latent points z (n, latent).

        Args:
            z: float array (n, latent_dim).
            method: `greedy`, `beam` or `sample`.
            beam_size: int. Beams for `beam`.
            temperature: float. Softmax temperature for `sample`.
            top_k: int. Restrict `sample` to the k best tokens (0 = all).
            seed: int, None or `numpy.random.Generator` for `sample`.
            length_penalty: float. Beam length normalization.
        """
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"latent points must be shaped (n, {self.latent_dim}), got {z.shape}")
        start, end, steps = self.special["start"], self.special["end"], self.max_target_length
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        outputs = []
        for i in range(0, len(z), self.batch_size):
            chunk = z[i : i + self.batch_size]
            ids = decode(
                self.step_model,
                chunk,
                start,
                end,
                steps,
                method,
                pad_id=self.special["pad"],
                beam_size=beam_size,
                length_penalty=length_penalty,
                temperature=temperature,
                top_k=top_k,
                seed=rng,
            )
            outputs += [self.tokenizer.detokenize(o) for o in ids]
        return outputs

    def sample(self, n, seed=None, **decode_kwargs):
        """`n` sentences decoded from z ~ N(0, I) (reproducible with `seed`)."""
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(z, seed=rng, **decode_kwargs)

    def reconstruct(self, sentences, **decode_kwargs):
        """Each sentence decoded from its posterior mean."""
        return self.decode(self.encode(sentences)[0], **decode_kwargs)

    def interpolate(self, a, b, steps=6, **decode_kwargs):
        """Homotopy (Bowman et al.): sentences along the line from z(a) to z(b).

        Returns:
            List of `(t, sentence)` for t = 0 ... 1.
        """
        weights = interpolation_weights(steps)
        z = self.encode([a, b])[0]
        points = (1.0 - weights[:, None]) * z[0] + weights[:, None] * z[1]
        return list(zip(weights.tolist(), self.decode(points, **decode_kwargs)))

    def sequence_nll(self, id_lists, z):
        """Teacher-forced -log p(sentence | z) per sentence (nats, float64)."""
        pad, end = self.special["pad"], self.special["end"]
        labels = pad_batch([ids + [end] for ids in id_lists], pad)  # (batch, time)
        tensors = self.step_model.encode(np.asarray(z, np.float32))
        token = np.full((len(id_lists),), self.special["start"], np.int32)
        nll = np.zeros(len(id_lists))
        for step in range(labels.shape[1]):
            out = self.step_model.decode_step(token, step, tensors)
            log_probs = log_softmax(out.pop("logits"))
            tensors.update(out)
            label = labels[:, step]
            nll -= np.where(label != pad, log_probs[np.arange(len(label)), label], 0.0)
            token = np.where((label != pad) & (label != end), label, pad).astype(np.int32)
        return nll

    def evaluate(self, sentences, seed=0):
        """ELBO figures on sentences (one posterior sample per sentence).

        Returns:
            Dict: `sentences`, `tokens` (incl. the end token),
            `reconstruction` and `kl` (nats per sentence), `nll_bound`
            (-ELBO per sentence, an upper bound on -log p(x)), `elbo`,
            `nll_bound_per_token`, `perplexity_bound`, `active_units`,
            `latent_dim`.
        """
        rng = np.random.default_rng(seed)
        ids = [self.tokenize(s, truncate=True) for s in sentences if s.strip() and self.tokenizer.tokenize(s)]
        if not ids:
            raise InputError("no sentences to evaluate")
        reconstruction, kl, means = [], [], []
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            z_mean, z_log_var = self.encode_ids(chunk)
            z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
            reconstruction.append(self.sequence_nll(chunk, z))
            kl.append(gaussian_kl(z_mean, z_log_var).sum(axis=1))
            means.append(z_mean)
        reconstruction, kl = np.concatenate(reconstruction), np.concatenate(kl)
        tokens = sum(len(i) + 1 for i in ids)
        bound = reconstruction + kl
        return {
            "sentences": len(ids),
            "tokens": tokens,
            "reconstruction": float(reconstruction.mean()),
            "kl": float(kl.mean()),
            "nll_bound": float(bound.mean()),
            "elbo": float(-bound.mean()),
            "nll_bound_per_token": float(bound.sum() / tokens),
            "perplexity_bound": float(np.exp(bound.sum() / tokens)),
            "active_units": active_units(np.concatenate(means)),
            "latent_dim": self.latent_dim,
        }


def load_image_file(path, image_shape):
    """Images (N, H, W, C) in [0, 1] from a `.png` or `.npy` file.

    A PNG whose size is an integer multiple of the model's (e.g. written
    with `--scale`) is block-averaged down. A `.npy` holds (H, W), (N, H, W)
    or (N, H, W, C) values in [0, 1] (or 0..255 integers).
    """
    height, width, channels = image_shape
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such image file")
    if path.lower().endswith(".npy"):
        try:
            images = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: not a readable .npy array ({e})") from None
        images = np.asarray(images, np.float32)
        if images.size and images.max() > 1.0:
            images = images / 255.0
        if images.ndim == 2:
            images = images[None]
        if images.ndim == 3:
            images = images[..., None]
    elif path.lower().endswith(".png"):
        pixels = read_png(path)  # (h, w) gray in [0, 1]
        fy, fx = pixels.shape[0] // height, pixels.shape[1] // width
        if fy < 1 or fx != fy or pixels.shape != (fy * height, fx * width):
            raise InputError(f"{path}: a {pixels.shape[1]}x{pixels.shape[0]} image; this model takes {width}x{height} (or an integer multiple)")
        images = pixels.reshape(height, fy, width, fx).mean(axis=(1, 3))[None, :, :, None]
        images = np.repeat(images, channels, axis=3)
    else:
        raise InputError(f"{path}: expected a .png or .npy image file")
    if images.ndim != 4 or images.shape[1:] != (height, width, channels):
        raise InputError(f"{path}: images shaped {images.shape[1:]}; this model takes {(height, width, channels)}")
    return images.clip(0.0, 1.0).astype(np.float32)


class ImageVAERunner:
    """Images <-> latent points with a converted (or Keras) image VAE.

    Args:
        signatures: `run(signature, **inputs)` over `encode` and `decode`
            (`LiteRTSignatures`, `KerasSignatures`).
        image_shape: tuple (H, W, C).
        latent_dim: int. Size of z.
        likelihood: str. `bernoulli` or `gaussian` (for the losses).
        gaussian_sigma: float. Pixel std of the Gaussian likelihood.
        batch_size: int. Images per batch.
    """

    def __init__(self, signatures, image_shape, latent_dim, likelihood="bernoulli", gaussian_sigma=0.1, batch_size=256):
        self.signatures = signatures
        self.image_shape = tuple(int(d) for d in image_shape)
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.gaussian_sigma = gaussian_sigma
        self.batch_size = batch_size

    @classmethod
    def from_artifact(cls, artifact_dir, num_threads=None, batch_size=256):
        manifest = load_manifest(artifact_dir)
        _require_task(manifest, "image_vae")
        _require_names(manifest, {"encode": (["image"], ["z_mean", "z_log_var"]), "decode": (["z"], ["image"])})
        image = manifest.data["image"]
        return cls(
            LiteRTSignatures(manifest, num_threads=num_threads),
            (image["height"], image["width"], image["channels"]),
            int(manifest.data["latent_dim"]),
            image.get("likelihood", "bernoulli"),
            float(image.get("gaussian_sigma", 0.1)),
            batch_size,
        )

    def _batches(self, signature, name, array):
        outputs = [self.signatures.run(signature, **{name: array[i : i + self.batch_size]}) for i in range(0, len(array), self.batch_size)]
        return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}

    def encode(self, images):
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise InputError(f"images must be shaped (n, {', '.join(map(str, self.image_shape))}), got {images.shape}")
        out = self._batches("encode", "image", images)
        return out["z_mean"], out["z_log_var"]

    def decode(self, z):
        """Pixel means (n, H, W, C) in [0, 1] of latent points z (n, latent)."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"latent points must be shaped (n, {self.latent_dim}), got {z.shape}")
        return self._batches("decode", "z", z)["image"]

    def sample(self, n, seed=None):
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(z)

    def reconstruct(self, images):
        return self.decode(self.encode(images)[0])

    def interpolate(self, a, b, steps=6):
        """Images decoded along the line from z(a) to z(b) (a, b: (H, W, C))."""
        weights = interpolation_weights(steps)
        z = self.encode(np.stack([a, b]))[0]
        return self.decode((1.0 - weights[:, None]) * z[0] + weights[:, None] * z[1])

    def nll(self, images, means):
        """-log p(image | decoded means) per image (nats, float64)."""
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        p = np.asarray(means, np.float64).reshape(len(images), -1)
        if self.likelihood == "bernoulli":
            p = p.clip(1e-7, 1 - 1e-7)
            return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
        sigma = self.gaussian_sigma
        return (0.5 * ((x - p) / sigma) ** 2 + np.log(sigma * np.sqrt(2 * np.pi))).sum(axis=1)

    def evaluate(self, images, seed=0):
        """Reconstruction and ELBO figures (nats per image).

        Returns:
            Dict: `images`, `reconstruction` (decoded from z_mean),
            `reconstruction_sampled` (one posterior sample), `kl`,
            `nll_bound` (-ELBO), `elbo`, `mean_abs_pixel_error`,
            `active_units`, `latent_dim`.
        """
        images = np.asarray(images, np.float32)
        z_mean, z_log_var = self.encode(images)
        rng = np.random.default_rng(seed)
        z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
        means = self.decode(z_mean)
        sampled = self.nll(images, self.decode(z))
        kl = gaussian_kl(z_mean, z_log_var).sum(axis=1)
        return {
            "images": len(images),
            "reconstruction": float(self.nll(images, means).mean()),
            "reconstruction_sampled": float(sampled.mean()),
            "kl": float(kl.mean()),
            "nll_bound": float((sampled + kl).mean()),
            "elbo": float(-(sampled + kl).mean()),
            "mean_abs_pixel_error": float(np.abs(means - images).mean()),
            "active_units": active_units(z_mean),
            "latent_dim": self.latent_dim,
        }
