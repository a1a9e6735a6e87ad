"""Conversion task `text_vae`: `encode`, `decode_init`, `decode_step`.

Parity against Keras, on real validation sentences:

- encoder: `z_mean` / `z_log_var` of both sides; the relative error is
  RMS(LiteRT - Keras) / RMS(Keras) over all z_mean entries.
- decoder: both sides decode from the *same* latent points (the Keras
  posterior means of the sentences, plus as many prior samples); along the
  Keras greedy path LiteRT gets the Keras tokens (teacher forcing) and step
  argmax agreement and logit differences are measured
  (`converters.verify.measure_parity`, as for translation).
- end to end: the NLL bound (-ELBO) of the sentences through each side,
  with the same posterior noise.

Thresholds. Token agreement uses each recipe's `min_token_agreement`
(`converters.recipes`: the same measure as for translation); float32 also
needs the recipe's logit bound and identical greedy outputs. The latent and
ELBO bounds below are relative errors: float32 only differs by kernel
rounding (1e-4); float16 weights carry a 2^-11 relative rounding error, a
few of them compound to well under 1%; dynamic int8 quantizes weights per
channel to 8 bits (~0.4% steps) and activations on the fly, so a few percent;
selective int8 quantizes activations of every matmul and embedding too.
The ELBO tolerance keeps the NLL bound of a quantized model within a
fraction of a nat per sentence of a typical 40-60 nats.
"""

import numpy as np

from converters.tasks.translation import greedy_calibration, tokenizer_fields
from converters.verify import check as token_check
from converters.verify import measure_parity
from ondevice.litert_model import LiteRTStepModel
from ondevice.vae import SentenceVAERunner
from zoo.datasets.sentences import load_sentences
from zoo.step_model import decode_variants
from zoo.text_tokenizer import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, read_vocabulary
from zoo.vae_evaluation import keras_vae
from zoo.vae_training import VOCAB_FILE

# recipe: (max relative latent error, max relative NLL-bound difference)
TOLERANCES = {
    "float32": (1e-4, 1e-4),
    "float16": (0.01, 0.005),
    "dynamic_int8": (0.05, 0.02),
    "int8": (0.10, 0.05),
    "int16x8": (0.10, 0.05),  # int8 weights, as in int8: the same bound
}


def relative_error(reference, other):
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    return float(np.sqrt(np.mean((other - reference) ** 2)) / max(np.sqrt(np.mean(reference**2)), 1e-12))


