"""Write the goldens of the Kotlin `SentencePieceTokenizer`: small unigram models + the library's output.

The Kotlin core reads SentencePiece `.model`/`.spm` files itself (OPUS-MT / Marian models ship
them), so its tokenization must be that of the Python `sentencepiece` library (0.2.x) exactly.
This script trains small deterministic unigram models with the library on the bundled
Tatoeba corpus (`zoo/datasets/default/spa-eng.tsv.gz`: `English<TAB>Spanish` lines, both columns
are used) and records, for every model and every text in `texts()`:

- `pieces`, `ids`: `encode(text, out_type=str)`, `encode(text)`;
- `normalized`: `normalize(text)`;
- `decoded_pieces`, `decoded_ids`: `decode_pieces(pieces)`, `decode_ids(ids)`.

Per model also the vocabulary (`pieces`; `piece_ids`: `piece_to_id` of every piece, then of
`MISSING_PIECES`; `unk_id`, `bos_id`, `eos_id`, `pad_id`), `byte_cases` (invalid UTF-8 given
as bytes: `encode(bytes)`), `decode_pieces` (hand-made piece lists, with pieces not in the
model, byte pieces, control pieces) and `decode_ids` (hand-made id lists).

The models (`MODELS`):

- `nmt_nfkc`: unigram, `nmt_nfkc` normalization (the OPUS-MT default), 400 pieces.
- `identity_bytes`: unigram, `identity` normalization, user-defined `>>spa<<` / `>>eng<<`,
  `byte_fallback`, 600 pieces (256 of them bytes).
- `custom_rules`: unigram, a small custom `normalization_rule_tsv` (overlapping multi-character
  rules, deletions, a rule to two spaces), a `denormalization_rule_tsv`, no removal of extra
  whitespace, whitespace as suffix, a control symbol `>>fra<<`, a user-defined `<sep>`; after
  training three pieces are marked UNUSED (one of them a single character).
- `no_escape`: `custom_rules` edited: `escape_whitespaces`, `add_dummy_prefix` off,
  `remove_extra_whitespaces` on, the unknown surface `<?>`.
- `crafted`: a hand-made vocabulary (`CRAFTED_PIECES`, identity normalization) whose scores
  pin down the Viterbi's details: equal-score paths (the first found wins), float (not double)
  path sums, the reset of path scores past 100000, a multi-byte user-defined symbol scored by
  its length in bytes, an UNUSED piece, and a piece that is both CONTROL and NORMAL.

Model files are written gzip-compressed (`NAME.model.gz`): the `nmt_nfkc` charsmap alone is
240 KB raw (143 KB compressed), the others are a few KB.

Usage (from the repository root):

    .venv/bin/python android_demo/tools/make_sentencepiece_goldens.py [--check]

`--check` retrains in memory and exits 1 if the committed models or cases differ.
"""

import argparse
import gzip
import io
import json
import pathlib
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "zoo/datasets/default/spa-eng.tsv.gz"
OUT = ROOT / "android_demo/core/src/test/resources/goldens/sentencepiece"
CASES_FILE = "cases.json"
CORPUS_STEP = 997  # every 997th corpus line (both columns) is a golden text
NUM_CORPUS_LINES = 30

# Custom normalization rules (`normalization_rule_tsv`): source code points TAB target code points.
CUSTOM_RULES = [
    ("41", "61"),  # A -> a
    ("41 42", "78"),  # AB -> x (longer than A: longest match)
    ("41 42 43", "79 7A"),  # ABC -> yz
    ("200B", ""),  # ZERO WIDTH SPACE -> deleted
    ("3000", "20"),  # IDEOGRAPHIC SPACE -> space
    ("9", "20 20"),  # TAB -> two spaces
    ("FF01", "21"),  # FULLWIDTH EXCLAMATION MARK -> !
    ("E9", "65 301"),  # e-acute -> e + COMBINING ACUTE
    ("2160", "49"),  # ROMAN NUMERAL ONE -> I
    ("1F600", "3A 29"),  # GRINNING FACE -> :)
    ("2581", "20"),  # LOWER ONE EIGHTH BLOCK -> space
]
DENORMALIZATION_RULES = [
    ("3A 29", "1F642"),  # :) -> SLIGHTLY SMILING FACE
    ("78", "41 42"),  # x -> AB
]

MODELS = {
    "nmt_nfkc": dict(vocab_size=400, normalization_rule_name="nmt_nfkc"),
    "identity_bytes": dict(
        vocab_size=600,
        normalization_rule_name="identity",
        user_defined_symbols=[">>spa<<", ">>eng<<"],
        byte_fallback=True,
    ),
    "custom_rules": dict(
        vocab_size=300,
        normalization_rule_tsv=CUSTOM_RULES,
        denormalization_rule_tsv=DENORMALIZATION_RULES,
        remove_extra_whitespaces=False,
        treat_whitespace_as_suffix=True,
        control_symbols=[">>fra<<"],
        user_defined_symbols=["<sep>"],
    ),
}
NO_ESCAPE_BASE = "custom_rules"

