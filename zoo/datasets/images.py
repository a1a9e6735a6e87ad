"""Image data for the image VAE, as float32 arrays (N, H, W, C) in [0, 1].

A `--data SPEC` is resolved by `load_images(spec)`:

- `None` or `"default"`: the bundled 8x8 handwritten digits
  (`zoo/datasets/default/digits.csv.gz`: the 1797-image UCI optdigits test
  set as shipped by scikit-learn; CC BY 4.0, see NOTICE). Pixels 0..16.
- a `.npz` file with MNIST-shaped arrays: `x_train` (and optionally `x_val`,
  `x_test`), each (N, H, W) or (N, H, W, C), uint8 0..255 or float in
  [0, 1] (the layout of `keras.datasets.mnist`'s `mnist.npz`); a single
  array under another name is split deterministically.
- `"mnist"`: `keras.datasets.mnist.load_data()` (downloads once; needs the
  network).

numpy only: the on-device evaluation reads the same data.
"""

import csv
import dataclasses
import gzip
import io
import os

import numpy as np

DIGITS_CSV = os.path.join(os.path.dirname(__file__), "default", "digits.csv.gz")


@dataclasses.dataclass
class ImageData:
    """Images split into train/val/test.

    Args:
        train: float32 array (N, H, W, C) in [0, 1].
        val: float32 array, early stopping and tuning.
        test: float32 array, reporting.
        name: str. Where the images came from.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    name: str = ""

    @property
    def image_shape(self):
        return tuple(int(d) for d in self.train.shape[1:])

    def split(self, name):
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}; use train, val or test")
        return getattr(self, name)


def to_unit_range(images, max_value=None):
    """float32 (N, H, W, C) in [0, 1] from (N, H, W[, C]) integers or floats."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"expected images shaped (N, H, W) or (N, H, W, C), got {images.shape}")
    if max_value is None:
        max_value = 255.0 if images.dtype == np.uint8 or images.max() > 1.0 else 1.0
    return (images.astype(np.float32) / np.float32(max_value)).clip(0.0, 1.0)


def split_images(images, val_size, test_size, seed=1234):
    """Deterministically shuffle and split into train/val/test."""
    order = np.random.default_rng(seed).permutation(len(images))
    images = images[order]
    return images[val_size + test_size :], images[:val_size], images[val_size : val_size + test_size]


def load_digits():
    """The bundled 8x8 digits: 1797 images, pixels 0..16 -> [0, 1]."""
    with gzip.open(DIGITS_CSV, "rt", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row]
    pixels = np.array([[int(v) for v in row[:64]] for row in rows], np.float32)
    images = to_unit_range(pixels.reshape(-1, 8, 8), max_value=16.0)
    train, val, test = split_images(images, 180, 180)
    return ImageData(train, val, test, name="uci-optdigits-8x8")


def load_npz(path, name=None):
    """MNIST-shaped arrays from an `.npz` file or file object (see module docstring)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            data = {k: arrays[k] for k in arrays.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    name = name or os.path.basename(str(path))
    if "x_train" in data:
        train = to_unit_range(data["x_train"])
        test = to_unit_range(data["x_test"]) if "x_test" in data else train[:0]
        if "x_val" in data:
            val = to_unit_range(data["x_val"])
        else:  # hold out 10% of train (at most 5000) for validation
            held = min(5000, len(train) // 10)
            train, val, _ = split_images(train, held, 0)
        return ImageData(train, val, test, name=name)
    images = [v for v in data.values() if v.ndim in (3, 4)]
    if len(images) != 1:
        raise ValueError(f"{path}: expected x_train (and x_test) arrays or one image array, found {sorted(data)}")
    images = to_unit_range(images[0])
    held = len(images) // 10
    return ImageData(*split_images(images, held, held), name=name)


def load_mnist():
    """`keras.datasets.mnist` (downloaded once into the Keras cache)."""
    import keras

    (x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x_train, x_test=x_test)
    buffer.seek(0)
    return load_npz(buffer, name="mnist")


def load_images(spec=None):
    """Resolve a `--data` spec into `ImageData` (see module docstring)."""
    if spec in (None, "", "default"):
        return load_digits()
    if spec == "mnist":
        return load_mnist()
    if not os.path.isfile(spec):
        raise ValueError(f"image data spec {spec!r}: no such file (expected default, mnist or an .npz path)")
    return load_npz(spec)
