"""`zoo train`: data -> tokenizer -> `model.fit` -> run directory, for every task.

One loop (`train`) trains every family: translators and VAEs alike get the
same callbacks (atomic mid-epoch backups, epoch timing, epoch checkpoints,
TensorBoard, curves, `TerminateOnNaN`) and `tf.distribute` strategies. What
a task adds is a `TrainingTask` (data and tokenizer preparation, its
`run.json` fields, `compile`): `TranslationTask` here, the VAEs' in
`zoo.vae_training`; loss terms that Keras does not compile (a VAE's KL
annealing) live in the model's `train_step`/`test_step` (`zoo.vae.VAE`).

A run directory holds everything needed to evaluate or convert the model:

    runs/NAME/
      model.keras            trained model (best validation loss)
      source_vocab.txt       WordPiece vocabularies, one token per line
      target_vocab.txt       (or one vocabulary.txt with `shared_vocabulary`;
                             vocab.txt for a text VAE, none for an image VAE)
      run.json               family, model config, training config, data,
                             languages, timing
      history.csv            per-epoch metrics (appended across resumes)
      training_curves.png    loss / accuracy curves
      logs/                  TensorBoard
      checkpoints/best.keras ModelCheckpoint
      checkpoints/epoch_NNNN.weights.h5  the last `keep_checkpoints` epochs
      backup/                BackupAndRestore state while training runs

Distributed training uses `tf.distribute` (`strategy="mirrored"`: all local
GPUs, or the logical CPUs made by `ZOO_CPU_DEVICES=N`; `"multiworker"`:
`MultiWorkerMirroredStrategy` configured by `TF_CONFIG`). The model is built
and compiled under `strategy.scope()` and Keras distributes the tf.data
pipeline. The preset's `batch_size` is per replica: the global batch is
`batch_size * replicas`, the peak learning rate is scaled by
`sqrt(replicas)` (square-root rule for Adam-type optimizers) and lengths
counted in steps (the warmup; a VAE's KL annealing) are divided by
`replicas` (same number of examples). Only
the chief writes the run directory; other workers write to temporary
directories that are removed at the end (the Keras multi-worker recipe).
"""

import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time

import keras
import tensorflow as tf

from zoo import atomic
from zoo.checkpoint_averaging import EpochCheckpoints, average_weights, epoch_checkpoints
from zoo.config_tools import Preset, run_preset
from zoo.datasets.parallel_text import load_corpus
from zoo.datasets.pipeline import make_dataset
from zoo.families import get_family
from zoo.inverse_square_root_decay import InverseSquareRootDecay
from zoo.losses import MaskedSequenceLoss, masked_accuracy
from ondevice.tokenizers import load_tokenizers, tokenizer_files
from zoo.text_tokenizer import SPECIAL_TOKENS, make_tokenizer, read_vocabulary, train_vocabulary

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
SOURCE_VOCAB = "source_vocab.txt"
TARGET_VOCAB = "target_vocab.txt"
SHARED_VOCAB = "vocabulary.txt"
TOKENIZER_FILE = "tokenizer.json"
STRATEGIES = ("default", "mirrored", "multiworker")
CPU_DEVICES_ENV = "ZOO_CPU_DEVICES"
"""Split the CPU into this many logical devices (tests of `mirrored` without GPUs)."""


