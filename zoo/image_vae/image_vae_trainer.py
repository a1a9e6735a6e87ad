"""`zoo train image_vae`: images -> the training loop.

Data (`zoo.datasets.images`): the bundled 8x8 digits by default, an `.npz`
of MNIST-shaped arrays, or `mnist` (downloaded by Keras). The image size and
channels of the model come from the data. The loop, its callbacks and
strategies are `zoo.training.train`'s.
"""

import dataclasses

import tensorflow as tf

from zoo.datasets.images import load_images
from zoo.image_vae.image_vae import ImageVAE
from zoo.training import TaskData
from zoo.vae_training import VAETask


def image_dataset(images, batch_size, shuffle, seed=0):
    ds = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class ImageVAETask(VAETask):
    """Square images; the model's `image_size` and `channels` are the data's."""

    name = ImageVAE.task

    def prepare(self, write_dir, config, training, data, max_train_pairs):
        images = load_images(data)
        height, width, channels = images.image_shape
        if height != width:
            raise ValueError(f"{images.name}: images are {height}x{width}; the image VAE needs square images")
        config = dataclasses.replace(config, image_size=height, channels=channels)
        train_images = images.train[:max_train_pairs] if max_train_pairs else images.train

        def dataset(examples, global_batch, replicas, shuffle):
            return image_dataset(examples, global_batch, shuffle)

        run_info = {"task": self.name, "corpus": images.name, "train_images": int(len(train_images))}
        return TaskData(config, train_images, images.val, dataset, run_info)
