"""The Marian tokenizer goldens of the Kotlin core against the Python runtime.

`android_demo/tools/make_marian_goldens.py` writes the tokenizer files of the tiny Marian
fixture as `import_marian` imports it (`source.spm`, `target.spm`, `vocabulary.txt`,
`tokenizer.json`) and the Python runtime's ids and texts for them
(`android_demo/core/src/test/resources/goldens/marian/`); the Kotlin `MarianTokenizerTest` must
reproduce every case. These tests check, without TensorFlow or Kotlin, that the committed cases
are still what `ondevice.tokenizers.load_tokenizers` gives with the committed files for the
generator's current inputs, that the committed models are the fixture's, and that the runtime
still agrees with the fixture's transformers outputs; the slow one re-imports the fixture
(TensorFlow) and compares every file.
"""

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("sentencepiece")

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOL = ROOT / "android_demo" / "tools" / "make_marian_goldens.py"
GOLDENS = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "goldens" / "marian"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("make_marian_goldens", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def goldens():
    with open(GOLDENS / "cases.json", encoding="utf-8") as f:
        return json.load(f)


def test_cases_are_the_python_runtime_output(tool, goldens):
    """Every committed case equals the runtime's output for the generator's inputs (no TensorFlow)."""
    files = tool.committed_run_files(GOLDENS)
    expected = tool.make_cases(files, goldens["special_tokens"])
    assert goldens["special_tokens"] == {"pad": 0, "unk": 1, "start": 2, "end": 3}
    note = f"goldens from sentencepiece {goldens['sentencepiece_version']}, installed {expected['sentencepiece_version']}"
    for key, field in (("tokenize", "text"), ("detokenize", "ids"), ("translations", "text")):
        inputs = [c[field] for c in goldens[key]]
        assert inputs == [c[field] for c in expected[key]], f"the generator's {key} inputs changed: regenerate"
        for golden, case in zip(goldens[key], expected[key]):
            assert golden == case, note
    assert goldens == expected
    assert (GOLDENS / "cases.json").read_text(encoding="utf-8") == tool.dump_cases(expected)


def test_goldens_are_the_fixture_files_and_cover_the_hard_cases(tool, goldens):
    assert sorted(p.name for p in GOLDENS.iterdir()) == sorted(
        [tool.golden_name(name) for name in tool.RUN_FILES] + [tool.CASES_FILE]
    )
    files = tool.committed_run_files(GOLDENS)
    for name in ("source.spm", "target.spm"):
        assert files[name] == (tool.FIXTURE / name).read_bytes(), name
    spec = json.loads(files["tokenizer.json"])
    assert spec["kind"] == "sentencepiece" and spec["source_end"] is True
    pieces = files["vocabulary.txt"].decode("utf-8").split("\n")[:-1]
    assert len(pieces) == goldens["vocabulary_size"] == 517
    assert pieces[:4] == ["<pad>", "<unk>", "[START]", "</s>"]
    assert tool.check_against_transformers(goldens, pieces) == []
    texts = {c["text"]: c for c in goldens["tokenize"]}
    code = pieces.index(">>spa<<")
    assert texts[">>spa<< Hello, how are you?"]["source"][0] == code
    assert texts[">>xx<< not in the vocabulary"]["source"][0] == 1  # an unknown code: <unk>
    assert texts["a</s>b<unk>c<pad>d"]["target"].count(3) == 1 and 0 in texts["a</s>b<unk>c<pad>d"]["target"]
    assert texts[""] == {"text": "", "source": [3], "target": []}
    errors = [c for c in goldens["detokenize"] if "error" in c]
    assert errors and all(c["error"] == "IndexError" for c in errors)
    cleaned = [c for c in goldens["detokenize"] if "error" not in c and c["source"] != c["source_clean"]]
    assert len(cleaned) >= 10
    assert len(goldens["tokenize"]) >= 60 and len(goldens["detokenize"]) >= 40


@pytest.mark.slow
def test_generator_reproduces_the_goldens():
    """Re-imports the fixture with `import_marian` (TensorFlow) and compares all files."""
    result = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
