"""Checks every `EncoderDecoder` family must pass (keras-hub's `TestCase` idea).

A family's model tests call these with a small model and a batch, so each
check is written once: the config round trip, Keras saving, step decoding
against the teacher-forced pass (the step contract), and the converted
artifact (signatures, checksum, the recipe's parity gate, size).
"""

import os

import keras
import numpy as np

from zoo.config_tools import constructor_arguments


def teacher_forced(model, source, target=None):
    """The outputs `fit` trains: a translator's logits (batch, target length,
    vocab) for `source` and `target`; a model taking one input (the image
    VAE) is called on `source` alone."""
    if target is None:
        return np.asarray(model(source))
    return np.asarray(model({"encoder_inputs": source, "decoder_inputs": target}))


def run_config_round_trip(model):
    """`from_config(get_config())` rebuilds the same model; every constructor
    argument is in the config."""
    config = model.get_config()
    assert set(constructor_arguments(type(model))) <= set(config)
    clone = type(model).from_config(config)
    assert clone.get_config() == config


def run_saving_test(model, tmp_path, source, target=None, atol=1e-6):
    """A `.keras` file reloads (safe mode) with the same outputs, teacher-forced
    and from `encode` (`target=None`: a one-input model)."""
    expected = teacher_forced(model, source, target)
    path = tmp_path / f"{type(model).__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(teacher_forced(loaded, source, target), expected, atol=atol)
    for name, value in model.encode(source).items():
        np.testing.assert_allclose(np.asarray(loaded.encode(source)[name]), np.asarray(value), atol=atol)
    return loaded


def run_step_decoding_test(model, source, target, capacities=(None, 16), atol=1e-4):
    """Decoding step by step as a runtime does (memory and replace states from
    `encode`; append states as caches the caller writes at index `step`)
    gives the teacher-forced logits at every position, whatever the cache
    length; `decoder_tensor_specs` describes what `encode` and `decode_step`
    exchange."""
    from ondevice.decoder_state import ArrayDecoderState
    from zoo.keras_step_model import KerasStepModel

    full = teacher_forced(model, source, target)
    specs = {t.name: t for t in model.decoder_tensor_specs()}
    encoded = model.encode(source)
    assert set(encoded) == {n for n, t in specs.items() if t.update == "replace"}
    for name, value in encoded.items():
        spec = specs[name]
        assert len(value.shape) == len(spec.shape)
        assert all(d is None or d == v for d, v in zip(spec.shape, value.shape)), (name, spec.shape, value.shape)
    for capacity in capacities:
        state = ArrayDecoderState(KerasStepModel(model), source, capacity or target.shape[1])
        for step in range(target.shape[1]):
            np.testing.assert_allclose(state.step(target[:, step]), full[:, step], atol=atol)
    out = model.decode_step(target[:, 0], 0, **state.tensors)
    assert set(out) == {"logits"} | {n for n, t in specs.items() if t.role == "state"}
    for name, spec in specs.items():
        if spec.role == "state" and spec.time_axis is not None:
            assert out[name].shape[spec.time_axis] == 1  # only the new row


def run_conversion_test(artifact, signatures, float32_artifact=None):
    """A converted artifact: its file has exactly `signatures` (names), no
    loop in any of them (a device runs each once per call), the manifest's checksum, parity that passes
    its recipe's gate, and (quantized) fewer bytes than `float32_artifact`.

    Returns:
        The artifact's `Manifest`.
    """
    from converters.recipes import get_recipe
    from converters.tflite_inspect import op_counts
    from ondevice.manifest import load_manifest, sha256_file

    manifest = load_manifest(artifact)
    path = os.path.join(artifact, manifest.data["model_file"])
    with open(path, "rb") as f:
        ops = op_counts(f.read())
    assert sorted(ops) == sorted(signatures) == sorted(manifest.data["signatures"])
    for name, counts in ops.items():
        assert "WHILE" not in counts, name
    assert manifest.data["model_sha256"] == sha256_file(path)
    recipe = get_recipe(manifest.data["quantization"]["recipe"])
    parity = manifest.data["parity"]
    if "token_agreement" in parity:
        assert parity["token_agreement"] >= recipe.min_token_agreement
    if float32_artifact is not None:
        assert os.path.getsize(path) < os.path.getsize(os.path.join(float32_artifact, "model.tflite"))
    return manifest
