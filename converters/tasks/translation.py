"""Conversion task `translation`: seq2seq `encode` + `decode_step`."""

import os
import random

import numpy as np

from converters.verify import check, measure_parity
from ondevice.decoder_state import ArrayDecoderState, time_index
from ondevice.litert_model import LiteRTStepModel
from ondevice.tokenizers import tokenizer_files
from ondevice.translator import pad_batch
from zoo.datasets.parallel_text import load_corpus
from zoo.keras_step_model import KerasStepModel
from zoo.step_model import decode_variants
from zoo.text_tokenizer import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID
from zoo.training import run_tokenizer_spec, run_tokenizers


def source_batches(sentences, tokenizer, max_length, batch_size, fixed_length=False):
    """Padded int32 source batches of real sentences that fit the model.

    `fixed_length` pads every batch to `max_length` (the calibrator sizes
    each signature's tensors once, from its first sample) and adds a few
    samples packed from consecutive sentences up to `max_length` tokens, so
    that every source position is calibrated: an encoder unrolled over a
    fixed length (LSTM) otherwise sees only padding at its last positions
    and gets useless zero-width int8 ranges there.
    """
    ids = [tokenizer.tokenize(s) for s in sentences]
    ids = [i for i in ids if 0 < len(i) <= max_length]
    if fixed_length:
        packed, current = [], []
        for sentence in ids:
            if len(current) + len(sentence) > max_length:
                packed.append(current)
                current = []
            current = current + sentence
        ids = ids + packed[: max(1, len(ids) // 8)]
        ids = [i + [PAD_ID] * (max_length - len(i)) for i in ids]
    return [pad_batch(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]


def greedy_calibration(step_model, inputs_list, max_steps, decode_signatures):
    """Real `(signature_key, inputs)` samples for full-integer calibration.

    The init signature (`encode`, a text VAE's `decode_init`) sees
    `inputs_list`; every `decode_step` variant sees the states met on the
    Keras greedy path from each of them, with its append states (K/V caches)
    cut to its own cache length.

    Args:
        step_model: the Keras step model (`zoo.keras_step_model.KerasStepModel`).
        inputs_list: list of input arrays of the init signature.
        max_steps: int. Most decode steps.
        decode_signatures: list of `(name, cache length or None)`.
    """

    def generator():
        for inputs in inputs_list:
            yield step_model.init_signature, {step_model.init_input: inputs}
            state = ArrayDecoderState(step_model, inputs, max_steps)
            token = np.full((inputs.shape[0],), START_ID, np.int32)
            for step in range(max_steps):
                for name, length in decode_signatures:
                    if length is not None and step >= length:
                        continue
                    feeds = {step_model.token_name: token, step_model.step_name: np.array(step, np.int32)}
                    for t in step_model.decoder_tensors:
                        value = state.tensors[t.name]
                        if t.time_axis is not None:
                            value = value[time_index(t, slice(0, length), value.ndim)]
                        feeds[t.name] = value
                    yield name, feeds
                token = state.step(token).argmax(-1).astype(np.int32)
                if (token == END_ID).all():
                    break

    return generator


class TranslationTask:
    """Seq2seq translators: parity = greedy token agreement with Keras."""

    name = "translation"

    def __init__(self, model, run_dir, run_info, data, num_calibration, num_verify, batch_size):
        self.model, self.run_info, self.batch_size = model, run_info, batch_size
        self.run_dir = run_dir
        self.tokenizer_spec = run_tokenizer_spec(run_dir)
        self.tokenizer, _ = run_tokenizers(run_dir)
        corpus = load_corpus(data or run_info.get("data"))
        self.calibration_pairs = random.Random(0).sample(corpus.train, min(num_calibration, len(corpus.train)))
        self.verify_pairs = (corpus.val or corpus.train)[:num_verify]
        self.max_steps = int(model.max_target_length)
        self.keras_model = KerasStepModel(model)

    def representative_dataset(self):
        batches = source_batches(
            [s for s, _ in self.calibration_pairs], self.tokenizer, self.model.max_source_length, 1, fixed_length=True
        )
        return greedy_calibration(self.keras_model, batches, self.max_steps, decode_variants(self.model))

    def manifest_fields(self):
        return {
            "special_tokens": dict(SPECIAL_TOKENS),
            "max_source_length": int(self.model.max_source_length),
            "max_target_length": int(self.model.max_target_length),
            "languages": {"source": self.run_info.get("source_lang"), "target": self.run_info.get("target_lang")},
            "tokenizer": self._manifest_tokenizer(),
        }

    def _manifest_tokenizer(self):
        """The run's tokenizer description; WordPiece's with the options the
        device tokenizers must use."""
        spec = dict(self.tokenizer_spec)
        if spec["kind"] != "wordpiece":
            return spec
        names = {key: spec[key] for key in ("source_vocabulary", "target_vocabulary")}
        return tokenizer_fields(**names)

    def files(self):
        """The run's tokenizer files, copied byte for byte (one file for both
        sides when the vocabulary is shared)."""
        out = {}
        for name in tokenizer_files(self.tokenizer_spec).values():
            with open(os.path.join(self.run_dir, name), "rb") as f:
                out[name] = f.read()
        return out

    def parity(self, manifest, model_bytes):
        litert_model = LiteRTStepModel(manifest, model_content=model_bytes)
        batches = source_batches(
            [s for s, _ in self.verify_pairs], self.tokenizer, self.model.max_source_length, self.batch_size
        )
        return measure_parity(self.keras_model, litert_model, batches, START_ID, END_ID, self.max_steps)

    def check(self, recipe, parity):
        parity["min_token_agreement"] = recipe.min_token_agreement
        return check(recipe, parity)

    def summary(self, parity):
        return (
            f"token agreement {parity['token_agreement']:.4f}, "
            f"greedy sentence agreement {parity['sentence_agreement']:.4f}, "
            f"max |logit diff| {parity['max_abs_logit_diff']:.2e} on {parity['sentences']} sentences"
        )


def tokenizer_fields(**vocabularies):
    """The manifest's `tokenizer` entry for WordPiece vocabularies."""
    return {
        "kind": "wordpiece",
        **vocabularies,
        "lowercase": False,
        "strip_accents": False,
        "split_on_cjk": True,
        "suffix_indicator": "##",
        "normalization": "NFC",
    }
