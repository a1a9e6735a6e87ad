"""The Android demo's pure Kotlin core: its JUnit tests, and its goldens against this runtime.

`android_demo/core/run_tests.sh` compiles the core and its tests with kotlinc (Debian's
`kotlin` 1.3 and `junit4`, installed with apt-get if missing) and runs them: golden token ids,
replayed greedy and beam decodes (both stop rules) recorded from the Python runtime, the
runtime-owned decoding buffers against the array state, JSON reader, manifest validation. The
Python tests here check that the goldens still describe the current Python runtime, and that
breaking any rule of `ondevice/search.py` listed in the generator's `MUTATIONS` changes some
golden's replay, so neither side can drift alone.
"""

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ondevice.manifest import Manifest, validate
from ondevice.search import beam_search
from ondevice.tokenizer import WordPieceTokenizer, detokenize_words
from ondevice.translator import Translator

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = ROOT / "android_demo" / "core"
GOLDENS = CORE / "src" / "test" / "resources" / "goldens"
TOOLS = ROOT / "android_demo" / "tools"


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _golden_manifest():
    with open(GOLDENS / "manifest.json", encoding="utf-8") as f:
        data = json.load(f)
    validate(data)
    return Manifest(data, str(GOLDENS))


def _can_install_kotlin():
    if shutil.which("apt-get") is None:
        return False
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") is not None and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def test_kotlin_core_junit():
    if shutil.which("kotlinc") is None and not _can_install_kotlin():
        pytest.skip("no kotlinc, and apt-get cannot install Debian's kotlin + junit4 here (not root, no sudo)")
    result = subprocess.run(
        ["bash", str(CORE / "run_tests.sh")], capture_output=True, text=True, timeout=1200
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "OK (" in result.stdout, output[-6000:]


def test_unicode_table_is_current():
    result = subprocess.run(
        [sys.executable, str(TOOLS / "make_unicode_table.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_token_goldens_match_python_tokenizer():
    manifest = _golden_manifest()
    with open(GOLDENS / "tokens.json", encoding="utf-8") as f:
        goldens = json.load(f)
    for side in ("source", "target"):
        tokenizer = WordPieceTokenizer.from_file(manifest.path(f"{side}_vocabulary"))
        assert len(goldens[side]) >= 150
        for entry in goldens[side]:
            assert tokenizer.tokenize(entry["text"]) == entry["ids"], entry["text"]
            assert tokenizer.words(entry["text"]) == entry["words"], entry["text"]
            assert tokenizer.detokenize(entry["ids"]) == entry["detokenized"], entry["text"]
            assert detokenize_words(entry["words"]) == entry["joined"], entry["text"]


DECODES = [
    "greedy",
    "greedy_stream",
    "beam4",
    "beam4_fairseq",
    "beam5_lp06",
    "beam3_max_steps",
    "beam3_max_steps_fairseq",
]
STOP_RULES = ["early", "fairseq"]


def _load_golden(name):
    with open(GOLDENS / f"decode_{name}.json", encoding="utf-8") as f:
        return json.load(f)


def _replay_translator(replay, manifest, batch_size):
    """A `Translator` over a replayed step model with the golden manifest's vocabularies."""
    return Translator(
        replay,
        WordPieceTokenizer.from_file(manifest.path("source_vocabulary")),
        WordPieceTokenizer.from_file(manifest.path("target_vocabulary")),
        manifest.special_tokens,
        manifest.max_source_length,
        manifest.max_target_length,
        batch_size=batch_size,
    )


def _replay_translation(tools, golden, manifest, search=None):
    """Translate a real-model golden's sentences through its replay; returns (texts, replay).

    `search`: a namespace of mutated search functions (`tools.mutated_search`), or None."""
    replay = tools.ReplayStepModel(golden, manifest.decoder_tensors())
    translator = _replay_translator(replay, manifest, golden["batch_size"])

    def run():
        return translator.translate(
            golden["sentences"],
            golden["beam_size"],
            golden["max_steps"],
            golden["length_penalty"],
            beam_stop=golden["beam_stop"] or "early",
        )

    return (run() if search is None else tools._translate_with(search, run)), replay


def _replay_synthetic(tools, golden, search=None):
    model = tools.SyntheticStepModel(golden["seed"], max_steps=golden["max_steps"])
    replay = tools.ReplayStepModel(golden, model.decoder_tensors)
    source = np.asarray(golden["segments"][0]["source_ids"], np.int32)
    args = (golden["start_id"], golden["end_id"], golden["max_steps"], golden["beam_size"], golden["length_penalty"])
    search_fn = beam_search if search is None else search["beam_search"]
    return search_fn(replay, source, *args, stop=golden["beam_stop"]), replay, model, source, args


@pytest.mark.parametrize("name", DECODES)
def test_decode_goldens_replay_in_python(name):
    tools = _load_tool("make_goldens")
    golden = _load_golden(name)
    texts, replay = _replay_translation(tools, golden, _golden_manifest())
    assert replay.finished()
    assert texts == golden["translations"]


def test_stream_golden_replays_in_python():
    tools = _load_tool("make_goldens")
    manifest = _golden_manifest()
    golden = _load_golden("greedy_stream")
    replay = tools.ReplayStepModel(golden, manifest.decoder_tensors())
    translator = _replay_translator(replay, manifest, 1)
    assert list(translator.translate_stream(golden["sentences"][0], golden["max_steps"])) == golden["stream"]
    assert replay.finished()
    assert golden["stream"][-1] == golden["translations"][0] and len(golden["stream"]) >= 3


@pytest.mark.parametrize("stop", STOP_RULES)
def test_synthetic_golden_replays_in_python(stop):
    tools = _load_tool("make_goldens")
    golden = _load_golden(f"synthetic_{stop}")
    assert golden["beam_stop"] == stop
    ids, replay, model, source, args = _replay_synthetic(tools, golden)
    assert ids == golden["output_ids"]
    assert replay.finished()
    assert beam_search(model, source, *args, stop=stop) == golden["output_ids"]


def test_goldens_pin_down_every_search_rule():
    """Each rule in the generator's MUTATIONS, broken in a copy of ondevice/search.py, makes some
    golden of every decode kind it applies to (greedy, beam stop="early", stop="fairseq") replay
    differently: so the Kotlin replays would catch the same mistake."""
    tools = _load_tool("make_goldens")
    manifest = _golden_manifest()
    goldens = [(_load_golden(name), False) for name in DECODES] + [
        (_load_golden(f"synthetic_{stop}"), True) for stop in STOP_RULES
    ]
    missing = []
    for rule, (_, _, _, kinds) in tools.MUTATIONS.items():
        search = tools.mutated_search(rule)
        for kind in kinds:
            caught = False
            for golden, synthetic in goldens:
                if (golden.get("beam_stop") or "greedy") != kind:
                    continue
                try:
                    if synthetic:
                        ids, replay = _replay_synthetic(tools, golden, search)[:2]
                        caught = ids != golden["output_ids"] or not replay.finished()
                    else:
                        texts, replay = _replay_translation(tools, golden, manifest, search)
                        caught = texts != golden["translations"] or not replay.finished()
                except (AssertionError, IndexError, ValueError):
                    caught = True
                if caught:
                    break
            if not caught:
                missing.append((rule, kind))
    assert not missing, f"no golden depends on these search rules: {missing}"
