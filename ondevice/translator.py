"""TensorFlow-free translation with a converted model directory."""

import numpy as np

from ondevice.errors import ArtifactError, InputError
from ondevice.litert_model import LiteRTStepModel
from ondevice.manifest import load_manifest
from ondevice.search import argmax_tokens, beam_search, generate_tokens, greedy_search
from ondevice.tokenizers import load_tokenizers


def pad_batch(sequences, pad_id=0):
    """Stack id lists into an int32 (batch, longest) array padded with `pad_id`."""
    length = max(len(s) for s in sequences)
    out = np.full((len(sequences), length), pad_id, np.int32)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


class Translator:
    """Translate text with an encoder-decoder step model.

    Use `Translator.from_artifact(dir)` for a converted model directory; the
    constructor takes the parts, so the Keras model can be decoded the same
    way (see `zoo.evaluation`).

    Args:
        model: a step model (`ondevice.search`), e.g. `LiteRTStepModel`.
        source_tokenizer: tokenizer of the source language (`ondevice.tokenizers`).
        target_tokenizer: tokenizer of the target language.
        special_tokens: dict with `pad`, `start`, `end` ids.
        max_source_length: int. Longest accepted source (tokens).
        max_target_length: int. Most decode steps.
        batch_size: int. Sentences decoded together.
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        special_tokens,
        max_source_length,
        max_target_length,
        batch_size=32,
    ):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.special = special_tokens
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.batch_size = batch_size

    @classmethod
    def from_artifact(cls, artifact_dir, num_threads=None, batch_size=32):
        """A `Translator` over a directory written by `zoo convert`."""
        manifest = load_manifest(artifact_dir)
        task = manifest.data.get("task", "translation")
        if task != "translation":
            raise ArtifactError(
                f"{artifact_dir}: a {manifest.family!r} model for task {task!r}; translation needs a 'translation' model"
            )
        model = LiteRTStepModel(manifest, num_threads=num_threads)
        source, target = load_tokenizers(manifest.data["tokenizer"], manifest.directory, manifest.special_tokens)
        logits = model.logits_size
        if logits is not None and logits != target.vocabulary_size:
            raise ArtifactError(
                f"{manifest.path('target_vocabulary')} has {target.vocabulary_size} tokens but the model's logits "
                f"have {logits}; the vocabulary does not belong to this model"
            )
        return cls(
            model,
            source,
            target,
            manifest.special_tokens,
            manifest.max_source_length,
            manifest.max_target_length,
            batch_size=batch_size,
        )

    def encode_text(self, text, truncate=False):
        """Source token ids of one sentence.

        Raises `InputError` if the text is empty or, unless `truncate`, has
        more tokens than the model accepts.
        """
        if not text.strip():
            raise InputError("empty input: nothing to translate")
        ids = self.source_tokenizer.tokenize(text)
        if not ids:
            raise InputError(f"input has no translatable characters: {text[:40]!r}")
        if len(ids) > self.max_source_length:
            if truncate:
                return ids[: self.max_source_length]
            raise InputError(
                f"input is {len(ids)} tokens long; this model accepts at most {self.max_source_length} "
                "(split it into sentences)"
            )
        return ids

    def translate_ids(self, id_lists, beam_size=1, max_steps=None, length_penalty=1.0, beam_stop="early"):
        """Target token ids for already-tokenized sources (batched, order kept)."""
        max_steps = min(max_steps or self.max_target_length, self.max_target_length)
        order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
        results = [None] * len(id_lists)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            source = pad_batch([id_lists[i] for i in chunk], self.special["pad"])
            if beam_size <= 1:
                outputs = greedy_search(
                    self.model, source, self.special["start"], self.special["end"], max_steps, self.special["pad"]
                )
            else:
                outputs = beam_search(
                    self.model,
                    source,
                    self.special["start"],
                    self.special["end"],
                    max_steps,
                    beam_size=beam_size,
                    length_penalty=length_penalty,
                    stop=beam_stop,
                    pad_id=self.special["pad"],
                )
            for i, ids in zip(chunk, outputs):
                results[i] = ids
        return results

    def translate(self, sentences, beam_size=1, max_steps=None, length_penalty=1.0, truncate=False, beam_stop="early"):
        """Translate a list of sentences; returns a list of strings."""
        ids = [self.encode_text(s, truncate) for s in sentences]
        outputs = self.translate_ids(ids, beam_size, max_steps, length_penalty, beam_stop)
        return [self.target_tokenizer.detokenize(o) for o in outputs]

    def translate_stream(self, text, max_steps=None, truncate=False):
        """Translate one sentence greedily, yielding the translation as it grows.

        Each item is the detokenized text of all tokens so far (a new token
        can change how earlier pieces join, e.g. a `##` suffix). The last
        item is the full translation, equal to `translate([text])[0]`.
        Nothing is yielded for an empty translation.
        """
        source = pad_batch([self.encode_text(text, truncate)], self.special["pad"])
        max_steps = min(max_steps or self.max_target_length, self.max_target_length)
        tokens = []
        steps = generate_tokens(
            self.model, source, self.special["start"], self.special["end"], max_steps, argmax_tokens, self.special["pad"]
        )
        for _, new in steps:
            if len(new):  # nothing new on the step that ends the sentence
                tokens.extend(int(t) for t in new)
                yield self.target_tokenizer.detokenize(tokens)