# (piece, score, type) of the `crafted` model; the comments say which rule of
# `unigram::Model::EncodeOptimized` (sentencepiece 0.2.3) each golden text pins down.
CRAFTED_PIECES = [
    ("<unk>", 0.0, "UNKNOWN"),
    ("<s>", 0.0, "CONTROL"),
    ("</s>", 0.0, "CONTROL"),
    ("dup", 0.0, "CONTROL"),  # also a NORMAL piece below: piece_to_id finds the CONTROL one
    ("\u2581", -0.125, "NORMAL"),
    ("a", -1.0, "NORMAL"),
    ("b", -1.0, "NORMAL"),
    ("ab", -2.0, "NORMAL"),  # "ab": ties with a + b, the path found first (ab) wins
    ("x", -0.5, "NORMAL"),
    ("y", -0.49999997, "NORMAL"),  # "xy": x + y = -0.99999997 in double, -1.0 in float:
    ("xy", -1.0, "NORMAL"),  # a tie (xy wins) only because path scores are float sums
    ("g", -0.5, "NORMAL"),
    ("h", -0.49999988, "NORMAL"),  # "wwgh": g + h beats gh by one float ulp, unless the
    ("gh", -1.0, "NORMAL"),  # scores are near -120000 (no reset at 100000): then a tie
    ("w", -60000.0, "NORMAL"),  # "wwr": after the reset, the earlier "wr" path must have
    ("wr", -60000.5, "NORMAL"),  # been shifted too, or r wins
    ("r", -1.0, "NORMAL"),
    ("\u00e9", 0.1, "NORMAL"),
    ("\u00e9\u00e9", 0.0, "USER_DEFINED"),  # "éé": 0.1 * (4 bytes - 1) = 0.3 > 0.1 + 0.1 (2 chars: 0.1)
    ("dup", -1.0, "NORMAL"),
    ("q", -3.0, "UNUSED"),  # "q" alone is unknown, "qq" is a piece
    ("qq", -1.0, "NORMAL"),
    ("z", -1.0, "NORMAL"),
]

EDGE_CASES = [
    "",
    " ",
    "     ",
    "Hello world.",
    "¿Dónde está la biblioteca? ¡Vámonos!",
    "  leading and trailing  ",
    "repeated    inner     spaces",
    "tab\tseparated\t\twords",
    "line one\nline two\r\nline three\rfour",
    "\t\n \u000b\u000c",
    "café naïve résumé",  # composed (NFC)
    "cafe\u0301 nai\u0308ve re\u0301sume\u0301",  # decomposed (NFD)
    "Ñandú, pingüino, acción",
    "N\u0303andu\u0301",
    "中文字符和日本語のテキスト",
    "한국어 텍스트",
    "Emoji: 😀 👍🏽 ❤️",
    "Family: 👨\u200d👩\u200d👧\u200d👦 flag: 🇪🇸 🇺🇸",
    "no\u00a0break\u00a0space",
    "en\u2002em\u2003thin\u2009hair\u200aideographic\u3000narrow\u202fmath\u205fspace",
    "line\u2028separator\u2029paragraph\u0085next",
    "bell\u0007unit\u001fsep",
    "nul\u0000inside",
    "\u0000",
    "del\u007fc1\u0080\u009f",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom",
    "soft\u00adhyphen",
    "Ｆｕｌｌｗｉｄｔｈ ＬＥＴＴＥＲＳ １２３ ！",
    "ﬁnance ﬂow ﬀ",
    "Chapter Ⅻ and ⅷ, ½ ² ㎏ ℃ №",
    "ｶﾀｶﾅ ﾊﾝｶｸ",
    "a" * 200,
    "x" + "é" * 150 + "y",
    ">>spa<< Hello",
    ">>spa<<>>eng<< twice",
    "<sep> and <s> and </s> and <unk>",
    ">>fra<< bonjour",
    "replacement \ufffd char",
    "private use \ue000 \U000f0000 \U0010fffd \U0010ffff",
    "noncharacter \ufdd0 \uffff",
    "mixed: English, español, Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย",
    "ABC AB A ABCD BABC",
    "Ⅰ Ⅱ 😀😀 ！！",
    "▁ already escaped ▁▁",
    "a ▁",
    "▁",
    "x  ▁ y",
    "  \u200b  ",
    "\u200b",
    "\u3000leading ideographic",
    "trailing ideographic\u3000",
    "123 4567 89.5% 3,000",
    "e-mail: tom@example.com, http://example.com/a?b=c&d",
    "\"quotes\" 'single' «guillemets» „low“ ‘curly’",
    "…—–-‐",
    "I can't believe it's not butter!",
    "Tom y María fueron al mercado.",
    "ab",
    "b ab",
    "xy xyxy",
    "éé ééé",
    "wwgh",
    "wwr",
    "gh wwr wwgh",
    "dup <s> </s>",
    "qq q qqq",
    "zabxyééqdup",
]

