"""Every model shipped under `models/` is a sound artifact that translates with the edge runtime.

What `zoo translate models/NAME` loads on a fresh install: the manifest (its
checksum verified), the tokenizer files, the LiteRT file; the card's numbers
belong to this file (recipe and size), and a test sentence gives a real
translation, greedy and with beam search.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT as ROOT

MODELS = sorted(p for p in (ROOT / "models").iterdir() if (p / "manifest.json").exists())


def test_models_are_shipped():
    names = {p.name for p in MODELS}
    assert "tatoeba_en_es_transformer" in names  # the quick start's model
    assert {p.name for p in (ROOT / "models").iterdir() if p.is_dir()} == names  # nothing half-written


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_shipped_model_matches_its_card_and_translates(model):
    from ondevice.manifest import load_manifest
    from ondevice.translator import Translator

    manifest = load_manifest(str(model))  # checks model_sha256
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    assert manifest.data["quantization"]["recipe"] == card["shipped"]
    shipped = card["test"][card["shipped"]]
    assert shipped["model_bytes"] == os.path.getsize(model / manifest.data["model_file"])
    assert (model / "README.md").read_text(encoding="utf-8").startswith("# ")
    assert shipped["sentences"] >= 1000 and 0 < shipped["beam5_lowercased"] < 100
    translator = Translator.from_artifact(str(model), num_threads=1)
    source = "A man rides a bike." if manifest.data["languages"]["source"] == "en" else "Hello."
    for beam in (1, 5):
        (text,) = translator.translate([source], beam_size=beam)
        assert len(text.split()) >= 2, text


def test_translate_cli_on_a_shipped_model_imports_no_tensorflow():
    # `zoo translate models/NAME` needs only the `edge` extra.
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        "code = main(['translate', 'models/tatoeba_en_es_transformer', 'Where is the train station?'])\n"
        "assert code == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "[]" and len(lines[0].split()) >= 2, result.stdout
