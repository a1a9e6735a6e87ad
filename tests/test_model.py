"""The Transformer model: config, serialization, step decoding, fit."""

import dataclasses

import numpy as np
import pytest

from tests.encoder_decoder_test_case import run_config_round_trip, run_saving_test, run_step_decoding_test
from zoo.transformer import PRESETS, TransformerTranslator, build_model, config_from_dict, get_preset


# Architecture options beside the default (untied, pre-norm, learned positions).
VARIANTS = {
    "untied": {},
    "tied": {"tie_embeddings": True},
    # fairseq's transformer / Marian: one vocabulary and token table, post-norm,
    # sinusoidal positions, scaled embeddings.
    "shared_postnorm_sinusoidal": {
        "shared_vocabulary": True, "normalize_first": False, "positions": "sinusoidal",
        "scale_embeddings": True, "activation": "swish",
    },
    "learned_positions_scaled": {"shared_vocabulary": True, "scale_embeddings": True},
    # An imported Marian model: the above plus a logits bias.
    "marian": {
        "shared_vocabulary": True, "normalize_first": False, "positions": "sinusoidal",
        "scale_embeddings": True, "activation": "silu", "logits_bias": True,
    },
}


def small_model(tie_embeddings=False, **options):
    source_vocabulary = 60 if options.get("shared_vocabulary") else 50
    model = TransformerTranslator(
        source_vocabulary, 60, hidden_dim=32, intermediate_dim=64, num_heads=2, num_encoder_layers=2,
        num_decoder_layers=2, dropout=0.0, max_source_length=10, max_target_length=8,
        tie_embeddings=tie_embeddings, **options,
    )
    if model.logits_bias:  # not the zeros it starts with, so that a lost bias shows
        model.output_bias.assign(np.random.default_rng(0).normal(0, 1, (60,)).astype("float32"))
    return model


SOURCE = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 12, 13, 14]], np.int32)
TARGET = np.array([[2, 20, 21, 22, 23], [2, 30, 31, 32, 33]], np.int32)


def test_presets_and_config_round_trip():
    assert {"tiny", "mini", "small", "base"} <= set(PRESETS)
    small = get_preset("small").model
    assert small.num_encoder_layers == 4 and small.num_decoder_layers == 4 and 128 <= small.hidden_dim <= 256
    assert config_from_dict(dataclasses.asdict(small)) == small
    model = build_model(get_preset("tiny").model)
    clone = TransformerTranslator.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    tied = small_model(tie_embeddings=True)
    tied({"encoder_inputs": SOURCE, "decoder_inputs": TARGET})
    untied = small_model()
    untied({"encoder_inputs": SOURCE, "decoder_inputs": TARGET})
    assert tied.count_params() == untied.count_params() - (32 * 60 + 60)  # no output Dense


@pytest.mark.parametrize("variant", VARIANTS)
def test_keras_save_load_round_trip(tmp_path, variant):
    model = small_model(**VARIANTS[variant])
    run_config_round_trip(model)
    run_saving_test(model, tmp_path, SOURCE, TARGET)


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_decoding_with_kv_cache_matches_teacher_forcing(variant):
    """The device-shaped `decode_step` (new K/V rows only, appended by the
    caller) gives the teacher-forced logits at every position, whatever the
    cache length it attends over."""
    model = small_model(**VARIANTS[variant])
    assert {t.update for t in model.decoder_tensor_specs() if t.role == "state"} == {"append"}
    run_step_decoding_test(model, SOURCE, TARGET)


def test_tiny_fit_learns(tiny_run):
    import csv
    import pathlib

    with open(f"{tiny_run}/history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert float(rows[-1]["masked_accuracy"]) > float(rows[0]["masked_accuracy"])
    for name in ("model.keras", "source_vocab.txt", "target_vocab.txt", "run.json", "training_curves.png"):
        assert (pathlib.Path(tiny_run) / name).exists(), name
    with open(f"{tiny_run}/training_curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_shared_vocabulary_has_one_token_table():
    model = small_model(**VARIANTS["shared_postnorm_sinusoidal"])
    model({"encoder_inputs": SOURCE, "decoder_inputs": TARGET})
    assert model.token_embedding("source") is model.token_embedding("target")
    names = [w.path for w in model.weights]
    assert sum("embedding" in n for n in names) == 1  # no position table, no output Dense
    assert not any("norm" in n and n.startswith(("encoder_norm", "decoder_norm")) for n in names)
    with pytest.raises(ValueError, match="equal source and target"):
        TransformerTranslator(50, 60, shared_vocabulary=True)


def test_sinusoidal_positions_layout():
    from zoo.transformer.transformer_translator import sinusoidal_positions

    table = sinusoidal_positions(5, 8)
    np.testing.assert_allclose(table[0], [0, 0, 0, 0, 1, 1, 1, 1])
    # Channel i (< half) is sin(p / 10000^(2i/dim)); channel half + i its cosine.
    np.testing.assert_allclose(table[3, 1], np.sin(3 / 10000 ** (2 / 8)), rtol=1e-6)
    np.testing.assert_allclose(table[3, 5], np.cos(3 / 10000 ** (2 / 8)), rtol=1e-6)


def test_attention_dropout_is_separate_from_dropout(tmp_path):
    # fairseq's transformer_tiny and Marian drop attention probabilities at their own rate
    # (0 there); keras-hub's blocks use `dropout` for both unless `attention_dropout` is set.
    from zoo.cli import config_overrides

    inputs = {"encoder_inputs": SOURCE, "decoder_inputs": TARGET}

    def training_outputs_vary(model):
        model(inputs)
        return not np.allclose(np.asarray(model(inputs, training=True)), np.asarray(model(inputs, training=True)))

    assert not training_outputs_vary(small_model())  # dropout 0 everywhere: deterministic
    only_attention = small_model(attention_dropout=0.5)
    assert training_outputs_vary(only_attention)  # the attention layers drop, nothing else does
    loaded = run_saving_test(only_attention, tmp_path, SOURCE, TARGET)
    assert loaded.attention_dropout == 0.5 and training_outputs_vary(loaded)
    run_config_round_trip(only_attention)
    none_in_attention = TransformerTranslator(
        60, 60, hidden_dim=32, intermediate_dim=64, num_heads=2, num_encoder_layers=1, num_decoder_layers=1,
        dropout=0.3, attention_dropout=0.0, max_source_length=10, max_target_length=8,
    )
    none_in_attention(inputs)
    attentions = [none_in_attention.encoder_layers[0]._self_attention_layer,
                  none_in_attention.decoder_layers[0]._self_attention_layer,
                  none_in_attention.decoder_layers[0]._cross_attention_layer]
    assert [a.dropout for a in attentions] == [0.0, 0.0, 0.0]
    assert none_in_attention.decoder_layers[0]._feedforward_dropout.rate == 0.3
    assert get_preset("multi30k").model.attention_dropout == 0.0  # fairseq's; +0.58 val BLEU on Multi30k
    assert config_overrides("transformer", "small", ["attention_dropout=0.1"]) == {"attention_dropout": 0.1}
    assert config_overrides("transformer", "multi30k", ["attention_dropout=0"]) == {"attention_dropout": 0.0}
    assert config_overrides("transformer", "multi30k", ["attention_dropout=none"]) == {"attention_dropout": None}
