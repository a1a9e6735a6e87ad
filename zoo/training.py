"""`zoo train`: data -> WordPiece vocabularies -> `model.fit` -> run directory.

A run directory holds everything needed to evaluate or convert the model:

    runs/NAME/
      model.keras            trained model (best validation loss)
      source_vocab.txt       WordPiece vocabularies, one token per line
      target_vocab.txt
      run.json               family, config, data, languages, timing
      history.csv            per-epoch metrics (appended across resumes)
      training_curves.png    loss / accuracy curves
      logs/                  TensorBoard
      checkpoints/best.keras ModelCheckpoint
      backup/                BackupAndRestore state while training runs
"""

import dataclasses
import json
import os
import time

import keras
import tensorflow as tf

from zoo import atomic
from zoo.datasets.parallel_text import load_corpus
from zoo.datasets.pipeline import make_dataset
from zoo.families import get_family
from zoo.losses import MaskedSequenceLoss, masked_accuracy
from zoo.text_tokenizer import make_tokenizer, read_vocabulary, train_vocabulary

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
SOURCE_VOCAB = "source_vocab.txt"
TARGET_VOCAB = "target_vocab.txt"


def _vocabularies(run_dir, corpus, config):
    """Learn the vocabularies, or reuse the run's own when resuming."""
    paths = [os.path.join(run_dir, SOURCE_VOCAB), os.path.join(run_dir, TARGET_VOCAB)]
    if all(os.path.exists(p) for p in paths):
        return [read_vocabulary(p) for p in paths]
    sides = [[s for s, _ in corpus.train], [t for _, t in corpus.train]]
    sizes = [config.source_vocabulary_size, config.target_vocabulary_size]
    vocabularies = [train_vocabulary(text, size) for text, size in zip(sides, sizes)]
    for vocabulary, path in zip(vocabularies, paths):
        atomic.write_text(path, "".join(t + "\n" for t in vocabulary))
    return vocabularies


def _count_batches(dataset):
    return int(dataset.reduce(0, lambda count, _: count + 1).numpy())


def plot_history(csv_path, png_path):
    """Write training curves (loss and masked accuracy, train vs val) as PNG."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "masked_accuracy", "masked token accuracy")):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            if prefix + key in rows[0]:
                ax.plot(epochs, [float(r[prefix + key]) for r in rows], style, label=(prefix or "train_") + key)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic.staged_file(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def train(
    family,
    run_dir,
    preset="small",
    data=None,
    epochs=None,
    overrides=None,
    max_train_pairs=None,
    verbose=1,
):
    """Train a model of `family` and write a run directory.

    Args:
        family: str. A key of `zoo.families.FAMILIES`.
        run_dir: str. Output run directory. Rerunning the same command after
            an interruption resumes from the last `BackupAndRestore` state.
        preset: str. Family preset name (`tiny`, `mini`, `small`, `base`).
        data: str or None. A `--data` spec (see `zoo.datasets.parallel_text`).
        epochs: int or None. Overrides the preset's epoch count.
        overrides: dict of config fields to override.
        max_train_pairs: int or None. Use only this many training pairs.
        verbose: int. Keras progress-bar verbosity.

    Returns:
        The Keras `History` object.
    """
    family_module = get_family(family)
    if hasattr(family_module, "train"):  # a family with its own task (e.g. a VAE) trains itself
        return family_module.train(
            run_dir, preset=preset, data=data, epochs=epochs, overrides=overrides,
            max_train_pairs=max_train_pairs, verbose=verbose,
        )
    overrides = dict(overrides or {})
    if epochs is not None:
        overrides["epochs"] = epochs
    config = family_module.get_preset(preset, **overrides)
    corpus = load_corpus(data)
    if max_train_pairs:
        corpus.train = corpus.train[:max_train_pairs]
    os.makedirs(run_dir, exist_ok=True)

    source_vocab, target_vocab = _vocabularies(run_dir, corpus, config)
    # The model's vocabulary sizes are the learned ones (often below the cap).
    config = dataclasses.replace(
        config, source_vocabulary_size=len(source_vocab), target_vocabulary_size=len(target_vocab)
    )
    source_tokenizer, target_tokenizer = make_tokenizer(source_vocab), make_tokenizer(target_vocab)

    def dataset(pairs, shuffle):
        return make_dataset(
            pairs,
            source_tokenizer,
            target_tokenizer,
            config.batch_size,
            config.max_source_length,
            config.max_target_length,
            shuffle=shuffle,
        )

    train_ds, val_ds = dataset(corpus.train, True), dataset(corpus.val, False)
    steps_per_epoch = _count_batches(train_ds)
    train_ds = train_ds.apply(tf.data.experimental.assert_cardinality(steps_per_epoch))
    val_ds = val_ds.apply(tf.data.experimental.assert_cardinality(_count_batches(val_ds)))
    total_steps = max(steps_per_epoch * config.epochs, config.warmup_steps + 1)

    model = family_module.build_model(config)
    model(next(iter(train_ds))[0])  # build the weights (BackupAndRestore needs a built model)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=total_steps - config.warmup_steps,
        warmup_target=config.learning_rate,
        warmup_steps=config.warmup_steps,
        alpha=0.05,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, beta_2=0.98, clipnorm=1.0),
        loss=MaskedSequenceLoss(label_smoothing=config.label_smoothing),
        metrics=[masked_accuracy],
    )

    run_info = {
        "family": family,
        "preset": preset,
        "config": dataclasses.asdict(config),
        "data": data or "default",
        "corpus": corpus.name,
        "source_lang": corpus.source_lang,
        "target_lang": corpus.target_lang,
        "train_pairs": len(corpus.train),
        "steps_per_epoch": steps_per_epoch,
    }
    atomic.write_json(os.path.join(run_dir, RUN_FILE), {**run_info, "status": "training"})

    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(run_dir, "checkpoints", "best.keras"), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
    ]
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    if any(v != v for v in history.history.get("loss", [])):  # NaN: TerminateOnNaN stopped it
        raise RuntimeError("training diverged (loss became NaN); lower --learning-rate")

    # Keras insists on the `.keras` suffix, so stage under a `.keras` temp name.
    tmp_model = os.path.join(run_dir, f".tmp-{os.getpid()}-{MODEL_FILE}")
    model.save(tmp_model)
    os.replace(tmp_model, os.path.join(run_dir, MODEL_FILE))
    plot_history(os.path.join(run_dir, "history.csv"), os.path.join(run_dir, "training_curves.png"))
    final = {k: float(v[-1]) for k, v in history.history.items()}
    atomic.write_json(
        os.path.join(run_dir, RUN_FILE),
        {**run_info, "status": "done", "train_seconds": round(time.time() - start, 1), "final_metrics": final},
    )
    return history


def load_run(run_dir):
    """Load a run directory: `(model, run_info, source_vocab, target_vocab)`.

    The model is loaded with Keras `safe_mode=True` (no arbitrary code). A
    vocabulary the run does not have (VAE runs) is `None`.
    """
    path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir}: no {MODEL_FILE} (is this a finished `zoo train` run?)")
    with open(os.path.join(run_dir, RUN_FILE), encoding="utf-8") as f:
        run_info = json.load(f)
    get_family(run_info["family"])  # registers the family's Keras classes
    model = keras.saving.load_model(path, safe_mode=True)
    paths = [os.path.join(run_dir, name) for name in (SOURCE_VOCAB, TARGET_VOCAB)]
    vocabs = [read_vocabulary(p) if os.path.exists(p) else None for p in paths]
    return model, run_info, vocabs[0], vocabs[1]
