"""The SentencePiece goldens of the Kotlin core against the installed `sentencepiece` library.

`android_demo/tools/make_sentencepiece_goldens.py` writes small unigram models and the library's
output for them (`android_demo/core/src/test/resources/goldens/sentencepiece/`); the Kotlin
`SentencePieceTokenizerTest` must reproduce every case. These tests check, without Kotlin, that
the committed cases are still what the library produces with the committed models, that they
cover exactly the generator's inputs, and (slow: it retrains) that the generator still writes
the same files.
"""

import gzip
import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

spm = pytest.importorskip("sentencepiece")

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOL = ROOT / "android_demo" / "tools" / "make_sentencepiece_goldens.py"
GOLDENS = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "goldens" / "sentencepiece"


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_sentencepiece_goldens", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def goldens():
    with open(GOLDENS / "cases.json", encoding="utf-8") as f:
        return json.load(f)


def _processor(model):
    return spm.SentencePieceProcessor(model_proto=gzip.decompress((GOLDENS / model["file"]).read_bytes()))


def test_cases_match_installed_library(goldens):
    note = f"goldens from sentencepiece {goldens['sentencepiece_version']}, installed {spm.__version__}"
    tool = _load_tool()
    for model in goldens["models"]:
        sp = _processor(model)
        where = f"{model['name']} ({note})"
        size = sp.get_piece_size()
        assert size == model["vocabulary_size"], where
        assert [sp.id_to_piece(i) for i in range(size)] == model["pieces"], where
        assert [sp.piece_to_id(p) for p in model["pieces"] + tool.MISSING_PIECES] == model["piece_ids"], where
        assert [sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()] == [
            model[key] for key in ("unk_id", "bos_id", "eos_id", "pad_id")
        ], where
        for case in model["cases"]:
            text = case["text"]
            assert sp.normalize(text) == case["normalized"], (where, text)
            assert sp.encode(text, out_type=str) == case["pieces"], (where, text)
            assert sp.encode(text) == case["ids"], (where, text)
            assert sp.decode_pieces(case["pieces"]) == case["decoded_pieces"], (where, text)
            assert sp.decode_ids(case["ids"]) == case["decoded_ids"], (where, text)
        for case in model["byte_cases"]:
            data = bytes.fromhex(case["hex"])
            assert [tool._text(p) for p in sp.encode(data, out_type=str)] == case["pieces"], (where, data)
            assert sp.encode(data) == case["ids"], (where, data)
        for case in model["decode_pieces"]:
            assert sp.decode_pieces(case["pieces"]) == case["text"], (where, case["pieces"])
        for case in model["decode_ids"]:
            assert sp.decode_ids(case["ids"]) == case["text"], (where, case["ids"])


def test_cases_cover_the_generator_inputs(goldens):
    """Editing the generator's texts or models without regenerating is caught here."""
    tool = _load_tool()
    texts = tool.texts(tool.corpus_lines())
    assert [m["name"] for m in goldens["models"]] == [*tool.MODELS, "no_escape", "crafted"]
    assert sorted(p.name for p in GOLDENS.iterdir()) == sorted([m["file"] for m in goldens["models"]] + ["cases.json"])
    for model in goldens["models"]:
        assert [case["text"] for case in model["cases"]] == texts, model["name"]
        assert [case["hex"] for case in model["byte_cases"]] == [data.hex() for data in tool.BYTE_CASES]
        assert [case["pieces"] for case in model["decode_pieces"]] == tool.DECODE_PIECES
    crafted = next(m for m in goldens["models"] if m["name"] == "crafted")
    assert gzip.decompress((GOLDENS / crafted["file"]).read_bytes()) == tool.crafted_model()
    assert len(texts) >= 100 and sum(len(m["cases"]) for m in goldens["models"]) >= 500


@pytest.mark.slow
def test_generator_reproduces_the_goldens():
    """Retrains every model (deterministic, one thread) and compares all files."""
    result = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
