"""TensorFlow-free translation with a converted model directory."""

import numpy as np

from ondevice.errors import ArtifactError, InputError
from ondevice.litert_model import LiteRTStepModel
from ondevice.manifest import load_manifest
from ondevice.search import argmax_tokens, decode, generate_tokens
from ondevice.tokenizers import load_tokenizers


def pad_batch(sequences, pad_id=0):
    """Stack id lists into an int32 (batch, longest) array padded with `pad_id`."""
    length = max(len(s) for s in sequences)
    out = np.full((len(sequences), length), pad_id, np.int32)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


_INPUT_WORDS = {"translate": ("translatable", " (split it into sentences)"), "encode": ("known", "")}


def tokenize_input(tokenizer, text, max_length, truncate=False, action="translate"):
    """Token ids of one input sentence, checked (translator and text VAE).

    Args:
        tokenizer: has `tokenize(text) -> list of int`.
        text: str. The sentence.
        max_length: int. Most tokens the model accepts.
        truncate: bool. Cut a longer input to `max_length` instead of refusing it.
        action: str. What the model does with it, `translate` or `encode`
            (worded into the messages).

    Raises:
        InputError: the text is empty, has no characters the tokenizer
            knows or, unless `truncate`, more than `max_length` tokens.
    """
    characters, hint = _INPUT_WORDS[action]
    if not text.strip():
        raise InputError(f"empty input: nothing to {action}")
    ids = tokenizer.tokenize(text)
    if not ids:
        raise InputError(f"input has no {characters} characters: {text[:40]!r}")
    if len(ids) > max_length:
        if truncate:
            return ids[:max_length]
        raise InputError(f"input is {len(ids)} tokens long; this model accepts at most {max_length}{hint}")
    return ids


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
        return tokenize_input(self.source_tokenizer, text, self.max_source_length, truncate)

    def translate_ids(self, id_lists, beam_size=1, max_steps=None, length_penalty=1.0, beam_stop="early"):
        """Target token ids for already-tokenized sources (batched, order kept)."""
        max_steps = min(max_steps or self.max_target_length, self.max_target_length)
        order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
        results = [None] * len(id_lists)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            source = pad_batch([id_lists[i] for i in chunk], self.special["pad"])
            outputs = decode(
                self.model,
                source,
                self.special["start"],
                self.special["end"],
                max_steps,
                pad_id=self.special["pad"],
                beam_size=beam_size,
                length_penalty=length_penalty,
                beam_stop=beam_stop,
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
