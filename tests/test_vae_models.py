"""The VAE families: configs, serialization, step decoding, KL schedules, data, fit."""

import csv
import dataclasses
import json
import pathlib

import keras
import numpy as np
import pytest

from tests.encoder_decoder_test_case import run_config_round_trip, run_saving_test
from zoo import image_vae, sentence_vae
from zoo.datasets.images import load_images
from zoo.vae_losses import free_bits_kl, gaussian_kl, kl_weight

SOURCE = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 12, 13, 14]], np.int32)
DECODER = np.array([[2, 5, 6, 7, 8, 0, 0], [2, 9, 10, 11, 12, 13, 14]], np.int32)
INPUTS = {"encoder_inputs": SOURCE, "decoder_inputs": DECODER}


def small_sentence_vae():
    return sentence_vae.build_model(sentence_vae.get_preset("tiny", vocabulary_size=50, max_length=10).model)


@pytest.mark.parametrize("family", [sentence_vae, image_vae])
def test_presets_and_config_round_trip(family):
    assert {"tiny", "small", "base"} <= set(family.PRESETS)
    small = family.get_preset("small").model
    assert family.config_from_dict(json.loads(json.dumps(dataclasses.asdict(small)))) == small
    run_config_round_trip(family.build_model(family.get_preset("tiny").model))
    with pytest.raises(ValueError, match="KL schedule"):
        family.get_preset("tiny", kl_schedule="exponential")


def test_sentence_vae_save_load_round_trip(tmp_path):
    run_saving_test(small_sentence_vae(), tmp_path, SOURCE, DECODER, atol=1e-5)


def test_image_vae_save_load_round_trip(tmp_path):
    images = load_images().val[:4]
    loaded = run_saving_test(image_vae.build_model(image_vae.get_preset("tiny").model), tmp_path, images)
    z = loaded.encode(images)["z_mean"]
    assert z.shape == (4, 4) and loaded.decode(z)["image"].shape == (4, 8, 8, 1)


def test_sentence_vae_step_decoding_matches_teacher_forcing():
    model = small_sentence_vae()
    full = model(INPUTS).numpy()  # decoded from z_mean
    tensors = model.decode_init(model.encode(SOURCE)["z_mean"])
    specs = {t.name: t for t in model.decoder_tensor_specs()}
    assert set(tensors) == set(specs)
    for step in range(DECODER.shape[1]):
        out = model.decode_step(DECODER[:, step], step, **tensors)
        logits = out.pop("logits").numpy()
        assert set(out) == {n for n, t in specs.items() if t.role == "state"}
        tensors.update(out)
        np.testing.assert_allclose(logits, full[:, step], atol=1e-4)
    # Padding does not move the posterior (masked encoder and pooling).
    padded = np.pad(SOURCE, ((0, 0), (0, 3)))
    np.testing.assert_allclose(model.encode(padded)["z_mean"], model.encode(SOURCE)["z_mean"], atol=1e-5)


def test_kl_schedules_and_free_bits():
    def beta(step, schedule, **kw):
        return float(kl_weight(step, schedule, **kw))

    assert beta(0, "constant") == 1.0
    assert [beta(s, "linear", anneal_steps=100) for s in (0, 50, 100, 500)] == [0.0, 0.5, 1.0, 1.0]
    assert beta(0, "sigmoid", anneal_steps=100) < 0.01 and beta(50, "sigmoid", anneal_steps=100) == 0.5
    assert beta(100, "sigmoid", anneal_steps=100) > 0.99
    cyc = [beta(s, "cyclical", anneal_steps=100, cycles=2) for s in (0, 25, 50, 99, 100, 125, 250)]
    assert cyc == [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0]
    z_mean = np.array([[0.0, 1.0], [0.0, -1.0]], np.float32)
    z_log_var = np.zeros((2, 2), np.float32)
    kl = gaussian_kl(z_mean, z_log_var).numpy()
    np.testing.assert_allclose(kl, [[0.0, 0.5], [0.0, 0.5]])
    assert float(free_bits_kl(kl, 0.0)) == pytest.approx(0.5)
    assert float(free_bits_kl(kl, 0.2)) == pytest.approx(0.2 + 0.5)  # the collapsed dimension counts 0.2


def test_image_loaders(tmp_path):
    digits = load_images()
    assert digits.image_shape == (8, 8, 1)
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797
    assert digits.train.dtype == np.float32 and digits.train.min() == 0.0 and digits.train.max() == 1.0
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))
    data = load_images(str(path))
    assert data.image_shape == (28, 28, 1) and len(data.test) == 10 and len(data.train) + len(data.val) == 50
    assert 0.0 <= data.train.min() and data.train.max() <= 1.0
    with pytest.raises(ValueError, match="no such file"):
        load_images(str(tmp_path / "missing.npz"))


def _history(run_dir):
    with open(pathlib.Path(run_dir) / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("run", ["tiny_sentence_vae_run", "tiny_image_vae_run"])
def test_tiny_fit_reports_elbo_and_writes_a_run(run, request):
    run_dir = pathlib.Path(request.getfixturevalue(run))
    rows = _history(run_dir)
    assert len(rows) == 2
    for key in ("loss", "reconstruction", "kl", "elbo", "beta", "val_loss", "val_kl", "val_elbo"):
        assert key in rows[0], key
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    for row in rows:  # -ELBO = reconstruction + KL on validation
        assert float(row["val_loss"]) == pytest.approx(float(row["val_reconstruction"]) + float(row["val_kl"]), rel=1e-4)
        assert float(row["val_elbo"]) == pytest.approx(-float(row["val_loss"]), rel=1e-4)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done" and info["task"] in ("text_vae", "image_vae")
    for name in ("model.keras", "run.json", "training_curves.png", "checkpoints/best.keras"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "vocab.txt").exists() == (info["task"] == "text_vae")
    from zoo.training import load_run

    model, _, source_vocab, target_vocab = load_run(str(run_dir))
    assert model.task == info["task"] and source_vocab is None and target_vocab is None


def test_sentence_vae_annealing_and_word_dropout_in_training(tiny_sentence_vae_run):
    rows = _history(tiny_sentence_vae_run)
    betas = [float(r["beta"]) for r in rows]
    assert 0.0 < betas[0] < betas[1] <= 1.0  # linear warm-up over the tiny preset's 50 steps
    model = small_sentence_vae()
    dropped = model._drop_words(keras.ops.convert_to_tensor(np.tile(DECODER, (50, 1)))).numpy()
    changed = dropped != np.tile(DECODER, (50, 1))
    assert set(np.unique(dropped[changed])) == {1}  # replaced by [UNK]
    assert not changed[:, 0].any() and 0.1 < changed[:, 1:].mean() < 0.35  # never [START]; about word_dropout


def test_image_vae_trains_on_mnist_shaped_npz(tmp_path):
    from zoo.training import train

    rng = np.random.default_rng(0)
    images = (rng.random((120, 28, 28)) > 0.7).astype(np.uint8) * 255
    np.savez(tmp_path / "mnist.npz", x_train=images[:100], x_test=images[100:])
    train("image_vae", str(tmp_path / "run"), preset="tiny", data=str(tmp_path / "mnist.npz"), epochs=1, verbose=0)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["config"]["image_size"] == 28 and info["train_images"] == 90