DECODE_PIECES = [
    [],
    [""],
    ["▁Hello", "▁world"],
    ["▁", "▁a"],
    ["▁▁", "▁a▁b▁"],
    ["<s>", "▁Hola", "</s>"],
    ["<unk>", "x", "<unk>"],
    ["▁not_in_model▁", "▁a"],
    ["abc▁", "def"],
    ["<0x41>", "<0xC3>", "<0xA9>", "<0xFF>", "▁b"],
    ["<0xE2>", "<0x96>", "<0x81>", "a"],
    ["<0xC3>"],
    ["<0xED>", "<0xA0>", "<0x80>"],
    ["<0xF0>", "<0x9F>", "<0x98>", "▁x"],
    ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"],
    ["<0x00>", "<0x20>", "<0x0A>"],
    ["<0x41>", "▁b", "<0x42>"],
    ["<0x41>", "▁a"],
    [">>spa<<", "▁Hola"],
    ["▁", ">>spa<<", "▁Hola"],
    ["<sep>", "▁"],
    [">>fra<<", "▁bonjour"],
    ["▁x", "y", ":)", "▁"],
    ["▁"],
    ["▁", "▁"],
    ["\u2581\u2581"],
    ["e", "\u0301"],
    ["<0xZZ>", "<0x4>", "<0x041>"],
]

MISSING_PIECES = ["\u2581not in any model", "<0x41>", "<UNK>", ""]  # piece_to_id of pieces no model has

BYTE_CASES = [
    b"\xff",
    b"\xc3",
    b"\xc3(",
    b"\xe2\x82",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xc0\xaf",  # overlong
    b"\xf8\x88\x80\x80\x80",
    b"\x80 lone continuation",
    b"a\xffb \xfe c",
    b"\xe2\x96\x81",
    b"\x00",
    b"  \xff  ",
    b">>spa<<\xff",
]


