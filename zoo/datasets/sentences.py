"""Monolingual sentences for the sentence VAE: the source side of a corpus.

`load_sentences(spec)` takes any `--data` spec of
`zoo.datasets.parallel_text.load_corpus` and keeps its source side (English
for the bundled Tatoeba data and for `multi30k:en-de`). Duplicate training
sentences are dropped (Tatoeba repeats an English sentence for each of its
translations).
"""

import dataclasses

from zoo.datasets.parallel_text import load_corpus


@dataclasses.dataclass
class SentenceCorpus:
    """Sentences split into train/val/test; `language` and `name` for logs."""

    train: list
    val: list
    test: list
    language: str
    name: str

    def split(self, name):
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}; use train, val or test")
        return getattr(self, name)


def load_sentences(spec=None):
    """The source-side sentences of corpus `spec` (see module docstring)."""
    corpus = load_corpus(spec)
    train = list(dict.fromkeys(s for s, _ in corpus.train))
    return SentenceCorpus(
        train, [s for s, _ in corpus.val], [s for s, _ in corpus.test], corpus.source_lang, corpus.name + ":source"
    )
