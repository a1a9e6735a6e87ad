"""Training recipe features: schedules, token batches, checkpoint averaging, shared vocabularies."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zoo.datasets.parallel_text import load_corpus


def test_inverse_square_root_schedule():
    from zoo.inverse_square_root_decay import InverseSquareRootDecay

    schedule = InverseSquareRootDecay(5e-3, warmup_steps=100)
    rate = lambda step: float(schedule(step))  # noqa: E731 (`step` counts from 0 in Keras)
    assert rate(0) == pytest.approx(5e-5)  # linear warmup from step 1 ...
    assert rate(49) == pytest.approx(2.5e-3)
    assert rate(99) == pytest.approx(5e-3)  # ... to the peak ...
    assert rate(399) == pytest.approx(2.5e-3)  # ... then peak * sqrt(warmup / step)
    assert InverseSquareRootDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_training_config_is_checked():
    from zoo.transformer import get_preset

    with pytest.raises(ValueError, match="unknown schedule"):
        get_preset("tiny", schedule="linear")
    with pytest.raises(ValueError, match="keep_checkpoints"):
        get_preset("tiny", average_last=5, keep_checkpoints=2)
    with pytest.raises(ValueError, match="unknown positions"):
        get_preset("tiny", positions="rotary")


def _tokenizers(pairs):
    from zoo.text_tokenizer import make_tokenizer, train_vocabulary

    vocabulary = train_vocabulary([s for s, _ in pairs] + [t for _, t in pairs], 400)
    return make_tokenizer(vocabulary), make_tokenizer(vocabulary)


def test_token_batches_and_bucket_padding():
    from zoo.datasets.pipeline import make_dataset

    pairs = load_corpus(None).train[:800]
    source, target = _tokenizers(pairs)
    ds = make_dataset(pairs, source, target, batch_size=1, max_source_length=24, max_target_length=24, batch_tokens=256)
    sizes = {}
    for inputs, _ in ds:
        width = max(inputs["encoder_inputs"].shape[1], inputs["decoder_inputs"].shape[1])
        assert inputs["encoder_inputs"].shape[0] * width <= 256 + 8 * inputs["encoder_inputs"].shape[0]
        sizes.setdefault(width, set()).add(inputs["encoder_inputs"].shape[0])
    assert max(max(s) for s in sizes.values()) >= 256 // 16  # short buckets hold many sentences
    # Padded to the bucket bounds: every batch is 8, 16 or 24 wide (a few shapes for XLA).
    padded = make_dataset(pairs, source, target, 32, 24, 24, batch_tokens=256, pad_to_bucket=True)
    shapes = {(x["encoder_inputs"].shape[1], x["decoder_inputs"].shape[1]) for x, _ in padded}
    assert shapes <= {(8, 8), (16, 16), (24, 24)} and len(shapes) >= 2


def test_rdrop_pairs_and_consistency_term(tmp_path):
    """R-Drop: `duplicate` repeats each example in the next row; the loss adds
    alpha/2 x the symmetric KL of each pair per token, 0 for equal rows."""
    from zoo.datasets.pipeline import make_dataset
    from zoo.losses import MaskedSequenceLoss

    pairs = load_corpus(None).train[:200]
    source, target = _tokenizers(pairs)
    plain = list(make_dataset(pairs, source, target, 16, 24, 24, shuffle=False))
    doubled = list(make_dataset(pairs, source, target, 16, 24, 24, shuffle=False, duplicate=True))
    assert len(plain) == len(doubled)
    for (x, y), (x2, y2) in zip(plain, doubled):
        for a, b in ((x["encoder_inputs"], x2["encoder_inputs"]), (x["decoder_inputs"], x2["decoder_inputs"]), (y, y2)):
            np.testing.assert_array_equal(np.repeat(a.numpy(), 2, axis=0), b.numpy())

    rng = np.random.default_rng(0)
    labels = np.array([[5, 3, 2, 0], [5, 3, 2, 0], [4, 2, 0, 0], [4, 2, 0, 0]], np.int32)  # two pairs, padded
    logits = rng.normal(size=(4, 4, 7)).astype(np.float32)
    plain_loss = MaskedSequenceLoss(label_smoothing=0.1)
    rdrop = MaskedSequenceLoss(label_smoothing=0.1, rdrop_alpha=5.0)
    same = np.repeat(logits[::2], 2, axis=0)  # no dropout: both rows of a pair agree
    assert float(rdrop(labels, same)) == pytest.approx(float(plain_loss(labels, same)), rel=1e-6)

    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    kl = 0.5 * ((np.exp(log_p[0::2]) - np.exp(log_p[1::2])) * (log_p[0::2] - log_p[1::2])).sum(-1)  # (pairs, time)
    mask = labels[0::2] != 0
    expected = float(plain_loss(labels, logits)) + 2.5 * kl[mask].sum() / mask.sum()  # alpha / 2 x KL per token
    assert float(rdrop(labels, logits)) == pytest.approx(expected, rel=1e-5)
    assert MaskedSequenceLoss.from_config(rdrop.get_config()).rdrop_alpha == 5.0

    from zoo.training import train

    run_dir = tmp_path / "rdrop"
    train("transformer", str(run_dir), preset="tiny", epochs=1, overrides={"rdrop_alpha": 5.0}, max_train_pairs=300, verbose=0)
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "nan" not in history[1]
    with pytest.raises(ValueError, match="rdrop_alpha"):
        from zoo.transformer import get_preset

        get_preset("tiny", rdrop_alpha=-1.0)


def test_epoch_checkpoints_and_average(tmp_path):
    import keras

    from zoo.checkpoint_averaging import EpochCheckpoints, average_weights, epoch_checkpoints

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    callback = EpochCheckpoints(str(tmp_path), keep=2)
    callback.set_model(model)
    saved = []
    for epoch in range(3):
        model.layers[0].kernel.assign(np.full((3, 2), epoch, np.float32))
        callback.on_epoch_end(epoch)
        saved.append(epoch)
    found = epoch_checkpoints(str(tmp_path))
    assert [e for e, _ in found] == [2, 3]  # epochs count from 1; the oldest was removed
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]
    average_weights(model, [p for _, p in found])
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), np.full((3, 2), 1.5))  # mean of 1 and 2


def _zoo(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")  # the CLI must filter the notices itself
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, timeout=600, env=env)


def test_shared_vocabulary_run_averages_and_translates_quietly(train_tiny, convert_tiny, tmp_path):
    """A run with one vocabulary, averaged by training; `zoo average` on a
    plain run; an artifact translates with no LiteRT notice on stderr."""
    import shutil

    shared = train_tiny("transformer_shared")
    assert sorted(n for n in os.listdir(shared) if n.endswith(".txt")) == ["vocabulary.txt"]
    assert json.loads(open(os.path.join(shared, "run.json")).read())["averaged_epochs"] == [1, 2]  # average_last=2
    assert [n for n in sorted(os.listdir(os.path.join(shared, "checkpoints"))) if n.startswith("epoch")] == [
        "epoch_0001.weights.h5", "epoch_0002.weights.h5"
    ]

    run_dir = tmp_path / "run"
    shutil.copytree(train_tiny("transformer"), run_dir)
    result = _zoo("average", str(run_dir), "--last", "2")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    for noise in ("cudart_stub", "absl::InitializeLog", "cpu_feature_guard", "oneDNN custom operations"):
        assert noise not in result.stderr.decode()
    assert json.loads((run_dir / "run.json").read_text())["averaged_epochs"] == [1, 2]
    assert (run_dir / "checkpoints" / "unaveraged.keras").exists()  # the model it replaced
    from zoo.training import average_run

    with pytest.raises(ValueError, match="fewer than the 5"):  # `zoo average` prints it as a one-line error
        average_run(str(run_dir), 5)

    result = _zoo("translate", convert_tiny("float32", "transformer_shared"), "I am hungry.", "Where is the cat?")
    assert result.returncode == 0 and len(result.stdout.decode().splitlines()) == 2
    assert "INFO:" not in result.stderr.decode()  # LiteRT's delegate notice is filtered


def test_native_stderr_filter_keeps_other_lines(capfd):
    import re

    from ondevice.native_logs import filtered_stderr

    with filtered_stderr(re.compile(r"^INFO: ")):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nERROR: a real problem\n")
    assert capfd.readouterr().err == "ERROR: a real problem\n"


def test_model_card_ships_a_verified_artifact(tiny_run, convert_tiny, tmp_path):
    from bench.model_card import ship
    from ondevice.manifest import load_manifest

    artifacts = {"float32": convert_tiny("float32"), "dynamic_int8": convert_tiny("dynamic_int8")}
    out = tmp_path / "models" / "tiny_en_es"
    rows = ship(tiny_run, artifacts, "dynamic_int8", str(out), "Tiny En→Es", "Tatoeba, CC BY 2.0.", max_sentences=8, beam=2)
    assert set(rows) == {"keras", "float32", "dynamic_int8"}
    assert load_manifest(str(out)).data["quantization"]["recipe"] == "dynamic_int8"
    card = (out / "README.md").read_text()
    assert "Tatoeba, CC BY 2.0." in card and "dynamic_int8 (this file)" in card and "| beam 2 |" in card
    assert json.loads((out / "card.json").read_text())["test"]["float32"]["sentences"] == 8
    with pytest.raises(ValueError, match="not one of the --artifacts"):
        ship(tiny_run, artifacts, "int8", str(out), "x", "y", max_sentences=2)
    assert (out / "README.md").exists()  # the shipped model is untouched by the failed call
