"""`zoo train image_vae`: images -> `fit` -> run directory.

Data (`zoo.datasets.images`): the bundled 8x8 digits by default, an `.npz`
of MNIST-shaped arrays, or `mnist` (downloaded by Keras). The image size and
channels of the model come from the data.
"""

import os

import keras
import tensorflow as tf

from zoo.datasets.images import load_images
from zoo.image_vae.image_vae import ImageVAE
from zoo.image_vae.image_vae_config import get_preset
from zoo.vae_training import fit_run, with_cardinality


def image_dataset(images, batch_size, shuffle, seed=0):
    ds = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train(run_dir, preset="small", data=None, epochs=None, overrides=None, max_train_pairs=None, verbose=1):
    """Train an `ImageVAE` and write a run directory (see `zoo.vae_training`).

    Args:
        run_dir: str. Run directory (rerun to resume).
        preset: str. `tiny`, `small` or `base`.
        data: str or None. `default`, `mnist` or an `.npz` path.
        epochs: int or None. Overrides the preset.
        overrides: dict of config fields.
        max_train_pairs: int or None. Use only this many training images.
        verbose: int. Keras verbosity.
    """
    images = load_images(data)
    height, width, channels = images.image_shape
    if height != width:
        raise ValueError(f"{images.name}: images are {height}x{width}; the image VAE needs square images")
    overrides = {**(overrides or {}), "image_size": height, "channels": channels}
    if epochs is not None:
        overrides["epochs"] = epochs
    config = get_preset(preset, **overrides)
    train_images = images.train[:max_train_pairs] if max_train_pairs else images.train
    os.makedirs(run_dir, exist_ok=True)
    train_ds = with_cardinality(image_dataset(train_images, config.batch_size, True))
    val_ds = with_cardinality(image_dataset(images.val, config.batch_size, False))
    model = ImageVAE(**config.model_kwargs())
    model(train_images[:2])  # build the weights (BackupAndRestore needs a built model)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    run_info = {
        "family": "image_vae",
        "task": ImageVAE.task,
        "preset": preset,
        "data": data or "default",
        "corpus": images.name,
        "train_images": int(len(train_images)),
        "steps_per_epoch": int(train_ds.cardinality().numpy()),
    }
    return fit_run(model, train_ds, val_ds, run_dir, run_info, config, verbose)
