"""The LSTM seq2seq family: config, serialization, step decoding, fit."""

import dataclasses

import numpy as np
import pytest

from tests.encoder_decoder_test_case import run_config_round_trip, run_saving_test, run_step_decoding_test
from zoo.lstm import ATTENTION_TYPES, PRESETS, LSTMTranslator, build_model, config_from_dict, get_preset

SOURCE = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 12, 13, 14], [15, 16, 0, 0, 0, 0]], np.int32)
TARGET = np.array([[2, 20, 21, 22, 23], [2, 30, 31, 32, 33], [2, 40, 41, 3, 0]], np.int32)


def small_model(attention="luong_general", input_feeding=True, shared_vocabulary=False):
    return LSTMTranslator(
        60 if shared_vocabulary else 50, 60, shared_vocabulary=shared_vocabulary, embedding_dim=16, encoder_units=16, decoder_units=32, num_encoder_layers=2,
        num_decoder_layers=2, attention=attention, input_feeding=input_feeding, dropout=0.0,
        max_source_length=10, max_target_length=8,
    )


def test_presets_and_config_round_trip():
    assert {"tiny", "small"} <= set(PRESETS)
    small = get_preset("small").model
    assert small.num_encoder_layers == 2 and small.input_feeding
    assert config_from_dict(dataclasses.asdict(small)) == small
    for attention in ATTENTION_TYPES:
        model = build_model(get_preset("tiny", attention=attention).model)
        clone = LSTMTranslator.from_config(model.get_config())
        assert clone.get_config() == model.get_config()
    with pytest.raises(ValueError, match="unknown attention"):
        get_preset("tiny", attention="cosine")
    with pytest.raises(ValueError, match="luong_dot"):  # dot scores need equal widths
        LSTMTranslator(50, 60, encoder_units=16, decoder_units=24, attention="luong_dot")

@pytest.mark.parametrize("shared_vocabulary", [False, True])
def test_keras_save_load_round_trip(tmp_path, shared_vocabulary):
    model = small_model("bahdanau", shared_vocabulary=shared_vocabulary)
    run_config_round_trip(model)
    run_saving_test(model, tmp_path, SOURCE, TARGET)


@pytest.mark.parametrize(
    "attention,input_feeding,shared_vocabulary",
    [("luong_general", True, False), ("luong_dot", True, False), ("bahdanau", False, False), ("bahdanau", True, False),
     ("luong_general", True, True)],
)
def test_step_decoding_matches_teacher_forcing(attention, input_feeding, shared_vocabulary):
    model = small_model(attention, input_feeding, shared_vocabulary)
    if shared_vocabulary:  # one table for source, target and output
        assert model.get_config()["shared_vocabulary"]
        assert not hasattr(model, "source_embedding") and not hasattr(model, "target_embedding")
    rng = np.random.default_rng(0)
    for weight in model.weights:  # larger weights than the initializers: differences show
        weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    assert ("attention_vector" in {t.name for t in model.decoder_tensor_specs()}) == input_feeding
    run_step_decoding_test(model, SOURCE, TARGET, capacities=(None,))


def test_unrolled_device_encoder_equals_keras_lstm_layers():
    model = small_model()
    mask = SOURCE != 0
    x = model.source_embedding(SOURCE)
    for layer in model.encoder_layers:
        x = layer(x, mask=mask)
    memory = model.encode(SOURCE)["memory_values"].numpy()
    assert memory.shape == (3, 10, 32)  # padded to max_source_length
    for row, valid in enumerate(mask):
        np.testing.assert_allclose(memory[row, : valid.sum()], x.numpy()[row, : valid.sum()], atol=1e-5)


def test_tiny_fit_learns(train_tiny):
    import csv

    run_dir = train_tiny("lstm")
    with open(f"{run_dir}/history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert float(rows[-1]["masked_accuracy"]) > float(rows[0]["masked_accuracy"])
