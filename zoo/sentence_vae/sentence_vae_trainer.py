"""`zoo train sentence_vae`: English sentences -> WordPiece -> the training loop.

The sentences are the *source* side of any `--data` corpus
(`zoo.datasets.parallel_text`): without `--data` the English side of the
bundled Tatoeba subset, with `--data ../shared/data/multi30k:en-de` the
English Multi30k captions (`zoo.datasets.sentences`). The loop, its
callbacks and strategies are `zoo.training.train`'s.
"""

import dataclasses
import os

from zoo import atomic
from zoo.datasets.pipeline import make_dataset
from zoo.datasets.sentences import load_sentences
from zoo.sentence_vae.sentence_vae import SentenceVAE
from zoo.text_tokenizer import make_tokenizer, read_vocabulary, train_vocabulary
from zoo.training import TaskData
from zoo.vae_training import VOCAB_FILE, VAETask


def sentence_dataset(sentences, tokenizer, batch_size, max_length, shuffle):
    """`({"encoder_inputs", "decoder_inputs"}, labels)` batches of autoencoding pairs."""
    return make_dataset(
        [(s, s) for s in sentences], tokenizer, tokenizer, batch_size, max_length, max_length + 1, shuffle=shuffle
    )


class SentenceVAETask(VAETask):
    """Sentences of the corpus' source side, a WordPiece vocabulary learned
    on them (`vocab.txt`, reused on resume)."""

    name = SentenceVAE.task

    def prepare(self, write_dir, config, training, data, max_train_pairs):
        corpus = load_sentences(data)
        train_sentences = corpus.train[:max_train_pairs] if max_train_pairs else corpus.train
        os.makedirs(write_dir, exist_ok=True)
        vocab_path = os.path.join(write_dir, VOCAB_FILE)
        if os.path.exists(vocab_path):
            vocabulary = read_vocabulary(vocab_path)
        else:
            vocabulary = train_vocabulary(train_sentences, config.vocabulary_size)
            atomic.write_text(vocab_path, "".join(t + "\n" for t in vocabulary))
        config = dataclasses.replace(config, vocabulary_size=len(vocabulary))
        tokenizer = make_tokenizer(vocabulary)

        def dataset(sentences, global_batch, replicas, shuffle):
            return sentence_dataset(sentences, tokenizer, global_batch, config.max_length, shuffle)

        run_info = {
            "task": self.name,
            "corpus": corpus.name,
            "source_lang": corpus.language,
            "train_sentences": len(train_sentences),
        }
        return TaskData(config, train_sentences, corpus.val, dataset, run_info)