def corpus_lines():
    """The English and Spanish columns of the bundled corpus, in file order (en, es, en, ...)."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = [line.split("\t") for line in f.read().splitlines() if line.strip()]
    return [column for row in rows for column in row[:2]]


def texts(lines):
    """Golden texts: every CORPUS_STEP-th line of both columns, then EDGE_CASES."""
    rows = [(lines[2 * i], lines[2 * i + 1]) for i in range(len(lines) // 2)]
    picked = [text for row in rows[::CORPUS_STEP][:NUM_CORPUS_LINES] for text in row]
    return picked + EDGE_CASES


def _rules_file(directory, name, rules):
    path = pathlib.Path(directory) / f"{name}.tsv"
    path.write_text("".join(f"{src}\t{trg}\n" for src, trg in rules), encoding="utf-8")
    return str(path)


def train(name, lines, trained):
    """Serialized ModelProto of MODELS[name] (or of the edited `no_escape` model, from `trained`)."""
    if name == "no_escape":
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(trained[NO_ESCAPE_BASE])
        proto.normalizer_spec.escape_whitespaces = False
        proto.normalizer_spec.add_dummy_prefix = False
        proto.normalizer_spec.remove_extra_whitespaces = True
        proto.trainer_spec.unk_surface = "<?>"
        return proto.SerializeToString()
    options = dict(MODELS[name])
    with tempfile.TemporaryDirectory() as tmp:
        for key in ("normalization_rule_tsv", "denormalization_rule_tsv"):
            if key in options:
                options[key] = _rules_file(tmp, key, options[key])
        writer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=writer,
            model_type="unigram",
            num_threads=1,
            minloglevel=2,
            **options,
        )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(writer.getvalue())
    # The rule files were temporary: drop their paths (the compiled charsmaps stay).
    for spec in ("normalizer_spec", "denormalizer_spec"):
        if proto.HasField(spec):
            getattr(proto, spec).ClearField("normalization_rule_tsv")
    if name == "custom_rules":
        _mark_unused(proto)
    return proto.SerializeToString()


def crafted_model():
    """Serialized ModelProto of the hand-made `crafted` model (no training)."""
    proto = sentencepiece_model_pb2.ModelProto()
    types = sentencepiece_model_pb2.ModelProto.SentencePiece.Type
    for piece, score, kind in CRAFTED_PIECES:
        proto.pieces.add(piece=piece, score=score, type=types.Value(kind))
    proto.trainer_spec.model_type = sentencepiece_model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(CRAFTED_PIECES)
    proto.normalizer_spec.name = "identity"
    return proto.SerializeToString()


def _mark_unused(proto):
    """Mark two multi-character pieces and one single-character piece UNUSED."""
    normal = sentencepiece_model_pb2.ModelProto.SentencePiece.NORMAL
    unused = sentencepiece_model_pb2.ModelProto.SentencePiece.UNUSED
    long_pieces = [p for p in proto.pieces if p.type == normal and len(p.piece) >= 3][:2]
    single = [p for p in proto.pieces if p.type == normal and p.piece == "q"]
    assert len(long_pieces) == 2 and len(single) == 1, "no piece to mark UNUSED"
    for piece in long_pieces + single:
        piece.type = unused


def _text(piece):
    """A piece as str (the library returns bytes input's pieces as str or bytes, by version)."""
    return piece.decode("utf-8") if isinstance(piece, bytes) else piece


def model_cases(model_bytes, golden_texts):
    """The library's output for every golden text, byte case, piece list and id list."""
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    size = sp.get_piece_size()
    cases = []
    for text in golden_texts:
        pieces = sp.encode(text, out_type=str)
        ids = sp.encode(text)
        cases.append(
            {
                "text": text,
                "normalized": sp.normalize(text),
                "pieces": pieces,
                "ids": ids,
                "decoded_pieces": sp.decode_pieces(pieces),
                "decoded_ids": sp.decode_ids(ids),
            }
        )
    byte_cases = [
        {
            "hex": data.hex(),
            "pieces": [_text(piece) for piece in sp.encode(data, out_type=str)],
            "ids": sp.encode(data),
        }
        for data in BYTE_CASES
    ]
    decode_pieces = [{"pieces": pieces, "text": sp.decode_pieces(pieces)} for pieces in DECODE_PIECES]
    id_lists = [list(range(min(size, 40))), [size - 1, 0, size - 2], [2, 1, 0]]
    id_lists.append([sp.piece_to_id(p) for p in ("<0xE4>", "<0xB8>", "<0xAD>", "▁a", "<0xFF>")])
    decode_ids = [{"ids": ids, "text": sp.decode_ids(ids)} for ids in id_lists]
    pieces = [sp.id_to_piece(i) for i in range(size)]
    return {
        "vocabulary_size": size,
        "unk_id": sp.unk_id(),
        "bos_id": sp.bos_id(),
        "eos_id": sp.eos_id(),
        "pad_id": sp.pad_id(),
        "pieces": pieces,
        "piece_ids": [sp.piece_to_id(piece) for piece in pieces + MISSING_PIECES],
        "cases": cases,
        "byte_cases": byte_cases,
        "decode_pieces": decode_pieces,
        "decode_ids": decode_ids,
    }


def build():
    """{file name: bytes} of every golden file (models uncompressed, `cases.json`)."""
    lines = corpus_lines()
    golden_texts = texts(lines)
    files = {}
    trained = {}
    models = []
    for name in [*MODELS, "no_escape", "crafted"]:
        trained[name] = crafted_model() if name == "crafted" else train(name, lines, trained)
        file = f"{name}.model.gz"
        files[file] = trained[name]
        models.append({"name": name, "file": file, **model_cases(trained[name], golden_texts)})
    files[CASES_FILE] = dump_cases(spm.__version__, models).encode("utf-8")
    return files


def _compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dump_cases(version, models):
    """`cases.json`: plain JSON, one case (or piece list) per line, for readable diffs."""
    out = [f'{{"sentencepiece_version":{_compact(version)},"models":[']
    for m, model in enumerate(models):
        fields = []
        for key, value in model.items():
            if isinstance(value, list) and value and isinstance(value[0], (dict, str)):
                per_line = 20 if isinstance(value[0], str) else 1
                chunks = [value[i : i + per_line] for i in range(0, len(value), per_line)]
                body = ",\n".join(",".join(_compact(item) for item in chunk) for chunk in chunks)
                fields.append(f"{_compact(key)}:[\n{body}\n]")
            else:
                fields.append(f"{_compact(key)}:{_compact(value)}")
        out.append("{" + ",\n".join(fields) + "}" + ("," if m + 1 < len(models) else ""))
    out.append("]}")
    text = "\n".join(out) + "\n"
    assert json.loads(text) == {"sentencepiece_version": version, "models": models}
    return text


def read_golden(path):
    """A golden file's content as `build()` returns it (model files decompressed)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


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
    count = sum(len(m["cases"]) + len(m["byte_cases"]) + len(m["decode_pieces"]) + len(m["decode_ids"]) for m in cases["models"])
    sizes = ", ".join(f"{name} {(out / name).stat().st_size / 1024:.0f} KiB" for name in files)
    print(f"wrote {out}: {len(cases['models'])} models, {count} cases ({sizes})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