class TextVAETask:
    """Text VAEs: latent, decoding and ELBO parity with Keras."""

    name = "text_vae"

    def __init__(self, model, run_dir, run_info, data, num_calibration, num_verify, batch_size):
        self.model, self.run_info, self.batch_size = model, run_info, batch_size
        self.vocabulary = read_vocabulary(f"{run_dir}/{VOCAB_FILE}")
        corpus = load_sentences(data or run_info.get("data"))
        self.keras_vae = keras_vae(model, self.vocabulary, batch_size)
        fits = [s for s in corpus.train if 0 < len(self.keras_vae.tokenizer.tokenize(s)) <= model.max_length]
        rng = np.random.default_rng(0)
        self.calibration_sentences = [fits[i] for i in rng.permutation(len(fits))[:num_calibration]]
        self.verify_sentences = [s for s in (corpus.val or corpus.train) if self.keras_vae.tokenizer.tokenize(s)][:num_verify]

    def representative_dataset(self):
        """Sentences (padded to the full length), posterior samples and
        prior samples of z (alternating), and the greedy decode states."""
        vae, length = self.keras_vae, self.model.max_source_length
        rng = np.random.default_rng(0)
        ids = [vae.tokenize(s, truncate=True) for s in self.calibration_sentences]
        sources = [np.array([i + [PAD_ID] * (length - len(i))], np.int32) for i in ids]
        latents = []
        for n, source in enumerate(sources):
            out = vae.signatures.run("encode", source_ids=source)
            noise = rng.standard_normal(out["z_mean"].shape)
            z = out["z_mean"] + np.exp(0.5 * out["z_log_var"]) * noise if n % 2 == 0 else noise
            latents.append(z.astype(np.float32))
        decode = greedy_calibration(vae.step_model, latents, self.model.max_target_length, decode_variants(self.model))

        def generator():
            for source in sources:
                yield "encode", {"source_ids": source}
            yield from decode()

        return generator

    def manifest_fields(self):
        return {
            "special_tokens": dict(SPECIAL_TOKENS),
            "max_source_length": int(self.model.max_source_length),
            "max_target_length": int(self.model.max_target_length),
            "latent_dim": int(self.model.latent_dim),
            "languages": {"source": self.run_info.get("source_lang"), "target": self.run_info.get("source_lang")},
            "tokenizer": tokenizer_fields(vocabulary=VOCAB_FILE),
        }

    def files(self):
        return {VOCAB_FILE: self.vocabulary}

    def parity(self, manifest, model_bytes):
        keras_side = self.keras_vae
        litert_vae = SentenceVAERunner(
            LiteRTStepModel(manifest, model_content=model_bytes, init_signature="decode_init"),
            keras_side.tokenizer,
            keras_side.special,
            keras_side.max_source_length,
            keras_side.max_target_length,
            keras_side.latent_dim,
            self.batch_size,
        )
        sentences = self.verify_sentences
        k_mean, k_log_var = self.keras_vae.encode(sentences, truncate=True)
        l_mean, l_log_var = litert_vae.encode(sentences, truncate=True)
        prior = np.random.default_rng(1).standard_normal(k_mean.shape).astype(np.float32)
        latents = np.concatenate([k_mean, prior])
        batches = [latents[i : i + self.batch_size] for i in range(0, len(latents), self.batch_size)]
        parity = measure_parity(
            self.keras_vae.step_model, litert_vae.step_model, batches, START_ID, END_ID, self.model.max_target_length
        )
        parity["latents"] = parity.pop("sentences")
        keras_eval, litert_eval = self.keras_vae.evaluate(sentences), litert_vae.evaluate(sentences)
        return {
            "sentences": len(sentences),
            "max_abs_z_mean_diff": float(np.abs(l_mean - k_mean).max()),
            "max_abs_z_log_var_diff": float(np.abs(l_log_var - k_log_var).max()),
            "z_mean_relative_error": relative_error(k_mean, l_mean),
            **parity,
            "keras_nll_bound": keras_eval["nll_bound"],
            "litert_nll_bound": litert_eval["nll_bound"],
            "nll_bound_relative_diff": abs(litert_eval["nll_bound"] - keras_eval["nll_bound"]) / keras_eval["nll_bound"],
            "keras_kl": keras_eval["kl"],
            "litert_kl": litert_eval["kl"],
        }

    def check(self, recipe, parity):
        latent_tolerance, elbo_tolerance = TOLERANCES[recipe.name]
        parity["max_z_mean_relative_error"] = latent_tolerance
        parity["max_nll_bound_relative_diff"] = elbo_tolerance
        parity["min_token_agreement"] = recipe.min_token_agreement
        problems = token_check(recipe, parity)
        if recipe.name == "float32" and parity["max_abs_z_mean_diff"] > 1e-3:
            problems.append(f"max z_mean difference {parity['max_abs_z_mean_diff']:.2e} > 1e-03 allowed for float32")
        if parity["z_mean_relative_error"] > latent_tolerance:
            problems.append(
                f"z_mean relative error {parity['z_mean_relative_error']:.4f} > {latent_tolerance} allowed for {recipe.name}"
            )
        if parity["nll_bound_relative_diff"] > elbo_tolerance:
            problems.append(
                f"NLL bound differs by {parity['nll_bound_relative_diff']:.2%} > {elbo_tolerance:.2%} allowed for {recipe.name}"
            )
        return problems

    def summary(self, parity):
        return (
            f"z_mean rel. error {parity['z_mean_relative_error']:.2e}, "
            f"token agreement {parity['token_agreement']:.4f}, "
            f"greedy agreement {parity['sentence_agreement']:.4f}, "
            f"NLL bound {parity['litert_nll_bound']:.2f} vs Keras {parity['keras_nll_bound']:.2f} "
            f"on {parity['sentences']} sentences"
        )
