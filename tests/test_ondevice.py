"""The on-device runtime: no TensorFlow, manifest-driven, clear errors."""

import json
import shutil
import subprocess
import sys

import pytest

from ondevice.errors import ArtifactError, InputError
from ondevice.manifest import load_manifest
from ondevice.translator import Translator

BLOCK_TF = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'keras_hub', 'tensorflow_text', 'zoo', 'converters'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
"""


def test_runtime_imports_and_translates_without_tensorflow(convert_tiny):
    artifact = convert_tiny("dynamic_int8")
    code = BLOCK_TF + f"""
import ondevice, ondevice.translator, ondevice.search, ondevice.tokenizer, ondevice.manifest, ondevice.cli
import ondevice.vae, ondevice.vae_cli, ondevice.png, ondevice.signature_step_model, ondevice.litert_model
from ondevice.translator import Translator
t = Translator.from_artifact({artifact!r})
out = t.translate(["I like cats.", "Where is the station?"], beam_size=3)
assert len(out) == 2 and all(isinstance(o, str) for o in out), out
assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)
print("OK", out)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK" in result.stdout


def test_translator_input_errors(convert_tiny):
    translator = Translator.from_artifact(convert_tiny("float32"))
    with pytest.raises(InputError, match="empty"):
        translator.translate(["   "])
    with pytest.raises(InputError, match="at most"):
        translator.translate(["word " * 200])
    assert len(translator.translate(["word " * 200], truncate=True)) == 1
    # unseen scripts become [UNK] and still translate
    assert isinstance(translator.translate(["😀 Привет 你好"])[0], str)


def test_bad_artifacts_are_clear_errors(convert_tiny, tmp_path):
    good = convert_tiny("float32")
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_manifest(str(tmp_path))
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    with open(bad / "model.tflite", "r+b") as f:
        f.seek(100)
        f.write(b"\0" * 16)
    with pytest.raises(ArtifactError, match="sha256"):
        load_manifest(str(bad))
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["model_sha256"] = None
    (bad / "model.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not a loadable"):
        Translator.from_artifact(str(bad))
    del manifest["signatures"]["decode_step"]
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="decode_step"):
        load_manifest(str(bad))


def test_state_without_batch_axis_is_refused(convert_tiny, tmp_path):
    bad = tmp_path / "no_axis"
    shutil.copytree(convert_tiny("float32", "lstm"), bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    for tensor in manifest["signatures"]["decode_step"]["inputs"]:
        if tensor["name"] == "h_0":
            del tensor["batch_axis"]
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="batch_axis"):
        load_manifest(str(bad))
