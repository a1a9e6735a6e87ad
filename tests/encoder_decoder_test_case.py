"""Checks every `EncoderDecoder` family must pass (keras-hub's `TestCase` idea).

A family's model tests call these with a small model and a batch, so each
check is written once: the config round trip, Keras saving, and step
decoding against the teacher-forced pass (the step contract).
"""

import keras
import numpy as np

from zoo.config_tools import constructor_arguments


def teacher_forced(model, source, target):
    """The logits `fit` trains: (batch, target length, vocab)."""
    return np.asarray(model({"encoder_inputs": source, "decoder_inputs": target}))


def run_config_round_trip(model):
    """`from_config(get_config())` rebuilds the same model; every constructor
    argument is in the config."""
    config = model.get_config()
    assert set(constructor_arguments(type(model))) <= set(config)
    clone = type(model).from_config(config)
    assert clone.get_config() == config


def run_saving_test(model, tmp_path, source, target, atol=1e-6):
    """A `.keras` file reloads (safe mode) with the same outputs, teacher-forced
    and from `encode`."""
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
