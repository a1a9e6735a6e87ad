"""The Transformer's weights mapped into CTranslate2 decode like Keras."""

import json
import os

import pytest

ctranslate2 = pytest.importorskip("ctranslate2")

from converters.ctranslate2_converter import (  # noqa: E402
    REPORT_FILE,
    CTranslate2Decoder,
    CTranslate2Error,
    convert_ctranslate2,
)
from zoo.datasets.parallel_text import load_corpus  # noqa: E402
from zoo.evaluation import load_translator  # noqa: E402


def test_ctranslate2_greedy_tokens_equal_keras(tiny_run, tmp_path):
    out = tmp_path / "ct2"
    report = convert_ctranslate2(tiny_run, str(out), num_verify=32)
    assert report["greedy_sentence_agreement_with_keras"] == 1.0
    with open(out / REPORT_FILE, encoding="utf-8") as f:
        assert json.load(f)["verify_sentences"] == 32
    assert {"model.bin", "config.json"} <= set(os.listdir(out))

    # Sentences the conversion did not check: test split, greedy and beam.
    keras, _ = load_translator(tiny_run)
    sources = [s for s, _ in load_corpus(None).split("test")[:24]]
    ids = [keras.encode_text(s, truncate=True) for s in sources]
    decoder = CTranslate2Decoder(str(out), compute_type="float32", threads=1, max_decoding_length=keras.max_target_length)
    assert decoder.translate_ids(ids) == keras.translate_ids(ids)
    beam_ct2, beam_keras = decoder.translate_ids(ids, beam_size=4), keras.translate_ids(ids, beam_size=4)
    assert sum(a == b for a, b in zip(beam_ct2, beam_keras)) >= 0.75 * len(ids)  # beam finishing rules differ slightly


def test_ctranslate2_refuses_models_it_cannot_map(train_tiny, tmp_path):
    with pytest.raises(CTranslate2Error, match="not a keras-hub Transformer"):
        convert_ctranslate2(train_tiny("lstm"), str(tmp_path / "ct2"))
    assert not (tmp_path / "ct2").exists()


def test_ctranslate2_maps_tied_output_embedding(train_tiny, tmp_path):
    report = convert_ctranslate2(train_tiny("transformer_tied"), str(tmp_path / "ct2"), num_verify=32)
    assert report["greedy_sentence_agreement_with_keras"] == 1.0
