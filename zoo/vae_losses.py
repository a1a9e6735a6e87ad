"""VAE objective pieces shared by the VAE families (keras ops only).

- `gaussian_kl`: KL(q(z|x) || N(0, I)) per latent dimension.
- `free_bits_kl`: the free-bits KL of Kingma et al. (2016): every latent
  dimension's batch-mean KL counts at least `free_bits` nats, so the
  optimizer gains nothing by pushing a dimension below it (a guard against
  posterior collapse).
- `kl_weight`: KL annealing schedules (Bowman et al. 2016: linear or
  sigmoid warm-up; Fu et al. 2019: cyclical).
"""

from keras import ops

from zoo.vae_config import check_kl_schedule


def gaussian_kl(z_mean, z_log_var):
    """KL divergence to the standard normal prior, per dimension.

    Args:
        z_mean: float tensor (batch, latent).
        z_log_var: float tensor (batch, latent).

    Returns:
        Float tensor (batch, latent), in nats.
    """
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def free_bits_kl(kl_per_dim, free_bits):
    """Sum over dimensions of `max(free_bits, batch-mean KL of the dimension)`.

    Args:
        kl_per_dim: float tensor (batch, latent) from `gaussian_kl`.
        free_bits: float. Nats per dimension that cost nothing (0 = plain KL).

    Returns:
        Scalar float tensor.
    """
    per_dim = ops.mean(kl_per_dim, axis=0)  # (latent,)
    if free_bits > 0:
        per_dim = ops.maximum(per_dim, free_bits)
    return ops.sum(per_dim)


def kl_weight(step, schedule="linear", anneal_steps=1000, cycles=4):
    """The KL weight (beta) at a training step.

    Args:
        step: int tensor or int. Optimizer step (0-based).
        schedule: str. `constant` (always 1), `linear` (0 -> 1 over
            `anneal_steps`), `sigmoid` (logistic centred at `anneal_steps / 2`,
            as Bowman et al.), `cyclical` (`cycles` repeats of: linear 0 -> 1
            over half the cycle, then 1; Fu et al. 2019), each cycle
            `anneal_steps` long; after the last cycle beta stays 1.
        anneal_steps: int. Length of the warm-up (of one cycle for cyclical).
        cycles: int. Cycles of the cyclical schedule.

    Returns:
        Float32 scalar tensor in [0, 1].
    """
    check_kl_schedule(schedule)
    step = ops.cast(step, "float32")
    length = float(max(anneal_steps, 1))
    if schedule == "constant":
        return ops.ones((), "float32")
    if schedule == "linear":
        return ops.minimum(1.0, step / length)
    if schedule == "sigmoid":
        return ops.sigmoid(10.0 * (step / length - 0.5))
    phase = (step - ops.floor(step / length) * length) / length  # position in the cycle, [0, 1)
    ramp = ops.minimum(1.0, 2.0 * phase)
    return ops.where(step >= length * cycles, 1.0, ramp)
