"""Write the goldens of the Kotlin `MarianTokenizer`: a Marian import's tokenizer files + the runtime's output.

Imported Marian / OPUS-MT models use the `sentencepiece` tokenizer kind
(`ondevice/tokenizers.py`, `ondevice/sentencepiece_tokenizer.py`): SentencePiece models cut
text into pieces, a vocabulary file gives their ids. The Kotlin core's `MarianTokenizer`
(`android_demo/core/src/main/kotlin/edgezoo/ondevice/MarianTokenizer.kt`) must give exactly
the Python runtime's ids and text. This script imports the committed tiny Marian checkpoint
(`tests/fixtures/marian_tiny`) with `converters.marian.import_marian` into a temporary run
directory (TensorFlow; about 10 s), takes the files an artifact ships (`source.spm`,
`target.spm`, `vocabulary.txt`, `tokenizer.json`) and records, with the tokenizers that
`ondevice.tokenizers.load_tokenizers` makes from them (special tokens: the zoo's reserved ids):

- `tokenize`: for every text of `texts()` (the fixture's `reference.json` sentences, the edge
  cases of `make_sentencepiece_goldens.py`, then `MARIAN_TEXTS`: language codes, literal
  special tokens, ...), the `source` ids (ending with the end id: `source_end`) and the
  `target` ids;
- `detokenize`: for every id list of `id_lists()` (`HAND_MADE` piece lists, ids past the
  vocabulary, the fixture's greedy outputs and inputs mapped to the run's ids, the source ids
  of every text), the text of the `source` and `target` tokenizers, without and with
  `clean_up_spaces` (`source_clean`, `target_clean`); `{"error": "IndexError"}` where Python
  raises (an id past the vocabulary);
- `translations`: for each fixture sentence, transformers' greedy output as the run's ids
  (without the decoder start, with the end id) and its `target` text: what a translator whose
  model generates those ids must print.

Goldens (`android_demo/core/src/test/resources/goldens/marian/`): `source.spm.gz`,
`target.spm.gz` (the fixture's models, gzip-compressed like the other SentencePiece goldens),
`vocabulary.txt`, `tokenizer.json` (as `import_marian` writes them) and `cases.json`.

Usage (from the repository root):

    .venv/bin/python android_demo/tools/make_marian_goldens.py [--check]

`--check` re-imports in memory and exits 1 if any committed file differs.
`make_cases(files, special_tokens)` needs no TensorFlow (`tests/test_marian_goldens.py` uses it
on the committed files).
"""

import argparse
import gzip
import importlib.util
import json
import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURE = ROOT / "tests/fixtures/marian_tiny"
OUT = ROOT / "android_demo/core/src/test/resources/goldens/marian"
CASES_FILE = "cases.json"
RUN_FILES = ("source.spm", "target.spm", "vocabulary.txt", "tokenizer.json")
GZIPPED = ("source.spm", "target.spm")  # stored as NAME.gz

MARIAN_TEXTS = [
    ">>spa<< Hello, how are you?",
    ">>spa<<Hello",
    ">>por<< I am hungry.",
    ">>xx<< not in the vocabulary",
    ">>spa<<",
    ">>spa<< >>por<< two codes",
    ">>spa<<>>por<<",
    " >>spa<< after a space",
    "Hello >>spa<< inside",
    ">>spa no end",
    ">><< empty code",
    ">>>spa<<< extra brackets",
    ">>sp<a<< odd",
    "<<spa>> reversed",
    "Hello </s> world",
    "</s>",
    "<unk>",
    "<pad>",
    "</s></s>",
    "<pad><unk></s>",
    "a</s>b<unk>c<pad>d",
    "</s>>>spa<< code after a special",
    ">>spa<<</s>",
    ">>spa<< <unk> and </s> and <pad>",
    "<s> is not special here",
    "</S> <UNK> <PAD> case matters",
    "< /s> <unk <pad",
    "<</s>>",
    "[START] [PAD] [UNK] [END]",
    "I don't know, do you? It's fine!",
    'He said "hello" .',
    "What 's up ? I 'm here , you 're there and they 've gone .",
    "Ñandú café naïve",
    "\u2581Hello",
    "tom@example.com",
]

