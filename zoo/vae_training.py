"""Training runs of the VAE families: `fit` with callbacks -> run directory.

The run directory has the same layout as a translation run
(`zoo.training`): `model.keras`, `run.json`, `history.csv`,
`training_curves.png`, `logs/`, `checkpoints/best.keras` and `backup/`
(`BackupAndRestore`, so rerunning an interrupted command resumes it); a text
VAE adds its WordPiece vocabulary `vocab.txt`. `run.json` records the
family's `task` (`text_vae`, `image_vae`), which `zoo convert` and `zoo eval`
dispatch on.
"""

import csv
import dataclasses
import os
import time

import keras

from zoo import atomic
from zoo.training import MODEL_FILE, RUN_FILE, plot_history

VOCAB_FILE = "vocab.txt"
VAE_CURVES = (("loss", "loss (train objective / val -ELBO)"), ("reconstruction", "reconstruction (nats)"), ("kl", "KL (nats)"))


def fit_run(model, train_ds, val_ds, run_dir, run_info, config, verbose=1):
    """`model.fit` with the zoo's callbacks, then write the run directory.

    Args:
        model: a compiled, built Keras model with its own `train_step`.
        train_ds: training `tf.data.Dataset` (known cardinality).
        val_ds: validation `tf.data.Dataset`.
        run_dir: str. The run directory.
        run_info: dict written to `run.json` (family, task, data, ...).
        config: the family config dataclass (`epochs`, `patience`).
        verbose: int. Keras progress-bar verbosity.

    Returns:
        The Keras `History`.
    """
    run_info = {**run_info, "config": dataclasses.asdict(config)}
    atomic.write_json(os.path.join(run_dir, RUN_FILE), {**run_info, "status": "training"})
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
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
    start = time.time()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks, verbose=verbose, shuffle=False
    )
    if any(v != v for v in history.history.get("loss", [])):
        raise RuntimeError("training diverged (loss became NaN); lower --learning-rate")
    tmp_model = os.path.join(run_dir, f".tmp-{os.getpid()}-{MODEL_FILE}")  # Keras wants the suffix
    model.save(tmp_model)
    os.replace(tmp_model, os.path.join(run_dir, MODEL_FILE))
    plot_history(os.path.join(run_dir, "history.csv"), os.path.join(run_dir, "training_curves.png"), VAE_CURVES)
    final = {k: float(v[-1]) for k, v in history.history.items()}
    atomic.write_json(
        os.path.join(run_dir, RUN_FILE),
        {**run_info, "status": "done", "train_seconds": round(time.time() - start, 1), "final_metrics": final},
    )
    return history


def count_batches(dataset):
    return int(dataset.reduce(0, lambda count, _: count + 1).numpy())


def with_cardinality(dataset):
    """`dataset` with its (finite) number of batches attached."""
    import tensorflow as tf

    return dataset.apply(tf.data.experimental.assert_cardinality(count_batches(dataset)))
