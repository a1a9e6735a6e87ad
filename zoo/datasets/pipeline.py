"""tf.data input pipeline for teacher-forced seq2seq training.

tokenize (keras-hub WordPiece) -> length filter -> cache -> shuffle ->
bucket by length (batches padded only to their own bucket) -> prefetch.

Elements are `({"encoder_inputs": (batch, src_len),
"decoder_inputs": (batch, tgt_len)}, labels (batch, tgt_len))` with
`decoder_inputs = [START] + target` and `labels = target + [END]`, padded with
0 (`[PAD]`), which the loss and metrics mask out.
"""

import tensorflow as tf

from zoo.text_tokenizer import END_ID, START_ID


def bucket_boundaries(max_length, width=8):
    """Boundaries 9, 17, 25, ... up to max_length + 1 (exclusive upper bounds)."""
    return list(range(width + 1, max_length + 1, width))


def make_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    batch_size,
    max_source_length,
    max_target_length,
    shuffle=True,
    seed=0,
    repeat=False,
    batch_tokens=0,
    pad_to_bucket=False,
    duplicate=False,
):
    """Build the training/validation `tf.data.Dataset` for `pairs`.

    Args:
        pairs: list of `(source, target)` strings.
        source_tokenizer: keras-hub tokenizer for the source language (run
            inside tf.data), or a TF-free `ondevice` tokenizer with
            `tokenize(text) -> ids` (SentencePiece; run once in Python).
        target_tokenizer: the same for the target language.
        batch_size: int. Sentences per batch (every bucket), when
            `batch_tokens` is 0.
        max_source_length: int. Longer sources are dropped.
        max_target_length: int. Targets needing more than this many decoder
            positions (tokens + START/END) are dropped.
        shuffle: bool. Shuffle examples (training) or keep order (eval).
        seed: int. Shuffle seed.
        repeat: bool. Repeat forever (for `steps_per_epoch` style training).
        batch_tokens: int. If > 0, a bucket of sequences up to length `n`
            is batched `batch_tokens // n` sentences at a time (batches of
            about `batch_tokens` tokens, padding included).
        pad_to_bucket: bool. Pad each batch to its bucket's longest length
            instead of its own longest sequence: a few distinct shapes, so
            that an XLA-compiled (`jit_compile`) step compiles a few times.
        duplicate: bool. Repeat every example of a batch in the next row
            (rows 2i and 2i+1 are the same example; R-Drop's pairs, see
            `zoo.losses.MaskedSequenceLoss`). Batch sizes count examples
            before they are repeated.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` batches.
    """
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    if callable(source_tokenizer):  # keras-hub tokenizers are layers
        ds = tf.data.Dataset.from_tensor_slices((sources, targets))

        def tokenize(source, target):
            return source_tokenizer(source), target_tokenizer(target)

        ds = ds.batch(1024).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    else:
        ids = [
            tf.ragged.constant([tokenizer.tokenize(text) for text in texts], tf.int32, ragged_rank=1)
            for tokenizer, texts in ((source_tokenizer, sources), (target_tokenizer, targets))
        ]
        ds = tf.data.Dataset.from_tensor_slices(tuple(ids))
    ds = ds.filter(
        lambda s, t: tf.logical_and(
            tf.logical_and(tf.size(s) > 0, tf.size(s) <= max_source_length),
            tf.size(t) + 1 <= max_target_length,
        )
    )
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(pairs), 20000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    def to_example(source, target):
        start = tf.constant([START_ID], tf.int32)
        end = tf.constant([END_ID], tf.int32)
        return source, tf.concat([start, target], 0), tf.concat([target, end], 0)

    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    max_length = max(max_source_length, max_target_length)
    boundaries = bucket_boundaries(max_length)
    if pad_to_bucket:  # every sequence must fall below the last boundary
        boundaries.append(max_length + 1)
    if batch_tokens > 0:
        longest = [b - 1 for b in boundaries] + [max_length]  # the longest sequence of each bucket
        batch_sizes = [max(1, batch_tokens // n) for n in longest]
    else:
        batch_sizes = [batch_size] * (len(boundaries) + 1)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda s, d, l: tf.maximum(tf.size(s), tf.size(d)),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=batch_sizes,
        padded_shapes=([None], [None], [None]),
        padding_values=(0, 0, 0),
        pad_to_bucket_boundary=pad_to_bucket,
    )
    if duplicate:
        ds = ds.map(lambda s, d, l: tuple(tf.repeat(x, 2, axis=0) for x in (s, d, l)))
    ds = ds.map(lambda s, d, l: ({"encoder_inputs": s, "decoder_inputs": d}, l))
    return ds.prefetch(tf.data.AUTOTUNE)
