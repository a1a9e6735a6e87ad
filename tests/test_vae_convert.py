"""VAE conversion per recipe: signatures, task manifest, parity within each recipe's tolerance."""

import os

import pytest

from converters.recipes import RECIPES
from converters.tasks import image_vae as image_task
from converters.tasks import text_vae as text_task
from tests.encoder_decoder_test_case import run_conversion_test


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_text_vae_recipe(convert_vae, recipe):
    float32 = None if recipe == "float32" else convert_vae("text", "float32")
    manifest = run_conversion_test(convert_vae("text", recipe), ["decode_init", "decode_step", "encode"], float32)
    data = manifest.data
    assert data["task"] == "text_vae" and data["family"] == "sentence_vae"
    roles = {s: {t.name: t.role for t in manifest.tensors(s, "outputs")} for s in data["signatures"]}
    assert roles["encode"] == {"z_mean": "latent_mean", "z_log_var": "latent_log_var"}
    assert roles["decode_init"] == {"h": "state", "c": "state", "latent_context": "memory"}
    assert [t.role for t in manifest.tensors("decode_init", "inputs")] == ["latent"]
    parity = data["parity"]
    latent_tol, elbo_tol = text_task.TOLERANCES[recipe]
    assert parity["sentences"] >= 16 and parity["steps"] > 0
    assert parity["z_mean_relative_error"] <= latent_tol and parity["nll_bound_relative_diff"] <= elbo_tol
    assert os.path.getsize(manifest.path("vocabulary")) > 0
    if recipe == "float32":
        assert parity["sentence_agreement"] == 1.0 and parity["max_abs_z_mean_diff"] < 1e-3


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_image_vae_recipe(convert_vae, recipe):
    float32 = None if recipe == "float32" else convert_vae("image", "float32")
    manifest = run_conversion_test(convert_vae("image", recipe), ["decode", "encode"], float32)
    data = manifest.data
    assert data["task"] == "image_vae" and data["image"]["height"] == 8 and data["latent_dim"] == 4
    assert [t.role for t in manifest.tensors("decode", "inputs")] == ["latent"]
    assert [t.role for t in manifest.tensors("decode", "outputs")] == ["image"]
    parity = data["parity"]
    latent_tol, pixel_tol, loss_tol = image_task.TOLERANCES[recipe]
    assert parity["images"] >= 16
    assert parity["z_mean_relative_error"] <= latent_tol and parity["mean_abs_pixel_diff"] <= pixel_tol
    assert parity["reconstruction_relative_diff"] <= loss_tol
    if recipe == "float32":
        assert parity["max_abs_pixel_diff"] <= 1e-4


def test_keras_run_and_float32_artifact_evaluate_alike(tiny_sentence_vae_run, tiny_image_vae_run, convert_vae):
    from zoo.vae_evaluation import evaluate_vae

    for kind, run in (("text", tiny_sentence_vae_run), ("image", tiny_image_vae_run)):
        _, keras_figures = evaluate_vae(run, max_examples=64)
        _, litert_figures = evaluate_vae(convert_vae(kind, "float32"), data="default", max_examples=64)
        for key in ("nll_bound", "kl", "reconstruction"):
            assert litert_figures[key] == pytest.approx(keras_figures[key], rel=1e-4), (kind, key)
        assert keras_figures["active_units"] == litert_figures["active_units"]


def test_failed_vae_verification_writes_nothing(tiny_image_vae_run, tmp_path, monkeypatch):
    from converters import convert as convert_module

    monkeypatch.setitem(image_task.TOLERANCES, "dynamic_int8", (0.0, 0.0, 0.0))
    out = tmp_path / "artifact"
    with pytest.raises(convert_module.ConversionError, match="relative error"):
        convert_module.convert(tiny_image_vae_run, str(out), recipe="dynamic_int8", num_verify=8, verbose=False)
    assert not out.exists() and not os.listdir(tmp_path)
