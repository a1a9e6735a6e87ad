"""TensorFlow-free translation with a converted model directory."""

import numpy as np

from ondevice.errors import InputError
from ondevice.litert_model import LiteRTStepModel
from ondevice.manifest import load_manifest
from ondevice.search import beam_search, greedy_search
from ondevice.tokenizer import WordPieceTokenizer


def pad_batch(sequences, pad_id=0):
    """Stack id lists into an int32 (batch, longest) array padded with `pad_id`."""
    length = max(len(s) for s in sequences)
    out = np.full((len(sequences), length), pad_id, np.int32)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


class Translator:
    """Translate text with the `encode`/`decode_step` signatures of an artifact.

    Args:
        artifact_dir: str. A directory written by `zoo convert`.
        num_threads: int or None. Interpreter threads.
        batch_size: int. Sentences decoded together.
    """

    def __init__(self, artifact_dir, num_threads=None, batch_size=32, model=None):
        self.manifest = load_manifest(artifact_dir)
        self.model = model or LiteRTStepModel(self.manifest, num_threads=num_threads)
        self.source_tokenizer = WordPieceTokenizer.from_file(self.manifest.path("source_vocabulary"))
        self.target_tokenizer = WordPieceTokenizer.from_file(self.manifest.path("target_vocabulary"))
        self.batch_size = batch_size
        self.special = self.manifest.special_tokens

    def encode_text(self, text):
        """Source token ids of one sentence; `InputError` if empty or too long."""
        if not text.strip():
            raise InputError("empty input: nothing to translate")
        ids = self.source_tokenizer.tokenize(text)
        if not ids:
            raise InputError(f"input has no translatable characters: {text[:40]!r}")
        limit = self.manifest.max_source_length
        if len(ids) > limit:
            raise InputError(
                f"input is {len(ids)} tokens long; this model accepts at most {limit} "
                "(split it into sentences)"
            )
        return ids

    def translate_ids(self, id_lists, beam_size=1, max_steps=None, length_penalty=1.0):
        """Target token ids for already-tokenized sources (batched, order kept)."""
        max_steps = min(max_steps or self.manifest.max_target_length, self.manifest.max_target_length)
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
                )
            for i, ids in zip(chunk, outputs):
                results[i] = ids
        return results

    def translate(self, sentences, beam_size=1, max_steps=None, length_penalty=1.0):
        """Translate a list of sentences; returns a list of strings."""
        ids = [self.encode_text(s) for s in sentences]
        outputs = self.translate_ids(ids, beam_size, max_steps, length_penalty)
        return [self.target_tokenizer.detokenize(o) for o in outputs]
