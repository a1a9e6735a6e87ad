"""`zoo eval` of a VAE run (Keras) or artifact (LiteRT).

Both are evaluated by the on-device code (`ondevice.vae`) over a signature
runner, so the figures of a run and of its artifacts compare directly.
Text VAE: NLL bound (-ELBO) per sentence and per token, perplexity bound,
reconstruction, KL and active units. Image VAE: reconstruction loss, KL,
-ELBO, mean pixel error and active units.
"""

import json
import os

from ondevice.manifest import MANIFEST_FILE, load_manifest

VAE_TASKS = ("text_vae", "image_vae")


def _task(path):
    if os.path.exists(os.path.join(path, MANIFEST_FILE)):
        return load_manifest(path).task
    run_file = os.path.join(path, "run.json")
    if os.path.exists(run_file):
        with open(run_file, encoding="utf-8") as f:
            return json.load(f).get("task", "translation")
    return None


def is_vae(path):
    """True if `path` is a VAE run or artifact directory."""
    return _task(path) in VAE_TASKS


def keras_vae(model, vocabulary=None, batch_size=64):
    """An `ondevice.vae` model (`SentenceVAERunner` or `ImageVAERunner`) over a Keras VAE.

    Args:
        model: a trained `SentenceVAE`-like (task `text_vae`) or
            `ImageVAE`-like (task `image_vae`) Keras model.
        vocabulary: list of str. WordPiece vocabulary (text VAEs).
        batch_size: int. Examples per batch.
    """
    from ondevice.tokenizer import WordPieceTokenizer
    from ondevice.vae import ImageVAERunner, SentenceVAERunner
    from zoo.keras_step_model import KerasSignatures, KerasStepModel
    from zoo.text_tokenizer import SPECIAL_TOKENS

    if model.task == "image_vae":
        shape = (model.image_size, model.image_size, model.channels)
        return ImageVAERunner(KerasSignatures(model), shape, model.latent_dim, model.likelihood, model.gaussian_sigma, batch_size)
    return SentenceVAERunner(
        KerasStepModel(model, init_signature="decode_init"),
        WordPieceTokenizer(vocabulary),
        dict(SPECIAL_TOKENS),
        int(model.max_source_length),
        int(model.max_target_length),
        int(model.latent_dim),
        batch_size,
    )


def load_vae(path):
    """`(vae, task, data_spec)`: an `ondevice.vae` model over LiteRT (artifact) or Keras (run)."""
    from ondevice.vae import ImageVAERunner, SentenceVAERunner

    task = _task(path)
    if os.path.exists(os.path.join(path, MANIFEST_FILE)):
        model = SentenceVAERunner.from_artifact(path) if task == "text_vae" else ImageVAERunner.from_artifact(path)
        return model, task, None
    from zoo.text_tokenizer import read_vocabulary
    from zoo.training import load_run
    from zoo.vae_training import VOCAB_FILE

    model, run_info, _, _ = load_run(path)
    vocabulary = read_vocabulary(os.path.join(path, VOCAB_FILE)) if task == "text_vae" else None
    return keras_vae(model, vocabulary), task, run_info.get("data")


def load_examples(task, spec, split, max_examples=None):
    """`(examples, corpus_name)`: sentences (`text_vae`) or images of a data split (numpy only)."""
    if task == "text_vae":
        from zoo.datasets.sentences import load_sentences

        corpus = load_sentences(spec)
    else:
        from zoo.datasets.images import load_images

        corpus = load_images(spec)
    examples = corpus.split(split)[: max_examples or None]
    if not len(examples):
        raise ValueError(f"the {split} split of {corpus.name} is empty")
    return examples, corpus.name


def evaluate_vae(path, data=None, split="val", max_examples=None, seed=0):
    """Evaluate a VAE on a data split; returns `(task, figures)`.

    `data` defaults to the run's own data; an artifact does not know it, so
    without `data` it is evaluated on the bundled default data.
    """
    model, task, run_data = load_vae(path)
    examples, name = load_examples(task, data or run_data, split, max_examples)
    return task, {**model.evaluate(examples, seed=seed), "data": name}


def print_vae_evaluation(path, data=None, split="val", max_examples=None):
    task, r = evaluate_vae(path, data, split, max_examples)
    if task == "text_vae":
        print(
            f"{r['sentences']} sentences ({r['data']} {split}): NLL bound (-ELBO) {r['nll_bound']:.2f} nats/sentence "
            f"= {r['nll_bound_per_token']:.3f} nats/token (perplexity <= {r['perplexity_bound']:.1f}); "
            f"reconstruction {r['reconstruction']:.2f}, KL {r['kl']:.2f}; "
            f"active units {r['active_units']}/{r['latent_dim']}"
        )
    else:
        print(
            f"{r['images']} images ({r['data']} {split}): reconstruction loss {r['reconstruction']:.3f} nats/image "
            f"(mean |pixel error| {r['mean_abs_pixel_error']:.4f}); KL {r['kl']:.3f}; "
            f"NLL bound (-ELBO) {r['nll_bound']:.3f}; active units {r['active_units']}/{r['latent_dim']}"
        )
    return 0
