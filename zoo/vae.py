"""`VAE`: the training objective the zoo's VAEs share (`SentenceVAE`, `ImageVAE`).

A subclass supplies its architecture and one method,
`reconstruction_nll(data, training) -> (nll, z_mean, z_log_var)`: the
negative log-likelihood of each example (nats) under a decoding of a
reparameterized sample of q(z|x), and the posterior parameters. The base
class turns it into the objective `fit` trains (`train_step`, `test_step`):

- training: `reconstruction + beta * KL`, beta from the KL annealing
  schedule (`kl_schedule`, `kl_anneal_steps`, `kl_cycles`; `zoo.vae_losses`)
  at the optimizer step, the KL counted with `free_bits` free nats per
  latent dimension;
- validation: the negative ELBO, `reconstruction + KL` (beta = 1).

Both report `loss`, `reconstruction` (nats per example), `kl`, `elbo` and
`beta` as example-weighted epoch means. Under a `tf.distribute` strategy the
loss is divided by the number of replicas before the gradients (which are
summed over replicas), as Keras does for compiled losses, and the metrics
add up across replicas; the VAEs therefore train through the same
`zoo.training.train` loop as the translators.
"""

import keras
import tensorflow as tf
from keras import ops

from zoo.config_tools import constructor_arguments
from zoo.vae_losses import free_bits_kl, gaussian_kl, kl_weight

VAE_METRICS = ("loss", "reconstruction", "kl", "elbo", "beta")


class VAE(keras.Model):
    """Base class of the VAE families (see the module docstring).

    Subclasses set `task` (the `run.json` / manifest task), store each
    constructor argument as an attribute of the same name (`get_config`
    reads them) and implement `reconstruction_nll`. They set `kl_schedule` and
    `kl_anneal_steps`, and may set `kl_cycles` and `free_bits`.

    Args:
        **kwargs: `keras.Model` arguments.
    """

    task = None
    kl_schedule = "constant"
    kl_anneal_steps = 1000
    kl_cycles = 4
    free_bits = 0.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(None, name="vae_seed")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in VAE_METRICS}

    def reconstruction_nll(self, data, training):
        """`(nll (batch,), z_mean (batch, latent), z_log_var (batch, latent))` of a batch."""
        raise NotImplementedError

    def sample_latent(self, z_mean, z_log_var):
        """A reparameterized sample of q(z|x) = N(z_mean, exp(z_log_var))."""
        noise = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * noise

    @property
    def metrics(self):
        return list(self.trackers.values())

    def objective(self, data, training):
        """The per-batch figures (`VAE_METRICS`) and the batch size."""
        nll, z_mean, z_log_var = self.reconstruction_nll(data, training)
        reconstruction = ops.mean(nll)
        kl_per_dim = gaussian_kl(z_mean, z_log_var)  # (batch, latent)
        kl = ops.mean(ops.sum(kl_per_dim, axis=1))
        if training:
            beta = kl_weight(self.optimizer.iterations, self.kl_schedule, self.kl_anneal_steps, self.kl_cycles)
            loss = reconstruction + beta * free_bits_kl(kl_per_dim, self.free_bits)
        else:  # validation: the negative ELBO itself
            beta = ops.ones((), "float32")
            loss = reconstruction + kl
        values = {"loss": loss, "reconstruction": reconstruction, "kl": kl, "elbo": -(reconstruction + kl), "beta": beta}
        return values, ops.cast(ops.shape(nll)[0], "float32")

    def _update(self, values, batch_size):
        # Weighted by batch size: epoch figures are per-example means even
        # with bucketed (uneven) batches, and across replicas.
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name], sample_weight=batch_size)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            values, batch_size = self.objective(data, training=True)
            loss = values["loss"]
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            if replicas > 1:  # the replicas' gradients are summed: average them
                loss = loss / replicas
            loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._update(values, batch_size)

    def test_step(self, data):
        return self._update(*self.objective(data, training=False))

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in constructor_arguments(type(self))})
        return config