def make_strategy(name="default"):
    """The `tf.distribute.Strategy` called `name`; create it before other TF work.

    Args:
        name: str. `"default"` (one device), `"mirrored"` (synchronous
            data parallelism over all local GPUs; without GPUs, over the
            logical CPU devices set by the `ZOO_CPU_DEVICES` environment
            variable) or `"multiworker"` (`MultiWorkerMirroredStrategy`
            over the cluster described by the `TF_CONFIG` environment
            variable; each worker uses its local GPUs, or its CPU).

    Returns:
        A `tf.distribute.Strategy`.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    cpu_devices = os.environ.get(CPU_DEVICES_ENV)
    if cpu_devices:
        count = int(cpu_devices)
        cpu = tf.config.list_physical_devices("CPU")[0]
        if len(tf.config.get_logical_device_configuration(cpu) or [None]) != count:
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
            except RuntimeError:
                raise ValueError(f"{CPU_DEVICES_ENV} must be set before TensorFlow starts") from None
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if not os.environ.get("TF_CONFIG"):
        raise ValueError("--strategy multiworker needs the TF_CONFIG environment variable (see README)")
    try:
        json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that also saves mid-epoch, atomically, on the chief.

    Saves every `save_freq` steps and at every epoch end. Each save is
    written to a temporary file and renamed, so a kill at any moment leaves
    the previous complete state. On restart the weights and optimizer state
    (including its step count, so the learning-rate schedule continues) are
    restored and training continues at the saved epoch (an epoch cut short
    is run again from its first batch, starting from the mid-epoch weights).
    In multi-worker training every worker restores from `backup_dir` (it
    must be readable by all workers) and saves (the variables are read
    collectively), but only the chief writes there; the others write to
    `write_dir`, a temporary directory.

    Args:
        backup_dir: str. Where the state is kept (read by all workers).
        save_freq: int. Save every this many training steps.
        write_dir: str or None. Where this worker writes (default: `backup_dir`).
        on_restore: callable(epoch, batch) or None. Called when a backup is found.
    """

    def __init__(self, backup_dir, save_freq, write_dir=None, on_restore=None):
        super().__init__(backup_dir, save_freq=save_freq)
        self.write_dir = write_dir or backup_dir
        self.on_restore = on_restore

    def on_train_begin(self, logs=None):
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path, encoding="utf-8") as f:
                metadata = json.load(f)
            if self.on_restore:
                self.on_restore(metadata["epoch"], metadata["batch"])
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._batches_seen_since_last_saving = 0
        self._save_model()

    def _save_model(self):
        os.makedirs(self.write_dir, exist_ok=True)
        weights = os.path.join(self.write_dir, os.path.basename(self._weights_path))
        staged = os.path.join(self.write_dir, ".tmp-" + os.path.basename(self._weights_path))
        self.model.save_weights(staged, overwrite=True)
        os.replace(staged, weights)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        atomic.write_json(os.path.join(self.write_dir, os.path.basename(self._training_metadata_path)), metadata)

    def on_train_end(self, logs=None):
        shutil.rmtree(self.write_dir, ignore_errors=True)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` writing to a temporary `.keras` name, then renaming.

    Args:
        filepath: str. Final path (a `.keras` file).
        **kwargs: `keras.callbacks.ModelCheckpoint` arguments.
    """

    def __init__(self, filepath, **kwargs):
        self.final_path = filepath
        staged = os.path.join(os.path.dirname(filepath), f".tmp-{os.getpid()}-" + os.path.basename(filepath))
        super().__init__(staged, **kwargs)

    def _save_model(self, epoch, batch, logs):
        super()._save_model(epoch, batch, logs)
        if os.path.exists(self.filepath):
            os.replace(self.filepath, self.final_path)


def _vocabularies(run_dir, corpus, config):
    """Learn the vocabularies, or reuse the run's own when resuming.

    With `config.shared_vocabulary` one vocabulary is learned over both
    languages (`vocabulary.txt`) and used on both sides.
    """
    if config.shared_vocabulary:
        path = os.path.join(run_dir, SHARED_VOCAB)
        if not os.path.exists(path):
            text = [s for s, _ in corpus.train] + [t for _, t in corpus.train]
            size = max(config.source_vocabulary_size, config.target_vocabulary_size)
            atomic.write_text(path, "".join(t + "\n" for t in train_vocabulary(text, size)))
        vocabulary = read_vocabulary(path)
        return vocabulary, vocabulary
    paths = [os.path.join(run_dir, SOURCE_VOCAB), os.path.join(run_dir, TARGET_VOCAB)]
    if all(os.path.exists(p) for p in paths):
        return [read_vocabulary(p) for p in paths]
    sides = [[s for s, _ in corpus.train], [t for _, t in corpus.train]]
    sizes = [config.source_vocabulary_size, config.target_vocabulary_size]
    vocabularies = [train_vocabulary(text, size) for text, size in zip(sides, sizes)]
    for vocabulary, path in zip(vocabularies, paths):
        atomic.write_text(path, "".join(t + "\n" for t in vocabulary))
    return vocabularies


def vocabulary_files(run_dir):
    """The run's `(source, target)` vocabulary paths (the same file twice if shared)."""
    shared = os.path.join(run_dir, SHARED_VOCAB)
    if os.path.exists(shared):
        return shared, shared
    return os.path.join(run_dir, SOURCE_VOCAB), os.path.join(run_dir, TARGET_VOCAB)


def run_tokenizer_spec(run_dir):
    """The run's tokenizer description, in the manifest's `tokenizer` form
    (`ondevice.tokenizers`): `tokenizer.json` if the run has one (imported
    SentencePiece models), else its WordPiece vocabularies."""
    path = os.path.join(run_dir, TOKENIZER_FILE)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    source, target = vocabulary_files(run_dir)
    return {"kind": "wordpiece", "source_vocabulary": os.path.basename(source), "target_vocabulary": os.path.basename(target)}


def run_tokenizers(run_dir):
    """The run's `(source, target)` TensorFlow-free tokenizers (`ondevice.tokenizers`)."""
    return load_tokenizers(run_tokenizer_spec(run_dir), run_dir, SPECIAL_TOKENS)


def count_batches(dataset):
    """The number of batches of a finite `tf.data.Dataset` (one pass over it)."""
    return int(dataset.reduce(0, lambda count, _: count + 1).numpy())


def with_cardinality(dataset):
    """`(dataset with its number of batches attached, that number)`."""
    batches = count_batches(dataset)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)), batches


TRANSLATION_CURVES = (("loss", "loss"), ("masked_accuracy", "masked token accuracy"))


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to each epoch's logs, so `history.csv` records it
    and the training time of a resumed run still adds up (`train_seconds`)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.time() - self._start


def train_seconds(csv_path, fallback):
    """Summed `epoch_seconds` of every logged epoch (across resumes), else `fallback`."""
    import csv

    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = [r.get("epoch_seconds") for r in rows]
    if not rows or not all(seconds):
        return round(fallback, 1)
    return round(sum(float(x) for x in seconds), 1)


def plot_history(csv_path, png_path, curves=TRANSLATION_CURVES):
    """Write train/val curves of the `curves` metrics (key, title) as a PNG."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4))
    for ax, (key, title) in zip(axes, curves):
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
    strategy="default",
    backup_steps=None,
    init=None,
):
    """Train a model of `family` and write a run directory.

    Args:
        family: str. A key of `zoo.families.FAMILIES` (its `TrainingTask`
            says what it trains for: translation, a VAE).
        run_dir: str. Output run directory. Rerunning the same command after
            an interruption resumes from the last `BackupAndRestore` state.
        preset: str. Family preset name (`tiny`, `mini`, `small`, `base`).
        data: str or None. A `--data` spec (see `zoo.datasets.parallel_text`;
            images for the image VAE: `zoo.datasets.images`).
        epochs: int or None. Overrides the preset's epoch count.
        overrides: dict of fields of the preset's model or training config
            to override.
        max_train_pairs: int or None. Use only this many training pairs
            (sentences, images).
        verbose: int. Keras progress-bar verbosity.
        strategy: str. `default`, `mirrored` or `multiworker` (see
            `make_strategy`); the training config's `batch_size` is per
            replica.
        backup_steps: int or None. Back up the training state every this
            many steps (default: four times per epoch) and at each epoch end.
        init: str or None. A finished run directory (trained or imported) to
            start from: its architecture, tokenizer and weights; `preset`
            is ignored, `overrides` change its training settings
            (fine-tuning, e.g. domain adaptation of an OPUS-MT model).
            Translation families only.

    Returns:
        The Keras `History` object.
    """
    strategy_name, strategy = strategy, make_strategy(strategy)  # first: multi-worker setup must precede other TF work
    chief = is_chief(strategy)
    # Non-chief workers write everything to a temporary directory (removed at the end).
    write_dir = run_dir if chief else tempfile.mkdtemp(prefix="zoo-worker-")
    try:
        return _train(
            family, run_dir, write_dir, strategy_name, strategy, preset, data, epochs, overrides, max_train_pairs,
            verbose, backup_steps, init,
        )
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)


def _start_from(init, family, write_dir, overrides):
    """The `Preset` (with `overrides`) and weights of run `init`, its
    tokenizer files copied into `write_dir` (kept if already there: a
    resumed fine-tuning)."""
    init_model, init_info, _, _ = load_run(init)
    if init_info["family"] != family:
        raise ValueError(f"--init {init}: a {init_info['family']} run, not a {family} run")
    spec = run_tokenizer_spec(init)
    names = set(tokenizer_files(spec).values())
    os.makedirs(write_dir, exist_ok=True)
    for name in names:
        if not os.path.exists(os.path.join(write_dir, name)):
            shutil.copyfile(os.path.join(init, name), os.path.join(write_dir, name))
    if spec["kind"] != "wordpiece":
        atomic.write_json(os.path.join(write_dir, TOKENIZER_FILE), spec)
    return run_preset(get_family(family), init_info).replace(**overrides), init_model.get_weights()


@dataclasses.dataclass
class TaskData:
    """What a `TrainingTask` prepares for the training loop.

    Attributes:
        config: the family's model config, completed from the data (learned
            vocabulary sizes, image shape).
        train: the training examples (sentence pairs, sentences, images).
        val: the validation examples.
        dataset: callable `(examples, global_batch, replicas, shuffle)` ->
            a finite `tf.data.Dataset` of global batches.
        run_info: dict. The task's fields of `run.json` (corpus, languages,
            example counts, `task` for non-translation runs).
    """

    config: object
    train: object
    val: object
    dataset: object
    run_info: dict


class TrainingTask:
    """What one task adds to the training loop of `train` (hooks, no loop).

    A family trains for translation unless its package has
    `training_task()`, which returns an instance of a subclass (the VAEs:
    `zoo.vae_training.VAETask`). The loss terms and metrics of a task that
    Keras does not compile live in its model's `train_step`/`test_step`.

    Attributes:
        name: str. The task (`translation`, `text_vae`, `image_vae`).
        curves: `((metric, title), ...)` of `training_curves.png`.
        step_fields: fields of the model or training config counted in
            optimizer steps; a distributed run divides them by the number
            of replicas (the same number of examples), as it divides the
            batches.
        can_init: bool. Whether `train(init=...)` can start from a run.
    """

    name = "translation"
    curves = TRANSLATION_CURVES
    step_fields = ()
    can_init = False

    def prepare(self, write_dir, config, training, data, max_train_pairs):
        """Load the data, learn or reuse the run's tokenizer (written to
        `write_dir`) for the model `config` and `training` (a
        `TrainingConfig`); returns a `TaskData`."""
        raise NotImplementedError

    def compile(self, model, training, total_steps):
        """`model.compile` for `training` (learning rate and `step_fields`
        already scaled for the replicas) over `total_steps`: Adam(W) and
        the schedule of `make_optimizer`, plus the task's loss."""
        model.compile(optimizer=make_optimizer(training, total_steps))


class TranslationTask(TrainingTask):
    """Translation: WordPiece (or the run's SentencePiece) tokenizers, the
    bucketed pair pipeline, `MaskedSequenceLoss` and `make_optimizer`."""

    step_fields = ("warmup_steps",)
    can_init = True

    def prepare(self, write_dir, config, training, data, max_train_pairs):
        corpus = load_corpus(data)
        if max_train_pairs:
            corpus.train = corpus.train[:max_train_pairs]
        os.makedirs(write_dir, exist_ok=True)
        if run_tokenizer_spec(write_dir)["kind"] == "wordpiece":
            source_vocab, target_vocab = _vocabularies(write_dir, corpus, config)
            # The model's vocabulary sizes are the learned ones (often below the cap).
            config = dataclasses.replace(
                config, source_vocabulary_size=len(source_vocab), target_vocabulary_size=len(target_vocab)
            )
            source_tokenizer, target_tokenizer = make_tokenizer(source_vocab), make_tokenizer(target_vocab)
        else:  # a TF-free tokenizer (SentencePiece): make_dataset tokenizes in Python
            source_tokenizer, target_tokenizer = run_tokenizers(write_dir)

        def dataset(pairs, global_batch, replicas, shuffle):
            return make_dataset(
                pairs,
                source_tokenizer,
                target_tokenizer,
                global_batch,
                config.max_source_length,
                config.max_target_length,
                shuffle=shuffle,
                batch_tokens=training.batch_tokens * replicas,
                pad_to_bucket=training.jit_compile,
                duplicate=training.rdrop_alpha > 0,  # validation too: its KL term is 0 without dropout
            )

        run_info = {
            "corpus": corpus.name,
            "source_lang": corpus.source_lang,
            "target_lang": corpus.target_lang,
            "train_pairs": len(corpus.train),
        }
        return TaskData(config, corpus.train, corpus.val, dataset, run_info)

    def compile(self, model, training, total_steps):
        model.compile(
            optimizer=make_optimizer(training, total_steps),
            loss=MaskedSequenceLoss(label_smoothing=training.label_smoothing, rdrop_alpha=training.rdrop_alpha),
            metrics=[masked_accuracy],
            jit_compile=training.jit_compile,
        )


def training_task(family_module):
    """The `TrainingTask` of a family package (translation by default)."""
    hook = getattr(family_module, "training_task", None)
    return hook() if hook else TranslationTask()


def _train(family, run_dir, write_dir, strategy_name, strategy, preset, data, epochs, overrides, max_train_pairs, verbose, backup_steps, init=None):
    chief = write_dir == run_dir
    family_module = get_family(family)
    task = training_task(family_module)
    overrides = dict(overrides or {})
    if epochs is not None:
        overrides["epochs"] = epochs
    init_weights = None
    if init:
        if not task.can_init:
            raise ValueError(f"--init: {family} ({task.name}) runs cannot start from another run")
        settings, init_weights = _start_from(init, family, write_dir, overrides)
        preset = f"init:{init}"
    else:
        settings = family_module.get_preset(preset, **overrides)
    training = settings.training
    prepared = task.prepare(write_dir, settings.model, training, data, max_train_pairs)
    config = prepared.config
    os.makedirs(write_dir, exist_ok=True)

    # The batch size, learning rate and step counts are per replica; `fit`
    # is what this run trains with (its model and training configs).
    replicas = strategy.num_replicas_in_sync
    if training.rdrop_alpha and replicas > 1:  # a split batch could part an example from its copy
        raise ValueError(f"rdrop_alpha needs one replica; this strategy has {replicas}")
    global_batch = training.batch_size * replicas
    chosen = Preset(config, training)
    scaled = {name: max(1, round(chosen.fields()[name] / replicas)) for name in task.step_fields}
    fit = chosen.replace(learning_rate=training.learning_rate * math.sqrt(replicas), **scaled)

    def dataset(examples, shuffle):
        ds = prepared.dataset(examples, global_batch, replicas, shuffle)
        # Every worker builds the same global batches; each takes its slices of them.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return with_cardinality(ds.with_options(options))

    train_ds, steps_per_epoch = dataset(prepared.train, True)
    val_ds, _ = dataset(prepared.val, False)

    with strategy.scope():
        model = family_module.build_model(fit.model)
        first_batch = next(iter(train_ds))
        model(keras.utils.unpack_x_y_sample_weight(first_batch)[0])  # build the weights (BackupAndRestore needs a built model)
        if init_weights is not None:
            model.set_weights(init_weights)
        task.compile(model, fit.training, steps_per_epoch * training.epochs)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _build_before_fit(model, strategy, first_batch)

    run_path = os.path.join(write_dir, RUN_FILE)
    previous = {}
    if os.path.exists(run_path):
        with open(run_path, encoding="utf-8") as f:
            previous = json.load(f)
    run_info = {
        "family": family,
        "preset": preset,
        **({"init": os.path.abspath(init)} if init else {}),
        "config": dataclasses.asdict(config),
        "training": dataclasses.asdict(training),
        "data": data or "default",
        **prepared.run_info,
        "steps_per_epoch": steps_per_epoch,
        "distribution": {
            "strategy": strategy_name,
            "replicas": replicas,
            "workers": _num_workers(strategy),
            "per_replica_batch": training.batch_size,
            "global_batch": global_batch,
            "peak_learning_rate": fit.training.learning_rate,
            **scaled,
            "learning_rate_scaling": "sqrt(replicas)",
        },
        "resumes": previous.get("resumes", []) if previous.get("status") == "training" else [],
    }
    atomic.write_json(run_path, {**run_info, "status": "training"})

    def on_restore(epoch, batch):
        run_info["resumes"].append({"epoch": epoch, "batch": batch, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
        atomic.write_json(run_path, {**run_info, "status": "training"})
        done = f"{batch + 1} of its {steps_per_epoch} steps" if batch else "its start"
        print(f"zoo train: resuming from the backup in {run_dir} at epoch {epoch + 1} (saved at {done})", file=sys.stderr, flush=True)

    os.makedirs(os.path.join(write_dir, "checkpoints"), exist_ok=True)
    # CSVLogger and EpochCheckpoints before the backup: an epoch end is logged
    # and saved before the backup marks it done.
    callbacks = [EpochTimer(), keras.callbacks.CSVLogger(os.path.join(write_dir, "history.csv"), append=True)]
    average_last = training.average_last
    if training.keep_checkpoints > 0:
        callbacks.append(EpochCheckpoints(os.path.join(write_dir, "checkpoints"), training.keep_checkpoints))
    callbacks += [
        ResumableBackup(
            os.path.join(run_dir, "backup"),
            save_freq=backup_steps or max(1, steps_per_epoch // 4),
            write_dir=os.path.join(write_dir, "backup"),
            on_restore=on_restore,
        ),
        AtomicModelCheckpoint(
            os.path.join(write_dir, "checkpoints", "best.keras"), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.TensorBoard(os.path.join(write_dir, "logs")),
    ]
    if training.patience > 0 and not average_last:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=training.patience, restore_best_weights=True))
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=training.epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    if any(v != v for v in history.history.get("loss", [])):  # NaN: TerminateOnNaN stopped it
        raise RuntimeError("training diverged (loss became NaN); lower --learning-rate")
    averaged = None
    if average_last:
        averaged = average_last_epochs(model, os.path.join(write_dir, "checkpoints"), average_last)

    # Keras insists on the `.keras` suffix, which the staged name keeps.
    # Every worker saves (variables may be read collectively); only the chief's copy is kept.
    with atomic.staged_file(os.path.join(write_dir, MODEL_FILE)) as staged:
        model.save(staged)
    if not chief:
        return history
    plot_history(os.path.join(run_dir, "history.csv"), os.path.join(run_dir, "training_curves.png"), task.curves)
    final = {k: float(v[-1]) for k, v in history.history.items()}
    atomic.write_json(
        run_path,
        {
            **run_info,
            "status": "done",
            "train_seconds": train_seconds(os.path.join(run_dir, "history.csv"), time.time() - start),
            "final_metrics": final,
            **({"averaged_epochs": averaged} if averaged else {}),
        },
    )
    return history


def make_optimizer(training, total_steps):
    """The Adam(W) optimizer and learning-rate schedule that `training` asks for.

    Args:
        training: `TrainingConfig` (its learning rate and warmup already
            scaled for the replicas).
        total_steps: int. Training steps of the whole run (cosine decay).
    """
    learning_rate, warmup_steps = training.learning_rate, training.warmup_steps
    total_steps = max(total_steps, warmup_steps + 1)
    if training.schedule == "inverse_sqrt":
        schedule = InverseSquareRootDecay(learning_rate, warmup_steps)
    elif training.schedule == "constant" and not warmup_steps:
        schedule = learning_rate
    else:  # cosine, or constant after a warmup (a cosine that ends at 100% of the peak)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=total_steps - warmup_steps,
            warmup_target=learning_rate,
            warmup_steps=warmup_steps,
            alpha=1.0 if training.schedule == "constant" else 0.05,
        )
    adam = dict(beta_1=training.adam_beta_1, beta_2=training.adam_beta_2, epsilon=training.adam_epsilon)
    if training.clipnorm > 0:
        adam["clipnorm"] = training.clipnorm
    if training.weight_decay > 0:
        return keras.optimizers.AdamW(schedule, weight_decay=training.weight_decay, **adam)
    return keras.optimizers.Adam(schedule, **adam)


def average_last_epochs(model, directory, last):
    """Load into `model` the mean of its last `last` epoch checkpoints in
    `directory`; returns the averaged epoch numbers."""
    found = epoch_checkpoints(directory)[-last:]
    if len(found) < last:
        raise ValueError(f"{directory}: {len(found)} epoch checkpoints, fewer than the {last} to average")
    average_weights(model, [path for _, path in found])
    return [epoch for epoch, _ in found]


def average_run(run_dir, last):
    """`zoo average`: make `run_dir`'s model the mean of its last `last` epochs.

    The model the run had is kept as `checkpoints/unaveraged.keras` (once);
    `run.json` records the averaged epochs.

    Returns:
        The list of averaged epoch numbers.
    """
    model, run_info, _, _ = load_run(run_dir)
    epochs = average_last_epochs(model, os.path.join(run_dir, "checkpoints"), last)
    path = os.path.join(run_dir, MODEL_FILE)
    kept = os.path.join(run_dir, "checkpoints", "unaveraged.keras")
    if not run_info.get("averaged_epochs") and not os.path.exists(kept):
        shutil.copyfile(path, kept)
    with atomic.staged_file(path) as staged:
        model.save(staged)
    atomic.write_json(os.path.join(run_dir, RUN_FILE), {**run_info, "averaged_epochs": epochs})
    return epochs


def _build_before_fit(model, strategy, batch):
    """Work around two Keras 3.15 gaps in `fit` under `MultiWorkerMirroredStrategy`.

    Builds the loss, metric and optimizer state now, from a local batch.

    Keras 3.15's `fit` builds them by all-reducing the first distributed
    batch (`_maybe_symbolic_build`), which fails under
    `MultiWorkerMirroredStrategy` ("Attempt to convert a value ({...:
    PerReplica...}) ... to a Tensor"). Built here, that step has nothing to
    do, so it is skipped.
    """
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
        model.optimizer.build(model.trainable_variables)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    # Keras then reduces each step's logs across workers with
    # `strategy.reduce("MEAN", v, axis=0)`, which needs an axis: give the
    # scalar logs one (the reduction removes it again).
    for name in ("train_step", "test_step"):
        setattr(model, name, _logs_as_vectors(getattr(model, name)))


def _logs_as_vectors(step):
    def step_with_vector_logs(data):
        return {key: tf.reshape(value, [1]) for key, value in step(data).items()}

    return step_with_vector_logs


def _num_workers(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 1
    return sum(len(tasks) for job, tasks in resolver.cluster_spec().as_dict().items() if job in ("chief", "worker"))


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
    get_family(run_info["family"]).model_class()  # registers the family's Keras classes
    model = keras.saving.load_model(path, safe_mode=True)
    if os.path.exists(os.path.join(run_dir, TOKENIZER_FILE)):  # SentencePiece: pieces, one per line
        source, target = run_tokenizers(run_dir)
        return model, run_info, source.vocabulary, target.vocabulary
    paths = vocabulary_files(run_dir)
    vocabs = [read_vocabulary(p) if os.path.exists(p) else None for p in paths]
    return model, run_info, vocabs[0], vocabs[1]
