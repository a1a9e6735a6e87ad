"""The VAE families' training hooks (`VAETask`); the loop is `zoo.training.train`.

A VAE run has the layout of a translation run (`zoo.training`): the same
callbacks, atomic mid-epoch backups, epoch checkpoints and `tf.distribute`
strategies; its loss terms, KL annealing and metrics are the model's
`train_step`/`test_step` (`zoo.vae.VAE`). A text VAE adds its WordPiece
vocabulary `vocab.txt`. `run.json` records the family's `task` (`text_vae`,
`image_vae`), which `zoo convert` and `zoo eval` dispatch on.
"""

from zoo.training import TrainingTask

VOCAB_FILE = "vocab.txt"
VAE_CURVES = (("loss", "loss (train objective / val -ELBO)"), ("reconstruction", "reconstruction (nats)"), ("kl", "KL (nats)"))


class VAETask(TrainingTask):
    """A VAE family's `TrainingTask`: the optimizer of its `TrainingConfig`
    (`zoo.training_config.vae_training`: Adam at a constant rate), no
    compiled loss (the model's `train_step` computes the ELBO); the KL
    annealing length is counted in optimizer steps.

    Subclasses set `name` (the model's `task`) and implement `prepare`.
    """

    curves = VAE_CURVES
    step_fields = ("kl_anneal_steps",)