# Hand-made detokenize inputs: pieces of the vocabulary (str) or raw ids (int).
HAND_MADE = [
    [],
    ["<pad>", "<unk>", "[START]", "</s>"],
    ["[START]", "▁Tom", "▁is", "?", "</s>"],
    ["▁Tom", "<unk>", "▁is"],
    ["</s>", "▁Tom", "</s>", "▁is", "<pad>"],
    [">>spa<<", "▁Tom"],
    ["▁Tom", ">>por<<", "▁is"],
    [">>spa<<"],
    [">>spa<<", ">>por<<"],
    ["▁I", "'", "m"],  # "▁I": only in source.spm
    ["▁que", "▁es"],  # only in target.spm
    ["▁I", "▁que", "▁es", "▁Tom"],
    ["é", "ó", "▁¿", "▁que", "?"],
    ["▁", "▁", "▁Tom"],
    ["▁"],
    ["."],
    ["▁Tom", "▁", "."],
    ["▁Tom", "▁", ",", "▁", "?", "▁", "!"],
    ["▁I", "▁", "'", "m", "▁here"],
    ["▁do", "▁", "n", "'", "t"],
    ["▁Tom", "▁", "'", "▁", "s"],
    ["▁Tom", "▁", "'", "s"],
    ["▁you", "▁", "'", "re"],
    ["▁I", "▁", "'", "ve"],
    ["▁", "'", "▁", "'", "▁"],
    ["s", "▁is", "t"],
]


def _load_sentencepiece_tool():
    path = ROOT / "android_demo/tools/make_sentencepiece_goldens.py"
    spec = importlib.util.spec_from_file_location("make_sentencepiece_goldens", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def reference():
    """The fixture's `reference.json` (transformers' outputs)."""
    return _read_json(FIXTURE / "reference.json")


def texts():
    """Golden texts: the fixture's sentences, the SentencePiece edge cases, `MARIAN_TEXTS` (no repeats)."""
    out = []
    for text in reference()["sentences"] + _load_sentencepiece_tool().EDGE_CASES + MARIAN_TEXTS:
        if text not in out:
            out.append(text)
    return out


def fixture_ids(pieces):
    """`(greedy, inputs)`: the fixture's greedy outputs and source ids as the run's ids.

    The import reorders Marian's vocabulary; pieces are unique, so a Marian id maps to the run
    id of the same piece (the decoder start, Marian's `<pad>`, to the run's `<pad>`).
    """
    marian = _read_json(FIXTURE / "vocab.json")  # piece -> Marian id
    to_run = {marian_id: pieces.index(piece) for piece, marian_id in marian.items()}
    ref = reference()
    greedy = [[to_run[i] for i in ids] for ids in ref["greedy_ids"]]
    return greedy, [[to_run[i] for i in ids] for ids in ref["input_ids"]]


def id_lists(pieces, source_ids):
    """Detokenize inputs: `HAND_MADE`, ids past the vocabulary, the fixture's ids, every text's source ids."""
    index = {piece: i for i, piece in enumerate(pieces)}
    size = len(pieces)
    out = []
    for items in HAND_MADE:
        missing = [p for p in items if isinstance(p, str) and p not in index]
        assert not missing, f"HAND_MADE pieces not in the vocabulary: {missing}"
        out.append([index[p] if isinstance(p, str) else p for p in items])
    out += [[size - 1], [size], [index["▁Tom"], size - 1, size], [1000000], [index["</s>"], size + 5]]
    greedy, inputs = fixture_ids(pieces)
    for ids in greedy + inputs + source_ids:
        if ids not in out:
            out.append(ids)
    return out


def _tokenizers(files, special_tokens, clean_up_spaces):
    """`(source, target)` of `load_tokenizers` over `files`, with `clean_up_spaces` set."""
    from ondevice.tokenizers import load_tokenizers

    spec = dict(json.loads(files["tokenizer.json"]))
    spec["clean_up_spaces"] = clean_up_spaces
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            pathlib.Path(tmp, name).write_bytes(data)
        return load_tokenizers(spec, tmp, special_tokens)


def _detokenize(tokenizer, ids):
    try:
        return tokenizer.detokenize(ids)
    except IndexError:
        return None


def make_cases(files, special_tokens):
    """The golden cases (a dict) for the run files `files` ({name: bytes}); no TensorFlow."""
    import sentencepiece

    from ondevice.sentencepiece_tokenizer import read_pieces

    spec = json.loads(files["tokenizer.json"])
    assert spec["kind"] == "sentencepiece" and spec["source_end"] is True, spec
    plain = _tokenizers(files, special_tokens, False)
    clean = _tokenizers(files, special_tokens, True)
    golden_texts = texts()
    tokenize = [{"text": t, "source": plain[0].tokenize(t), "target": plain[1].tokenize(t)} for t in golden_texts]
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp, "vocabulary.txt")
        path.write_bytes(files[spec["source_vocabulary"]])
        pieces = read_pieces(path)
    detokenize = []
    for ids in id_lists(pieces, [case["source"] for case in tokenize]):
        outputs = {
            "source": _detokenize(plain[0], ids),
            "target": _detokenize(plain[1], ids),
            "source_clean": _detokenize(clean[0], ids),
            "target_clean": _detokenize(clean[1], ids),
        }
        if any(v is None for v in outputs.values()):
            assert all(v is None for v in outputs.values()), ids
            detokenize.append({"ids": ids, "error": "IndexError"})
        else:
            detokenize.append({"ids": ids, **outputs})
    greedy, _ = fixture_ids(pieces)
    translations = [
        {"text": text, "ids": ids[1:], "translation": plain[1].detokenize(ids[1:])}
        for text, ids in zip(reference()["sentences"], greedy)
    ]
    return {
        "sentencepiece_version": sentencepiece.__version__,
        "special_tokens": special_tokens,
        "vocabulary_size": len(pieces),
        "tokenize": tokenize,
        "detokenize": detokenize,
        "translations": translations,
    }


