"""`zoo train sentence_vae`: English sentences -> WordPiece -> `fit` -> run directory.

The sentences are the *source* side of any `--data` corpus
(`zoo.datasets.parallel_text`): without `--data` the English side of the
bundled Tatoeba subset, with `--data ../shared/data/multi30k:en-de` the
English Multi30k captions (`zoo.datasets.sentences`).
"""

import dataclasses
import os

import keras

from zoo import atomic
from zoo.datasets.sentences import load_sentences
from zoo.datasets.pipeline import make_dataset
from zoo.sentence_vae.sentence_vae import SentenceVAE
from zoo.sentence_vae.sentence_vae_config import get_preset
from zoo.text_tokenizer import make_tokenizer, read_vocabulary, train_vocabulary
from zoo.vae_training import VOCAB_FILE, fit_run, with_cardinality


def sentence_dataset(sentences, tokenizer, batch_size, max_length, shuffle):
    """`({"encoder_inputs", "decoder_inputs"}, labels)` batches of autoencoding pairs."""
    return make_dataset(
        [(s, s) for s in sentences], tokenizer, tokenizer, batch_size, max_length, max_length + 1, shuffle=shuffle
    )


def train(run_dir, preset="small", data=None, epochs=None, overrides=None, max_train_pairs=None, verbose=1):
    """Train a `SentenceVAE` and write a run directory (see `zoo.vae_training`).

    Args:
        run_dir: str. Run directory (rerun to resume).
        preset: str. `tiny`, `small` or `base`.
        data: str or None. Corpus spec; its source side is used.
        epochs: int or None. Overrides the preset.
        overrides: dict of config fields.
        max_train_pairs: int or None. Use only this many training sentences.
        verbose: int. Keras verbosity.
    """
    overrides = dict(overrides or {})
    if epochs is not None:
        overrides["epochs"] = epochs
    config = get_preset(preset, **overrides)
    corpus = load_sentences(data)
    train_sentences, val_sentences = corpus.train, corpus.val
    if max_train_pairs:
        train_sentences = train_sentences[:max_train_pairs]
    os.makedirs(run_dir, exist_ok=True)
    vocab_path = os.path.join(run_dir, VOCAB_FILE)
    if os.path.exists(vocab_path):
        vocabulary = read_vocabulary(vocab_path)
    else:
        vocabulary = train_vocabulary(train_sentences, config.vocabulary_size)
        atomic.write_text(vocab_path, "".join(t + "\n" for t in vocabulary))
    config = dataclasses.replace(config, vocabulary_size=len(vocabulary))
    tokenizer = make_tokenizer(vocabulary)

    train_ds = with_cardinality(sentence_dataset(train_sentences, tokenizer, config.batch_size, config.max_length, True))
    val_ds = with_cardinality(sentence_dataset(val_sentences, tokenizer, config.batch_size, config.max_length, False))
    model = SentenceVAE(**config.model_kwargs())
    model(next(iter(train_ds))[0])  # build the weights (BackupAndRestore needs a built model)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0))
    run_info = {
        "family": "sentence_vae",
        "task": SentenceVAE.task,
        "preset": preset,
        "data": data or "default",
        "corpus": corpus.name,
        "source_lang": corpus.language,
        "train_sentences": len(train_sentences),
        "steps_per_epoch": int(train_ds.cardinality().numpy()),
    }
    return fit_run(model, train_ds, val_ds, run_dir, run_info, config, verbose)
