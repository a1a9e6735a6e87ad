"""`zoo import marian`: a tiny Marian checkpoint written by transformers, against transformers' own outputs.

`tests/fixtures/marian_tiny` was written by `tools/make_marian_fixture.py`
(torch + transformers, run once by hand): the checkpoint in the Hugging Face
layout and `reference.json` / `reference.npz` with transformers' encoder
outputs, logits and greedy `generate` results. Nothing here needs torch.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "marian_tiny"
BLOCK_TF = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'keras_hub', 'tensorflow_text', 'converters'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
"""


def _reference():
    with open(FIXTURE / "reference.json", encoding="utf-8") as f:
        reference = json.load(f)
    return reference, np.load(FIXTURE / "reference.npz")


@pytest.fixture(scope="module")
def marian_run(tmp_path_factory):
    from converters.marian import import_marian

    run_dir = tmp_path_factory.mktemp("marian") / "run"
    import_marian(str(FIXTURE), str(run_dir))
    return run_dir


@pytest.fixture(scope="module")
def zoo_ids():
    """Marian id -> zoo id (the import reorders the vocabulary)."""
    from converters.marian import zoo_vocabulary

    with open(FIXTURE / "config.json", encoding="utf-8") as f:
        config = json.load(f)
    with open(FIXTURE / "vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    _, marian_ids = zoo_vocabulary(vocab, config)
    mapping = np.zeros(len(vocab), np.int64)
    for zoo_id, marian_id in enumerate(marian_ids):
        if zoo_id != 2:  # [START] is a copy of <pad>; <pad> itself is zoo id 0
            mapping[marian_id] = zoo_id
    return mapping


def test_tokenizer_gives_marian_ids(marian_run, zoo_ids):
    from zoo.training import run_tokenizers

    reference, _ = _reference()
    source, _ = run_tokenizers(str(marian_run))
    for sentence, ids in zip(reference["sentences"], reference["input_ids"]):
        assert source.tokenize(sentence) == zoo_ids[ids].tolist(), sentence


def test_encoder_and_logits_match_transformers(marian_run, zoo_ids):
    from zoo.training import load_run

    reference, arrays = _reference()
    model = load_run(str(marian_run))[0]
    for i, (ids, greedy) in enumerate(zip(reference["input_ids"], reference["greedy_ids"])):
        source = zoo_ids[np.array([ids])].astype(np.int32)
        memory, _ = model._encode_sequence(source)
        np.testing.assert_allclose(np.asarray(memory)[0], arrays[f"encoder_output_{i}"], atol=1e-4)
        expected = arrays[f"step_logits_{i}"]  # (k, marian vocab)
        decoder = zoo_ids[np.array([greedy[: len(expected)]])].astype(np.int32)
        decoder[:, 0] = 2  # Marian starts with <pad>, the zoo with [START] (the same row)
        logits = np.asarray(model({"encoder_inputs": source, "decoder_inputs": decoder}))[0]
        np.testing.assert_allclose(logits[:, zoo_ids], expected, atol=1e-4)


def test_keras_greedy_equals_transformers_generate(marian_run):
    from zoo.evaluation import load_translator

    reference, _ = _reference()
    translator, _ = load_translator(str(marian_run))
    cases = [(s, t) for s, t in zip(reference["sentences"], reference["greedy_text"]) if s.strip()]
    assert translator.translate([s for s, _ in cases]) == [t for _, t in cases]


@pytest.fixture(scope="module")
def marian_artifacts(marian_run, tmp_path_factory):
    from converters.convert import convert

    out = {}
    for recipe in ("float32", "dynamic_int8"):
        out[recipe] = tmp_path_factory.mktemp("marian_artifacts") / recipe
        convert(str(marian_run), str(out[recipe]), recipe=recipe, num_verify=64, verbose=False)
    return out


def test_translate_on_device_equals_transformers(marian_artifacts):
    """`zoo translate` with TensorFlow blocked prints transformers' greedy text."""
    reference, _ = _reference()
    cases = [(s, t) for s, t in zip(reference["sentences"], reference["greedy_text"]) if s.strip() and "\n" not in s]
    code = BLOCK_TF + "from zoo.cli import main\nsys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "translate", str(marian_artifacts["float32"])],
        input="".join(s + "\n" for s, _ in cases),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [t for _, t in cases]
    with open(marian_artifacts["dynamic_int8"] / "manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["tokenizer"]["kind"] == "sentencepiece" and manifest["parity"]


def test_refuses_pickled_checkpoint_with_one_line(tmp_path):
    checkpoint = tmp_path / "opus-mt-xx-yy"
    shutil.copytree(FIXTURE, checkpoint)
    os.remove(checkpoint / "model.safetensors")
    (checkpoint / "pytorch_model.bin").write_bytes(b"not really a pickle")
    result = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "import", "marian", str(checkpoint), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "safetensors" in lines[0] and "pickle" in lines[0], result.stderr
    assert not (tmp_path / "run").exists()


def test_refuses_what_the_transformer_cannot_express(tmp_path):
    from converters.marian import CheckpointError, import_marian

    checkpoint = tmp_path / "prenorm"
    shutil.copytree(FIXTURE, checkpoint)
    with open(checkpoint / "config.json", encoding="utf-8") as f:
        config = json.load(f)
    config["share_encoder_decoder_embeddings"] = False
    (checkpoint / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(CheckpointError, match="separate source and target vocabularies"):
        import_marian(str(checkpoint), str(tmp_path / "run"))
    config["share_encoder_decoder_embeddings"] = True
    del config["d_model"]
    (checkpoint / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(CheckpointError, match="malformed"):
        import_marian(str(checkpoint), str(tmp_path / "run"))
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        import_marian(str(tmp_path / "missing" / "dir"), str(tmp_path / "run"))


def test_hub_download_path_on_a_local_mirror(tmp_path, monkeypatch):
    """A hub id goes through `huggingface_hub.snapshot_download` (patched to a local copy: no network in tests)."""
    import huggingface_hub

    from converters.marian import HUB_PATTERNS, import_marian

    calls = []

    def snapshot_download(repo_id, allow_patterns=None, cache_dir=None):
        calls.append((repo_id, allow_patterns))
        return str(FIXTURE)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    import_marian("Helsinki-NLP/opus-mt-tiny", str(tmp_path / "run"))
    assert calls == [("Helsinki-NLP/opus-mt-tiny", HUB_PATTERNS)]
    assert (tmp_path / "run" / "model.keras").exists()


def test_fine_tuning_an_imported_run_lowers_validation_loss(marian_run, tmp_path):
    """`zoo train transformer --init RUN`: one epoch on the bundled data."""
    from zoo.datasets.parallel_text import load_corpus
    from zoo.datasets.pipeline import make_dataset
    from zoo.losses import MaskedSequenceLoss
    from zoo.training import load_run, run_tokenizers, train

    out = tmp_path / "finetuned"
    corpus = load_corpus(None)
    source, target = run_tokenizers(str(marian_run))

    def val_loss(run_dir):
        model = load_run(str(run_dir))[0]
        model.compile(loss=MaskedSequenceLoss(label_smoothing=0.1))
        data = make_dataset(corpus.val[:300], source, target, 32, model.max_source_length, model.max_target_length, shuffle=False)
        return model.evaluate(data, verbose=0, return_dict=True)["loss"]

    before = val_loss(marian_run)
    train("transformer", str(out), init=str(marian_run), epochs=1, max_train_pairs=1500, verbose=0,
          overrides={"learning_rate": 1e-3, "warmup_steps": 10})
    with open(out / "run.json", encoding="utf-8") as f:
        info = json.load(f)
    assert info["init"] == str(marian_run.resolve()) and info["config"]["logits_bias"]
    assert (info["config"]["dropout"], info["config"]["attention_dropout"]) == (0.1, 0.0)  # the checkpoint's config.json
    # the import's fine-tuning settings, with the overrides
    assert (info["training"]["learning_rate"], info["training"]["warmup_steps"], info["training"]["batch_size"]) == (1e-3, 10, 32)
    assert (out / "tokenizer.json").exists() and (out / "source.spm").exists()
    assert val_loss(out) < before


def test_browser_runtime_equals_transformers(marian_artifacts, tmp_path):
    """The browser's runtime (LiteRT.js + the JS SentencePiece/Marian tokenizer, run in Node)
    prints transformers' greedy text too, from the artifact's static-shape web model."""
    import shutil

    from converters.web_export import export_web
    from tests.web_helpers import browser_setup, node_translations

    browser_setup()
    artifact = tmp_path / "marian_web"
    shutil.copytree(marian_artifacts["float32"], artifact)
    export_web(str(artifact))
    reference, _ = _reference()
    cases = [(s, t) for s, t in zip(reference["sentences"], reference["greedy_text"]) if s.strip() and "\n" not in s]
    got = node_translations(artifact, [s for s, _ in cases], beam=1)
    assert got["translations"] == [t for _, t in cases]
