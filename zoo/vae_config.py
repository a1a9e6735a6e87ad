"""Config checks shared by the VAE families' model configs (no Keras: configs load without TensorFlow)."""

KL_SCHEDULES = ("constant", "linear", "sigmoid", "cyclical")


def check_kl_schedule(schedule):
    """Raise `ValueError` unless `schedule` is one of `KL_SCHEDULES`.

    Args:
        schedule: str. The config's `kl_schedule`.
    """
    if schedule not in KL_SCHEDULES:
        raise ValueError(f"unknown KL schedule {schedule!r}; choose from {', '.join(KL_SCHEDULES)}")
