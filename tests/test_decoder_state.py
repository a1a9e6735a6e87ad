"""The runtime-owned decoding state (manifest format 2) against the numpy reference.

`LiteRTDecoderState` keeps memory and caches in the interpreter's input
buffers and writes only new rows; `ArrayDecoderState` applies the same
manifest rules to numpy arrays over the slow reference step (every tensor in
and out). Both must give the same logits through variant switches, beam
reordering and rows leaving the batch.
"""

import json
import shutil

import numpy as np
import pytest

from ondevice.decoder_state import ArrayDecoderState
from ondevice.errors import ArtifactError
from ondevice.litert_model import LiteRTStepModel, _Subgraph
from ondevice.manifest import load_manifest
from ondevice.search import beam_search, greedy_search
from ondevice.translator import Translator

SOURCES = np.array([[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 13, 14, 0, 0], [15, 0, 0, 0, 0]], np.int32)


def test_private_litert_api_is_where_the_runtime_expects_it(convert_tiny):
    """`_Subgraph` is the only user of LiteRT's private per-subgraph calls:
    if ai-edge-litert moves them, this fails loudly (not the decoder)."""
    model = LiteRTStepModel(load_manifest(convert_tiny("float32")), num_threads=1)
    wrapper = model.interpreter._interpreter
    for name in ("ResizeInputTensor", "AllocateTensors", "Invoke", "tensor", "SetTensor"):
        assert callable(getattr(wrapper, name, None)), f"LiteRT interpreter wrapper has no {name}"
    _, subgraph = model.variants[0]
    assert isinstance(subgraph, _Subgraph)
    state = model.start(SOURCES[:1])
    try:
        view = state._subgraph.input_views["token"]
        view[:] = 7  # a write through the view is what the interpreter reads
        index = subgraph.inputs["token"]
        assert wrapper.GetTensor(index, subgraph._index)[0] == 7
    finally:
        state.close()


@pytest.mark.parametrize("family", ["transformer", "lstm"])
def test_litert_state_matches_numpy_reference(convert_tiny, family):
    manifest = load_manifest(convert_tiny("float32", family))
    model = LiteRTStepModel(manifest, num_threads=1)
    # The reference runs its own interpreter: its signature calls resize and
    # overwrite the very input buffers the fast state owns.
    reference = LiteRTStepModel(manifest, num_threads=1)
    steps = model.manifest.max_target_length
    fast, slow = model.start(SOURCES, steps), ArrayDecoderState(reference, SOURCES, steps)
    rng = np.random.default_rng(0)
    token = np.full((len(SOURCES),), 2, np.int32)
    try:
        for step in range(steps):  # through every cache variant up to the full length
            a, b = fast.step(token), slow.step(token)
            np.testing.assert_allclose(a, b, atol=1e-5)
            token = a.argmax(-1).astype(np.int32)
            if step == 3:  # beam-style reordering, same batch size
                rows = np.array([1, 1, 3, 0])
                fast.select(rows)
                slow.select(rows)
                token = token[rows]
            if step == 6:  # two rows leave: compaction (and re-allocation: 2 <= 4 // 2)
                rows = np.array([2, 0])
                fast.select(rows)
                slow.select(rows)
                token = token[rows]
            token = np.where(rng.random(len(token)) < 0.2, 5, token).astype(np.int32)
        if family == "transformer":
            assert fast._variant == len(model.variants) - 1  # it moved to the full-length cache
    finally:
        fast.close()


@pytest.mark.parametrize("family", ["transformer", "lstm"])
def test_fast_searches_equal_reference_searches(convert_tiny, family):
    """Greedy and beam (both stop rules) give the same tokens through the
    runtime-owned state and through the numpy reference state."""
    model = LiteRTStepModel(load_manifest(convert_tiny("float32", family)), num_threads=1)

    class Reference:  # the same model without `start`: numpy-held state
        decoder_tensors = model.decoder_tensors
        encode = staticmethod(model.encode)
        decode_step = staticmethod(model.decode_step)

    steps = model.manifest.max_target_length
    assert greedy_search(model, SOURCES, 2, 3, steps) == greedy_search(Reference, SOURCES, 2, 3, steps)
    for stop in ("early", "fairseq"):
        fast = beam_search(model, SOURCES, 2, 3, steps, beam_size=3, stop=stop)
        assert fast == beam_search(Reference, SOURCES, 2, 3, steps, beam_size=3, stop=stop)


def test_translate_stream_grows_to_the_translation(convert_tiny):
    translator = Translator.from_artifact(convert_tiny("float32"))
    sentence = "Where is the train station?"
    partials = list(translator.translate_stream(sentence))
    assert partials and partials[-1] == translator.translate([sentence])[0]
    assert len(partials) == len(translator.translate_ids([translator.encode_text(sentence)])[0])


def test_version_1_artifact_asks_for_reconversion(convert_tiny, tmp_path):
    artifact = tmp_path / "old"
    shutil.copytree(convert_tiny("float32"), artifact)
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["format_version"] = 1
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="reconvert"):
        load_manifest(str(artifact))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: m["decode_signatures"].reverse(), "ending with 'decode_step'"),
        (lambda m: m.__setitem__("decode_signatures", ["decode_step_8", "decode_step"]), "not described"),
        (lambda m: m.__setitem__("max_target_length", 10**9), "max_target_length"),
        (lambda m: [t.pop("time_axis") for t in m["signatures"]["decode_step"]["inputs"] if "time_axis" in t], "time_axis"),
        (lambda m: [t.__setitem__("update", "grow") for t in m["signatures"]["decode_step"]["inputs"] if "update" in t], "update"),
    ],
)
def test_broken_v2_manifest_fields_are_one_line_errors(convert_tiny, tmp_path, mutate, message):
    artifact = tmp_path / "broken"
    shutil.copytree(convert_tiny("float32"), artifact)
    manifest = json.loads((artifact / "manifest.json").read_text())
    mutate(manifest)
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        load_manifest(str(artifact))
