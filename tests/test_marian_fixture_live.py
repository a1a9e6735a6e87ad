"""Live check of tools/make_marian_fixture.py: runs only where torch, transformers
and sentencepiece are installed (not in the project's default environment).

It writes a fresh, untrained fixture (train_seconds=0) into a tmp dir and checks
that transformers loads it back and that the reference outputs are consistent.
"""

import importlib.util
import json
import pathlib

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")
pytest.importorskip("safetensors")

np = pytest.importorskip("numpy")

# MarianTokenizer warns when sacremoses is missing; it is never used (see the tool's docstring).
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOL = REPO_ROOT / "tools" / "make_marian_fixture.py"

EXPECTED_FILES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "source.spm",
    "target.spm",
    "vocab.json",
    "tokenizer_config.json",
    "reference.json",
    "reference.npz",
    "README.md",
}


def load_tool():
    spec = importlib.util.spec_from_file_location("make_marian_fixture", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fresh_fixture(tmp_path_factory):
    tool = load_tool()
    out = tmp_path_factory.mktemp("marian") / "marian_tiny"
    torch.set_num_threads(1)
    info = tool.write_fixture(out, train_seconds=0, seed=0, log=lambda *a: None)
    return tool, out, info


def test_files_and_vocab_layout(fresh_fixture):
    tool, out, info = fresh_fixture
    assert EXPECTED_FILES <= {p.name for p in out.iterdir()}
    vocab = json.loads((out / "vocab.json").read_text("utf-8"))
    ids = sorted(vocab.values())
    assert ids == list(range(len(vocab)))
    assert vocab["</s>"] == 0 and vocab["<unk>"] == 1
    assert vocab["<pad>"] == len(vocab) - 1
    assert vocab[">>spa<<"] == len(vocab) - 3 and vocab[">>por<<"] == len(vocab) - 2
    assert "<s>" not in vocab
    config = json.loads((out / "config.json").read_text("utf-8"))
    assert config["pad_token_id"] == config["decoder_start_token_id"] == vocab["<pad>"]
    assert config["vocab_size"] == len(vocab)
    gen = json.loads((out / "generation_config.json").read_text("utf-8"))
    assert gen["bad_words_ids"] == [[vocab["<pad>"]]] and gen["num_beams"] == 4
    assert gen["max_length"] == tool.MAX_LENGTH


def test_checkpoint_loads_and_reproduces_references(fresh_fixture):
    tool, out, info = fresh_fixture
    from safetensors import safe_open
    from transformers import MarianMTModel, MarianTokenizer

    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "model.shared.weight" in keys and "final_logits_bias" in keys
    # Tied / static weights are not stored.
    assert not any("embed_positions" in k for k in keys)
    assert "lm_head.weight" not in keys

    model = MarianMTModel.from_pretrained(str(out), dtype=torch.float32).eval()
    tokenizer = MarianTokenizer.from_pretrained(str(out))
    assert torch.count_nonzero(model.final_logits_bias) > 0

    ref = json.loads((out / "reference.json").read_text("utf-8"))
    arrays = np.load(out / "reference.npz")
    n = len(tool.TEST_SENTENCES)
    assert ref["sentences"] == tool.TEST_SENTENCES
    for key in ("input_ids", "greedy_ids", "greedy_text", "source_pieces", "decoded_source"):
        assert len(ref[key]) == n, key
    pad = ref["pad_token_id"]
    assert ref["generate_kwargs"]["bad_words_ids"] == [[pad]]

    for i, sentence in enumerate(ref["sentences"]):
        ids = ref["input_ids"][i]
        assert ids == tokenizer(sentence)["input_ids"] and ids[-1] == 0
        assert ref["source_pieces"][i] == tokenizer.tokenize(sentence)
        greedy = ref["greedy_ids"][i]
        assert greedy[0] == pad and pad not in greedy[1:] and len(greedy) <= tool.MAX_LENGTH
        assert tokenizer.decode(greedy, skip_special_tokens=True) == ref["greedy_text"][i]
        enc = arrays[f"encoder_output_{i}"]
        assert enc.shape == (len(ids), model.config.d_model) and enc.dtype == np.float32
        k = min(tool.STEP_LOGITS, len(greedy) - 1)
        logits = arrays[f"step_logits_{i}"]
        assert logits.shape == (k, model.config.vocab_size) and logits.dtype == np.float32
        # Greedy picks the argmax of the processed logits; pad is banned.
        banned = logits.copy()
        banned[:, pad] = -np.inf
        assert banned.argmax(-1).tolist() == greedy[1 : k + 1]

    # A few sentences recomputed from the reloaded checkpoint.
    with torch.no_grad():
        for i in (0, 7, 17):
            src = torch.tensor([ref["input_ids"][i]])
            enc = model.model.encoder(input_ids=src).last_hidden_state[0].numpy()
            np.testing.assert_allclose(enc, arrays[f"encoder_output_{i}"], rtol=1e-4, atol=1e-4)
            out_ids = model.generate(input_ids=src, **ref["generate_kwargs"])[0].tolist()
            assert out_ids == ref["greedy_ids"][i]


def test_zoo_import_of_a_fresh_random_model_matches_transformers(fresh_fixture, tmp_path):
    """The importer against a checkpoint written just now (untrained, random weights)."""
    pytest.importorskip("tensorflow")
    from converters.marian import import_marian, zoo_vocabulary
    from zoo.evaluation import load_translator
    from zoo.training import load_run

    tool, out, info = fresh_fixture
    import_marian(str(out), str(tmp_path / "run"))
    ref = json.loads((out / "reference.json").read_text("utf-8"))
    arrays = np.load(out / "reference.npz")
    vocab = json.loads((out / "vocab.json").read_text("utf-8"))
    config = json.loads((out / "config.json").read_text("utf-8"))
    _, marian_ids = zoo_vocabulary(vocab, config)
    zoo_ids = np.zeros(len(vocab), np.int64)
    for zoo_id, marian_id in enumerate(marian_ids):
        if zoo_id != 2:  # [START] copies <pad>, which is zoo id 0
            zoo_ids[marian_id] = zoo_id
    model = load_run(str(tmp_path / "run"))[0]
    for i, (ids, greedy) in enumerate(zip(ref["input_ids"], ref["greedy_ids"])):
        source = zoo_ids[np.array([ids])].astype(np.int32)
        expected = arrays[f"step_logits_{i}"]
        decoder = zoo_ids[np.array([greedy[: len(expected)]])].astype(np.int32)
        decoder[:, 0] = 2
        logits = np.asarray(model({"encoder_inputs": source, "decoder_inputs": decoder}))[0]
        np.testing.assert_allclose(logits[:, zoo_ids], expected, atol=1e-4)
    translator, _ = load_translator(str(tmp_path / "run"))
    cases = [(s, t) for s, t in zip(ref["sentences"], ref["greedy_text"]) if s.strip()]
    # transformers forces </s> at max_length; the zoo decodes up to max_target_length.
    got = translator.translate([s for s, _ in cases], max_steps=tool.MAX_LENGTH - 2)  # + start + forced </s>
    assert got == [t for _, t in cases]
