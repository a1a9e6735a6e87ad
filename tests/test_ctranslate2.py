"""The Transformer's weights mapped into CTranslate2 decode like Keras."""

import json
import os

import pytest

ctranslate2 = pytest.importorskip("ctranslate2")

from converters.ctranslate2_converter import (  # noqa: E402
    INT8_WEIGHT_BITS,
    MIN_DECISION_AGREEMENT,
    REPORT_FILE,
    CTranslate2Decoder,
    CTranslate2Error,
    convert_ctranslate2,
    quantize_spec,
    transformer_spec,
)
from zoo.datasets.parallel_text import load_corpus  # noqa: E402
from zoo.evaluation import load_translator  # noqa: E402


def test_ctranslate2_greedy_tokens_equal_keras(tiny_run, tmp_path):
    out = tmp_path / "ct2"
    report = convert_ctranslate2(tiny_run, str(out), num_verify=32)
    assert report["greedy_sentence_agreement_with_keras"] == 1.0
    # The mapping is exact: teacher-forced log-probabilities equal Keras's to float32 rounding.
    assert report["teacher_forced_decision_agreement"] == 1.0 and report["teacher_forced_decisions"] > 32
    assert report["teacher_forced_max_logprob_error"] < 1e-4
    assert "int8_weight_bits" not in report
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


@pytest.mark.parametrize("variant", ["transformer_tied", "transformer_shared"])
def test_ctranslate2_maps_tied_and_shared_embeddings(train_tiny, tmp_path, variant):
    """Tied output; one shared table with post-norm, sinusoidal positions and scaled embeddings."""
    out = tmp_path / "ct2"
    report = convert_ctranslate2(train_tiny(variant), str(out), num_verify=32)
    assert report["greedy_sentence_agreement_with_keras"] == 1.0
    assert report["teacher_forced_max_logprob_error"] < 1e-4
    if variant == "transformer_shared":
        assert "shared_vocabulary.json" in os.listdir(out)


def test_ctranslate2_int8_weights_leave_int16_headroom(tiny_run):
    """int8 weights in 7 bits: on CPUs without VNNI the int8 GEMM adds two
    u8 x s8 products in a saturating int16, which 8-bit weights overflow."""
    import numpy as np
    from ctranslate2.specs import model_spec

    from zoo.training import load_run

    model, _, source_vocab, target_vocab = load_run(tiny_run)
    spec = transformer_spec(model, source_vocab, target_vocab)
    floats = {name: np.array(v.numpy()) for name, v in spec.variables().items() if not v.is_scalar()}
    requantized = quantize_spec(spec, "int8")
    limit = 2 ** (INT8_WEIGHT_BITS - 1) - 1
    int8 = {}

    def collect(layer, name, value):
        key = name.split("/")[-1]
        if isinstance(value, model_spec.Variable) and value.dtype == "int8" and hasattr(layer, f"{key}_scale"):
            int8[name] = (value.numpy(), getattr(layer, f"{key}_scale").numpy())

    model_spec.visit_spec(spec, collect)
    assert 2 * 255 * limit <= np.iinfo(np.int16).max  # u8 activation x weight, two products summed
    assert int8 and sorted(int8) == sorted(requantized)
    for name, (weight, scale) in int8.items():
        assert np.abs(weight.astype(np.int32)).max() == limit, name  # each row's largest weight maps to +-limit
        original = floats[name].reshape(weight.shape[0], -1)
        error = np.abs(weight.reshape(weight.shape[0], -1) / scale[:, None] - original).max(axis=1)
        assert (error <= (0.5 + 1e-4) / scale).all(), name  # rounding only


def test_ctranslate2_int8_decodes_like_keras(tiny_run, tmp_path):
    """int8 CTranslate2 stays close to Keras: its flipped decisions are
    near-ties (with 8-bit weights on an AVX2 CPU the int16 saturation put
    log-probabilities 0.76 nats off and flipped 10 % of the decisions)."""
    report = convert_ctranslate2(tiny_run, str(tmp_path / "ct2"), quantization="int8", num_verify=32)
    assert report["int8_weight_bits"] == INT8_WEIGHT_BITS
    assert report["teacher_forced_agreement_with_ties"] >= MIN_DECISION_AGREEMENT
    assert report["teacher_forced_max_logprob_error"] < 0.25  # quantization noise (about 0.03), no saturation
    assert 0 <= report["greedy_sentence_agreement_with_keras"] <= 1  # reported, not required


def test_ctranslate2_check_catches_a_wrong_mapping(tiny_run, tmp_path, monkeypatch):
    """The teacher-forced check rejects a mapping that is wrong, also for
    quantized weights (where greedy sentences are not required)."""
    import converters.ctranslate2_converter as ct2

    embeddings = ct2._embeddings

    def scaled_embeddings(side_spec, embedding_spec, model, side):  # CTranslate2 multiplies by sqrt(hidden)
        embeddings(side_spec, embedding_spec, model, side)
        side_spec.scale_embeddings = True

    monkeypatch.setattr(ct2, "_embeddings", scaled_embeddings)
    with pytest.raises(CTranslate2Error, match="wrong mapping or kernel"):
        convert_ctranslate2(tiny_run, str(tmp_path / "ct2"), quantization="int8", num_verify=16)
    assert not (tmp_path / "ct2").exists()
