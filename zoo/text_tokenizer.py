"""WordPiece vocabularies and tokenizers for training (keras-hub).

The vocabulary is learned with `keras_hub.tokenizers.compute_word_piece_vocabulary`
and applied with `keras_hub.tokenizers.WordPieceTokenizer`; case and accents are
kept (German umlauts, Spanish accents survive). `ondevice.tokenizer` is the
TensorFlow-free twin used on the device and is tested to give the same ids.
"""

import keras_hub
import tensorflow as tf

from ondevice.tokenizer import RESERVED_TOKENS, WordPieceTokenizer

PAD_ID, UNK_ID, START_ID, END_ID = range(4)
SPECIAL_TOKENS = {"pad": PAD_ID, "unk": UNK_ID, "start": START_ID, "end": END_ID}
"""The reserved ids of every model of the zoo (imported ones are reordered to them)."""
TOKENIZER_OPTIONS = dict(lowercase=False, strip_accents=False, split=True, split_on_cjk=True)


def train_vocabulary(sentences, vocabulary_size):
    """Learn a WordPiece vocabulary whose first ids are `RESERVED_TOKENS`.

    Args:
        sentences: list of str. Training text of one language.
        vocabulary_size: int. Upper bound on the vocabulary size.

    Returns:
        A list of tokens; index = token id.
    """
    data = tf.data.Dataset.from_tensor_slices(list(sentences)).batch(1000)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data,
        vocabulary_size=vocabulary_size,
        reserved_tokens=list(RESERVED_TOKENS),
        lowercase=False,
        strip_accents=False,
        split=True,
        split_on_cjk=True,
    )


def make_tokenizer(vocabulary):
    """A keras-hub `WordPieceTokenizer` configured like the device tokenizer."""
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=list(vocabulary), oov_token="[UNK]", dtype="int32", **TOKENIZER_OPTIONS
    )


def read_vocabulary(path):
    """Read a vocabulary file exactly as the device tokenizer (and keras-hub) does."""
    return WordPieceTokenizer.from_file(path).vocabulary
