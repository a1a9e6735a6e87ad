"""Conversion per recipe: signatures, manifest, parity, Keras vs LiteRT decoding."""

import json
import os

import numpy as np
import pytest

from converters.recipes import RECIPES
from converters.tflite_inspect import tensor_types
from ondevice.translator import Translator
from tests.conftest import variant_family
from tests.encoder_decoder_test_case import run_conversion_test

FAMILIES = ["transformer", "lstm"]


# Every family x recipe; the shared-vocabulary post-norm Transformer (the
# `multi30k` preset's options) in the recipes the shipped models use.
CASES = [(f, r) for f in FAMILIES + ["transformer_tied"] for r in RECIPES]
CASES += [("transformer_shared", r) for r in ("float32", "dynamic_int8", "int8")]


def output_table_buffers(model_bytes):
    """The buffers of the decoder's output-layer weights and of the embedding
    tables of the same shape: `(output layer buffers, table buffers)`."""
    from converters.tflite_inspect import _op_name, flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    codes = [_op_name(code) for code in model.operatorCodes]
    weights, tables = {}, {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if codes[op.opcodeIndex] == "FULLY_CONNECTED":
                tensor = subgraph.tensors[op.inputs[1]]
                weights.setdefault(tuple(tensor.shape), set()).add(tensor.buffer)
            elif codes[op.opcodeIndex] == "GATHER":
                tensor = subgraph.tensors[op.inputs[0]]
                tables.setdefault(tuple(tensor.shape), set()).add(tensor.buffer)
    vocabulary_shape = max(weights, key=lambda shape: shape[0])  # (vocabulary, width): the logits layer
    return weights[vocabulary_shape], tables.get(vocabulary_shape, set())


@pytest.mark.parametrize("family,recipe", CASES)
def test_convert_recipe(convert_tiny, family, recipe):
    artifact = convert_tiny(recipe, family)
    # lstm: no cache, one step; transformer: K/V caches of 16 positions, then
    # the full max_target_length (24 for tiny)
    decode = ["decode_step"] if family == "lstm" else ["decode_step_16", "decode_step"]
    float32 = None if recipe == "float32" else convert_tiny("float32", family)
    manifest = run_conversion_test(artifact, ["encode", *decode], float32)
    data = manifest.data
    with open(os.path.join(artifact, "model.tflite"), "rb") as f:
        model_bytes = f.read()
    assert manifest.decode_signatures == decode
    if family != "lstm":
        caches = [t for t in manifest.tensors("decode_step_16", "inputs") if t.role == "state"]
        assert caches and all(t.update == "append" and t.shape[t.time_axis] == 16 for t in caches)
    for name in decode:
        # the Transformer step is one XNNPACK partition in the float32 and int8
        # recipes (float16 adds a small one for its fp16 embedding lookups;
        # XNNPACK has no int16x8 matmuls)
        if family != "lstm" and recipe in ("float32", "dynamic_int8", "int8"):
            assert data["xnnpack"][name]["partitions"] == 1, data["xnnpack"][name]
        # the LSTM step: all but the token lookup is delegated, in two
        # partitions because `h @ recurrent_kernel` can run before the lookup
        if family == "lstm" and recipe in ("float32", "dynamic_int8"):
            step = data["xnnpack"][name]
            assert step["partitions"] <= 2 and set(step["builtin_ops"]) <= {"GATHER", "LESS", "ADD", "SELECT_V2"}, step
    if family == "lstm" and recipe in ("float32", "dynamic_int8"):  # the unrolled encoder is one partition
        assert data["xnnpack"]["encode"]["partitions"] == 1, data["xnnpack"]["encode"]
    assert data["quantization"]["recipe"] == recipe and data["family"] == variant_family(family)
    parity = data["parity"]
    assert parity["sentences"] >= 16 and parity["steps"] > 0
    roles = {t.name: t.role for t in manifest.tensors("decode_step", "inputs")}
    assert roles["token"] == "token" and roles["step"] == "step"
    assert {t.role for t in manifest.decoder_tensors()} == {"memory", "state"}
    vocabularies = {manifest.path("source_vocabulary"), manifest.path("target_vocabulary")}
    assert len(vocabularies) == (1 if family == "transformer_shared" else 2)
    assert all(os.path.getsize(path) > 0 for path in vocabularies)
    if recipe == "float32":
        assert parity["max_abs_logit_diff"] < 1e-3 and parity["sentence_agreement"] == 1.0
    quantized_types = tensor_types(model_bytes)
    if recipe in ("int8", "int16x8"):  # the matmuls really run on integer activations
        assert quantized_types[{"int8": "INT8", "int16x8": "INT16"}[recipe]] > 0
    if recipe == "int8":
        assert quantized_types["INT16"] == 0
    if recipe == "dynamic_int8":  # a tied token table is stored once, an untied one is not shared
        output_layer, tables = output_table_buffers(model_bytes)
        tied = family in ("transformer_shared", "transformer_tied")
        assert (output_layer <= tables) == tied, (output_layer, tables)


def test_failed_verification_writes_nothing_and_keeps_old_artifact(tiny_run, convert_tiny, tmp_path, monkeypatch):
    import dataclasses

    from converters import convert as convert_module
    from converters.recipes import RECIPES as recipes

    out = tmp_path / "artifact"
    out.mkdir()
    (out / "manifest.json").write_text('{"old": true}')
    impossible = dataclasses.replace(recipes["dynamic_int8"], min_token_agreement=1.01)
    monkeypatch.setattr(convert_module, "get_recipe", lambda name: impossible)
    with pytest.raises(convert_module.ConversionError, match="token agreement"):
        convert_module.convert(tiny_run, str(out), recipe="dynamic_int8", num_verify=8, verbose=False)
    assert sorted(os.listdir(out)) == ["manifest.json"]
    assert json.loads((out / "manifest.json").read_text()) == {"old": True}
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]


def _keras_translator(run_dir):
    from zoo.evaluation import load_translator

    translator, _ = load_translator(run_dir)
    return translator


@pytest.mark.parametrize("beam", [1, 4])
@pytest.mark.parametrize("family", FAMILIES)
def test_keras_and_litert_decode_identically(train_tiny, convert_tiny, family, beam):
    from zoo.datasets.parallel_text import load_corpus

    sources = [s for s, _ in load_corpus(None).val[:40]]
    keras_side = _keras_translator(train_tiny(family))
    litert_side = Translator.from_artifact(convert_tiny("float32", family))
    keras_ids = keras_side.translate_ids([keras_side.encode_text(s, True) for s in sources], beam_size=beam)
    litert_ids = litert_side.translate_ids([litert_side.encode_text(s, True) for s in sources], beam_size=beam)
    assert keras_ids == litert_ids
    assert sum(len(i) for i in litert_ids) > 0


def test_dynamic_int8_mostly_agrees_with_keras_greedy(tiny_run, convert_tiny):
    from zoo.datasets.parallel_text import load_corpus

    sources = [s for s, _ in load_corpus(None).val[:40]]
    keras_out = _keras_translator(tiny_run).translate(sources, truncate=True)
    int8_out = Translator.from_artifact(convert_tiny("dynamic_int8")).translate(sources, truncate=True)
    same = np.mean([a == b for a, b in zip(keras_out, int8_out)])
    assert same >= 0.8, same
