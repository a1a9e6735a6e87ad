"""Training throughput: target tokens per second of `fit` on one pipeline.

`zoo train`'s pipeline batches sentences of similar length together
(`zoo.datasets.pipeline.make_dataset`, padded to each batch's own longest);
the tutorial pipeline pads every sentence to the model's maximum lengths.
Both feed the same freshly built model, optimizer and loss as `zoo train`,
with `jit_compile` (XLA) on or off. Tokens are real (non-padding) target
tokens, so the figure is useful work per second.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from zoo.config_tools import run_preset
from zoo.datasets.parallel_text import load_corpus
from zoo.datasets.pipeline import make_dataset
from zoo.families import get_family
from zoo.losses import MaskedSequenceLoss, masked_accuracy
from zoo.text_tokenizer import END_ID, START_ID, make_tokenizer, read_vocabulary
from zoo.training import make_optimizer, vocabulary_files


def padded_dataset(pairs, source_tokenizer, target_tokenizer, batch_size, max_source_length, max_target_length, seed=0):
    """The tutorial pipeline: every batch padded to the maximum lengths."""
    ds = tf.data.Dataset.from_tensor_slices(([s for s, _ in pairs], [t for _, t in pairs]))
    ds = ds.batch(1024).map(lambda s, t: (source_tokenizer(s), target_tokenizer(t))).unbatch()
    ds = ds.filter(
        lambda s, t: tf.logical_and(
            tf.logical_and(tf.size(s) > 0, tf.size(s) <= max_source_length), tf.size(t) + 1 <= max_target_length
        )
    )
    ds = ds.cache().shuffle(min(len(pairs), 20000), seed=seed).repeat()

    def to_example(source, target):
        decoder = tf.concat([[START_ID], target], 0)
        labels = tf.concat([target, [END_ID]], 0)
        return source, decoder, labels

    ds = ds.map(to_example).padded_batch(
        batch_size,
        padded_shapes=([max_source_length], [max_target_length], [max_target_length]),
        drop_remainder=True,
    )
    return ds.map(lambda s, d, l: ({"encoder_inputs": s, "decoder_inputs": d}, l))


class _StepTimer(keras.callbacks.Callback):
    """Per-batch wall times; stops `fit` once the measured window exceeds `max_seconds`."""

    def __init__(self, warmup, max_seconds=None):
        super().__init__()
        self.warmup, self.max_seconds = warmup, max_seconds
        self.durations, self._begin, self._window = [], None, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.durations.append(time.perf_counter() - self._begin)
        if batch >= self.warmup:
            self._window += self.durations[-1]
            if self.max_seconds and self._window > self.max_seconds:
                self.model.stop_training = True


def measure_training(spec):
    """Tokens/s of `fit` for one pipeline and `jit_compile` setting.

    Args:
        spec: dict with `run` (a run directory: its config, vocabularies and
            data are reused, its weights are not), `data` (spec or None),
            `pipeline` (`bucketed` | `padded`), `jit_compile` (bool or
            `"auto"`, Keras' default which `zoo train` uses), `steps`
            (measured batches), `warmup` (batches before timing) and
            optionally `max_seconds` (stop measuring after this long).

    Steps whose batch shape was already seen are "steady state": with
    `jit_compile` every new shape is an XLA compilation, so the figure over
    all measured steps and the steady-state figure are both reported.

    Returns:
        Dict with tokens/s, padded positions/s, seconds and step counts.
    """
    import json
    import os

    with open(os.path.join(spec["run"], "run.json"), encoding="utf-8") as f:
        run_info = json.load(f)
    family = get_family(run_info["family"])
    preset = run_preset(family, run_info)
    config, training = preset.model, preset.training
    vocabs = [read_vocabulary(path) for path in vocabulary_files(spec["run"])]
    source_tokenizer, target_tokenizer = make_tokenizer(vocabs[0]), make_tokenizer(vocabs[1])
    corpus = load_corpus(spec.get("data") or run_info.get("data"))
    pairs = corpus.train[: spec.get("max_pairs") or None]
    args = (pairs, source_tokenizer, target_tokenizer, training.batch_size, config.max_source_length, config.max_target_length)
    if spec["pipeline"] == "bucketed":
        ds = make_dataset(*args, shuffle=True, repeat=True)
    else:
        ds = padded_dataset(*args)
    total = spec["warmup"] + spec["steps"]
    batches = list(ds.take(total))  # tokenization and batching done once, outside the timing
    tokens = [int(np.count_nonzero(labels.numpy())) for _, labels in batches]
    positions = [int(np.prod(labels.shape)) for _, labels in batches]
    shapes = [(x["encoder_inputs"].shape[1], labels.shape[1]) for x, labels in batches]

    keras.utils.set_random_seed(0)
    model = family.build_model(config)
    model(batches[0][0])
    model.compile(
        optimizer=make_optimizer(training, total),  # the run's own optimizer and schedule, as `zoo train`
        loss=MaskedSequenceLoss(label_smoothing=training.label_smoothing),
        metrics=[masked_accuracy],
        jit_compile=spec["jit_compile"],
    )
    timer = _StepTimer(spec["warmup"], spec.get("max_seconds", 600))
    signature = tf.nest.map_structure(lambda t: tf.TensorSpec((None, None), t.dtype), batches[0])
    feed = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)
    wall = time.perf_counter()
    model.fit(feed, epochs=1, steps_per_epoch=total, callbacks=[timer], verbose=0)
    wall = time.perf_counter() - wall
    measured = range(spec["warmup"], len(timer.durations))
    steady = [i for i in measured if shapes[i] in shapes[:i]]

    def rate(indices, counts):
        seconds = sum(timer.durations[i] for i in indices)
        return sum(counts[i] for i in indices) / seconds if indices and seconds else None

    seconds = sum(timer.durations[i] for i in measured)
    return {
        "family": run_info["family"],
        "pipeline": spec["pipeline"],
        "jit_compile": spec["jit_compile"],
        "jit_compile_resolved": bool(model.jit_compile),
        "batch_size": training.batch_size,
        "steps": len(measured),
        "warmup": spec["warmup"],
        "distinct_batch_shapes": len(set(shapes[: len(timer.durations)])),
        "new_shapes_while_measuring": len(measured) - len(steady),
        "target_tokens_per_second": rate(list(measured), tokens),
        "steady_state_target_tokens_per_second": rate(steady, tokens),
        "padded_positions_per_second": rate(list(measured), positions),
        "padding_fraction": 1 - sum(tokens[i] for i in measured) / sum(positions[i] for i in measured),
        "seconds_per_step": seconds / max(1, len(measured)),
        "wall_seconds_including_warmup": wall,
    }