def check_against_transformers(cases, pieces):
    """Where the Python runtime disagrees with the fixture's transformers outputs (a list of str).

    The fixture's source ids (`input_ids`) must be the `source` ids of its sentences, and
    transformers' texts of its greedy outputs (`greedy_text`: decoded with the source model,
    `greedy_text_target_spm`: with the target model) and of its inputs (`decoded_source`) the
    runtime's `source` / `target` texts.
    """
    ref = reference()
    greedy, inputs = fixture_ids(pieces)
    by_text = {case["text"]: case for case in cases["tokenize"]}
    by_ids = {tuple(case["ids"]): case for case in cases["detokenize"]}
    problems = []

    def expect(what, expected, actual):
        if expected != actual:
            problems.append(f"{what}: transformers {expected!r}, runtime {actual!r}")

    for i, sentence in enumerate(ref["sentences"]):
        expect(f"translation {i}", ref["greedy_text_target_spm"][i], cases["translations"][i]["translation"])
        expect(f"source ids of {sentence!r}", inputs[i], by_text[sentence]["source"])
        expect(f"greedy text {i}", ref["greedy_text"][i], by_ids[tuple(greedy[i])]["source"])
        expect(f"greedy text (target model) {i}", ref["greedy_text_target_spm"][i], by_ids[tuple(greedy[i])]["target"])
        expect(f"decoded source {i}", ref["decoded_source"][i], by_ids[tuple(inputs[i])]["source"])
    return problems


def run_files():
    """{name: bytes} of the run files `import_marian` writes for the fixture (TensorFlow)."""
    from converters.marian import import_marian

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        import_marian(str(FIXTURE), run_dir)
        return {name: pathlib.Path(run_dir, name).read_bytes() for name in RUN_FILES}


def golden_name(name):
    return f"{name}.gz" if name in GZIPPED else name


def build():
    """{golden file name: bytes} (uncompressed content) of every golden file."""
    from zoo.text_tokenizer import SPECIAL_TOKENS

    files = run_files()
    cases = make_cases(files, dict(SPECIAL_TOKENS))
    pieces = files["vocabulary.txt"].decode("utf-8").split("\n")[:-1]
    problems = check_against_transformers(cases, pieces)
    if problems:
        raise SystemExit("the Python runtime disagrees with transformers:\n" + "\n".join(problems))
    out = {golden_name(name): data for name, data in files.items()}
    out[CASES_FILE] = dump_cases(cases).encode("utf-8")
    return out


def _compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dump_cases(cases):
    """`cases.json`: plain JSON, one case per line, for readable diffs."""
    fields = []
    for key, value in cases.items():
        if isinstance(value, list):
            fields.append(f"{_compact(key)}:[\n" + ",\n".join(_compact(item) for item in value) + "\n]")
        else:
            fields.append(f"{_compact(key)}:{_compact(value)}")
    text = "{" + ",\n".join(fields) + "}\n"
    assert json.loads(text) == cases
    return text


def read_golden(path):
    """A golden file's content as `build()` returns it (`.gz` files decompressed)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def committed_run_files(directory=OUT):
    """{run file name: bytes} of the committed goldens (what `make_cases` takes)."""
    return {name: read_golden(pathlib.Path(directory) / golden_name(name)) for name in RUN_FILES}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed goldens are stale")
    parser.add_argument("--out", default=str(OUT), help="golden directory")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    files = build()
    if args.check:
        stale = sorted(
            name for name, data in files.items() if not (out / name).exists() or read_golden(out / name) != data
        )
        extra = sorted(p.name for p in out.glob("*") if p.name not in files) if out.exists() else []
        if stale or extra:
            print(f"{out}: stale {stale}, unexpected {extra}: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*"):
        if stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        (out / name).write_bytes(gzip.compress(data, 9, mtime=0) if name.endswith(".gz") else data)
    cases = json.loads(files[CASES_FILE])
    sizes = ", ".join(f"{name} {(out / name).stat().st_size / 1024:.0f} KiB" for name in files)
    print(
        f"wrote {out}: {len(cases['tokenize'])} tokenize cases, {len(cases['detokenize'])} detokenize cases ({sizes})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
