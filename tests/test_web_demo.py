"""The browser demo: the static-shape web model, the JS runtime in Node, the page in Chromium.

- `converters/web_export.py` writes `model_web.tflite` only if it decodes like
  `model.tflite` (checked here on every family's artifact, and its refusals);
- `web_demo/tools/translate.mjs` (LiteRT.js + the JS core, in Node) prints
  what `zoo translate` prints, greedy and beam, for a Transformer and an LSTM;
- headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
  Selenium) loads the page from `zoo web`'s server, translates the golden
  sentences through the text box exactly as `zoo translate` does, and shows
  a one-line error for a broken artifact.

`web_demo/tools/setup_browser_test.sh` installs Chromium, its driver, node and
LiteRT.js (`npm ci`) when missing; the tests skip only where it cannot
(no apt-get, not root and no sudo).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading

import pytest

from converters.web_export import WEB_MODEL_FILE, WebExportConfig, export_web, web_model_current
from ondevice.errors import ArtifactError
from tests.web_helpers import browser_setup as _browser_setup, node_translations as _node_translations

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models/tatoeba_en_es_transformer"
# Tatoeba-style sentences, with accents, digits, punctuation, a question, a long one and a
# word the vocabulary splits into pieces.
GOLDEN_SENTENCES = [
    "The cat is on the table.",
    "Where is the station?",
    "I don't know what you're talking about.",
    "Tom didn't want to go to school today because it was raining.",
    "She bought 3 apples and 12 oranges at the market.",
    "Café, naïve, résumé!",
    "Hmm",
]

def _zoo(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args], input=stdin, capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def _python_translations(artifact, sentences, beam):
    result = _zoo("translate", str(artifact), "--beam", str(beam), stdin="\n".join(sentences) + "\n")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def shipped_web(tmp_path_factory):
    """A copy of the shipped Tatoeba En->Es model (int8) with its web model."""
    directory = tmp_path_factory.mktemp("web") / "tatoeba_en_es"
    shutil.copytree(SHIPPED, directory)
    export_web(str(directory))
    return directory


# --- The static-shape web model. ---


@pytest.mark.parametrize("family,recipe", [("transformer", "float32"), ("transformer", "int8"), ("lstm", "dynamic_int8")])
def test_web_export_decodes_like_the_artifact(convert_tiny, tmp_path, family, recipe):
    artifact = tmp_path / "artifact"
    shutil.copytree(convert_tiny(recipe, family), artifact)
    before = (artifact / "model.tflite").read_bytes()
    entry = export_web(str(artifact), WebExportConfig(batch_sizes=(1, 3)))
    assert entry["batch_sizes"] == [1, 3] and entry["parity"]["sources"] == 8
    # float32 and int8: exact in practice; dynamic_int8's run-time scales see the padded source
    assert entry["parity"]["max_relative_logit_diff"] <= (0.02 if recipe == "dynamic_int8" else 1e-4)
    assert entry["parity"]["argmax_agreement"] >= 0.99
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["web"] == entry
    assert (artifact / "model.tflite").read_bytes() == before  # the artifact's model is untouched
    assert web_model_current(str(artifact), (1, 3)) and not web_model_current(str(artifact), (1, 4))
    # every signature input is static (what LiteRT.js needs)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(artifact / WEB_MODEL_FILE))
    names = set(interpreter.get_signature_list())
    assert {"encode_b1", "decode_step_b1", "decode_step_b3"} <= names
    for name in names:
        for detail in interpreter.get_signature_runner(name).get_input_details().values():
            assert all(d > 0 for d in detail["shape_signature"]) or len(detail["shape_signature"]) == 0, (name, detail)


def test_web_export_refuses_a_vae_and_bad_batch_sizes(convert_vae, convert_tiny, tmp_path):
    with pytest.raises(ArtifactError, match="translation model"):
        export_web(convert_vae("text", "float32"))
    artifact = tmp_path / "artifact"
    shutil.copytree(convert_tiny("float32"), artifact)
    with pytest.raises(ValueError, match="1..16"):
        export_web(str(artifact), WebExportConfig(batch_sizes=(0, 4)))
    assert not (artifact / WEB_MODEL_FILE).exists()


def test_web_export_refuses_a_copy_that_disagrees(convert_tiny, tmp_path, monkeypatch):
    import converters.web_export as web_export

    artifact = tmp_path / "artifact"
    shutil.copytree(convert_tiny("float32"), artifact)
    manifest_before = (artifact / "manifest.json").read_text()
    real = web_export.StaticGreedy.decode

    def off_by_one(self, ids, batch, steps, forced=None):
        tokens, logits = real(self, ids, batch, steps, forced)
        return tokens, logits + 1e-2

    monkeypatch.setattr(web_export.StaticGreedy, "decode", off_by_one)
    with pytest.raises(ArtifactError, match="disagrees with model.tflite"):
        export_web(str(artifact))
    assert not (artifact / WEB_MODEL_FILE).exists()
    assert (artifact / "manifest.json").read_text() == manifest_before


def test_zoo_web_export_only_one_line_errors(tmp_path):
    result = _zoo("web", str(tmp_path / "nothing"), "--export-only")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "zoo web: error:" in result.stderr


def test_zoo_web_imports_no_tensorflow():
    # `zoo web` works with the `edge` extra: the export, its recipe table and the server are TF-free.
    code = (
        "import sys, zoo.web_server, converters.web_export\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


# --- The JS runtime in Node (LiteRT.js WebAssembly): the same text as `zoo translate`. ---


@pytest.mark.parametrize("family", ["transformer", "lstm"])
def test_node_runtime_translates_like_python(convert_tiny, tmp_path, family):
    _browser_setup()
    artifact = tmp_path / "artifact"
    shutil.copytree(convert_tiny("float32", family), artifact)  # float32: LiteRT.js's kernels agree to ~1e-5
    export_web(str(artifact))
    sentences = GOLDEN_SENTENCES[:5]
    for beam in (1, 3):
        expected = _python_translations(artifact, sentences, beam)
        got = _node_translations(artifact, sentences, beam)
        assert got["translations"] == expected, (family, beam)


def test_node_runtime_on_the_shipped_model(shipped_web):
    _browser_setup()
    for beam in (1, 4):
        got = _node_translations(shipped_web, GOLDEN_SENTENCES, beam)
        assert got["translations"] == _python_translations(shipped_web, GOLDEN_SENTENCES, beam)


# --- The page in headless Chromium. ---


@pytest.fixture(scope="module")
def browser():
    """The page in headless Chromium (`bench.web_latency.Page`, the bench's driver)."""
    _browser_setup()
    from bench.web_latency import Page

    page = Page(window_size="900,720", timeout=180)
    yield page
    page.close()


@pytest.fixture(scope="module")
def server(shipped_web, tmp_path_factory):
    """`zoo web`'s server on a free port; `/artifact/` = the shipped model, `/broken/...` others."""
    from zoo.web_server import make_server

    httpd = make_server(str(shipped_web), port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_page_translates_like_zoo_translate(browser, server, shipped_web):
    assert browser.open(f"{server}/?name=tatoeba_en_es") == "ready", browser.text("status")
    status = browser.text("status")
    assert "tatoeba_en_es" in status and "int8" in status and "en → es" in status
    for beam in (1, 4):
        expected = _python_translations(shipped_web, GOLDEN_SENTENCES, beam)
        assert browser.translate(GOLDEN_SENTENCES, beam)["translations"] == expected
        assert browser.text("translation").split("\n") == expected
    # typed by a person: key events, one sentence
    source = browser.driver.find_element("id", "source")
    source.clear()
    source.send_keys("Where is the station?")
    browser.driver.find_element("id", "translate").click()
    browser.wait(("ready",))
    assert browser.text("translation") == _python_translations(shipped_web, ["Where is the station?"], 1)[0]
    assert "ms per step" in browser.text("speed")


def test_page_shows_why_a_model_does_not_load(browser, server, shipped_web, tmp_path):
    # no such artifact: the status names the missing manifest
    assert browser.open(f"{server}/?model=nowhere") == "error"
    status = browser.text("status")
    assert status.startswith("Could not load the model") and "manifest.json" in status and "404" in status
    # a web model whose bytes do not match the manifest
    data = (shipped_web / WEB_MODEL_FILE).read_bytes()
    try:
        (shipped_web / WEB_MODEL_FILE).write_bytes(data[:-10] + b"0123456789")
        assert browser.open(f"{server}/") == "error"
        assert "sha256 does not match" in browser.text("status")
        assert browser.driver.find_element("id", "translate").get_attribute("disabled")
    finally:
        (shipped_web / WEB_MODEL_FILE).write_bytes(data)
    # an artifact without a web model
    manifest = json.loads((shipped_web / "manifest.json").read_text())
    web = manifest.pop("web")
    try:
        (shipped_web / "manifest.json").write_text(json.dumps(manifest))
        assert browser.open(f"{server}/") == "error"
        assert "no 'web' entry" in browser.text("status")
    finally:
        manifest["web"] = web
        (shipped_web / "manifest.json").write_text(json.dumps(manifest))
    assert os.path.exists(shipped_web / "model.tflite")
