"""Tests for `ondevice.tokenizer`: id parity with keras-hub and detokenization.

The reference is the TensorFlow path of `keras_hub.tokenizers.
WordPieceTokenizer` (RE2 splitting + `tf_text.FastWordpieceTokenizer`), which
is what `tf.data` training pipelines run. keras-hub 0.32 runs a separate pure
Python path for eager calls, so the reference tokenizer is always called
inside a `tf.function` here.
"""

import pathlib
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ondevice.tokenizer import RESERVED_TOKENS
from ondevice.tokenizer import WordPieceTokenizer
from ondevice.tokenizer import detokenize_words

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "multi30k"
TRAIN_LINES = 3000
VOCABULARY_SIZE = 2000
# Measured: 1011/1014 = 0.997 (en), 1011/1013 = 0.998 (de) of the eligible
# val lines round-trip exactly.
ROUND_TRIP_THRESHOLD = 0.98

needs_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(),
    reason=f"Multi30k data folder not found at {DATA_DIR}",
)


def nfc(text):
    return unicodedata.normalize("NFC", text)


def read_lines(path, limit=None):
    with open(path, encoding="utf-8") as file:
        lines = [line.rstrip("\n") for line in file]
    return lines[:limit] if limit is not None else lines


NASTY_STRINGS = [
    "",
    " ",
    "     ",
    "\t\n\r\f",
    "a\u00a0b",  # NBSP is not a delimiter in RE2.
    "Nummer\u00a028.",
    "\u3000A\u2028B\u2029C",  # Unicode spaces that RE2 \s does not match.
    "a\tb\nc\rd\fe\vf",
    "a\x00 b",  # tf_text.regex_split stops at NUL.
    "\x00A man",
    "A man\x00\x00 sits",
    "x\x01y\x1fz\x7fw\x85v\x9fu",
    "a\u200bb\u200cc\u200dd\ufeffe\u2060f\u00adg",  # Cf: dropped.
    "A\U00013439B\U0001343fC",  # Cf only since Unicode 15.
    "A\U00011f43B\U00011b00C",  # Po only since Unicode 15.
    "😀 A man 😀a b😀 👩‍👩‍👧 🇩🇪",
    "中文 text with 漢字and ひらがな カタカナ 한국어",
    "\U00020000x\U0002a6df\uf900y\U0002f800",
    "e\u0301 é E\u0301 ñ n\u0303 Ä A\u0308",  # NFC composes these.
    "a" * 99,
    "a" * 100,
    "a" * 101,
    "ä" * 50,
    "ä" * 51,
    "A" + "man" * 40 + " sits.",
    "Don't do that! It's the man's dog, isn't it?",
    "The dogs' bowls ' are ''red''.",
    "Don’t ‘quote’ me.",
    "A red-haired man in a T-shirt - and a well-known 3-year-old.",
    "1 12 123 1234 12345 3.5 1,000 10:30 2019/20 50% 1st 2nd",
    '"Hello," she said. "Bye!"',
    "Er sagt: „Hallo“ und «bonjour» und “hi” und ‚so‘.",
    "¿Dónde está el baño? ¡Qué bueno! El niño y la niña.",
    "Über Straße, Größe, Fußgänger: ÄÖÜ äöü ß ẞ.",
    "Zwei Teams à zwei Männer…",
    "$5 + 3 = <8> ^ `x` | ~ \\ _ @ # & * { } [ ] ( )",
    "° € £ ¥ © ® ™ § ¶ · × ÷ ± ½ ² ³",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ，．",
    "\u0645\u0631\u062d\u0628\u0627 \u060c \u05e9\u05dc\u05d5\u05dd",
    "A man\u2014wearing a hat\u2013sits\u2026",
    "  leading and trailing spaces  ",
]

SPECIFIC_ROUND_TRIPS = [
    "Ein Mann, der ein T-Shirt trägt.",
    "¿Dónde está el baño?",
    "Don't do that!",
    "Éléonore ÜBER die Straße in Ålesund; ÇA VA, señor?",
    "Er sagt: „Hallo Welt“ und geht.",
    "Ein Obst- und Gemüsehändler mit T-Shirt.",
    'She said "hello" (twice) to 50% of the red-haired men.',
    "Es kostet 3.5 Euro, um 10:30 Uhr.",
    "¡Qué día! «Bonjour», dit-il…",
]


# --------------------------------------------------------------------------
# Pure Python tests (no TensorFlow, no data).
# --------------------------------------------------------------------------


def char_tokenizer(texts):
    """A tokenizer whose vocabulary covers every character of `texts`."""
    chars = sorted({c for text in texts for c in nfc(text)})
    vocabulary = list(RESERVED_TOKENS) + chars + ["##" + c for c in chars]
    return WordPieceTokenizer(vocabulary)


def test_module_is_standard_library_only():
    path = REPO_ROOT / "ondevice" / "tokenizer.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('t', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "bad = {'tensorflow', 'keras', 'keras_hub', 'regex', 'numpy'}\n"
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_words_splitting_rules():
    tokenizer = WordPieceTokenizer(list(RESERVED_TOKENS))
    words = tokenizer.words
    assert words("") == []
    assert words(" \t\n ") == []
    assert words("a\u00a0b c") == ["a\u00a0b", "c"]
    assert words("a\u3000b\u2028c") == ["a\u3000b\u2028c"]
    assert words("a\x85b\u200bc\u200dd") == ["a", "b", "c", "d"]
    assert words("a\x00 b") == ["a"]
    assert words("T-Shirt, don't!") == [
        "T", "-", "Shirt", ",", "don", "'", "t", "!",
    ]
    assert words("$5+3=8^2`") == ["$", "5", "+", "3", "=", "8", "^", "2", "`"]
    assert words("中文ab") == ["中", "文", "ab"]
    assert words("ひらがな한국어") == ["ひらがな한국어"]
    assert words("😀a😀 b") == ["😀a😀", "b"]
    assert words("„Hallo“…«x»¿¡") == [
        "„", "Hallo", "“", "…", "«", "x", "»", "¿", "¡",
    ]
    # NFC: the decomposed "e" + U+0301 becomes one word "é".
    assert words("Caf\u0065\u0301 x") == ["Café", "x"]
    # Unicode 15 additions (RE2 knows them, Python 3.11's unicodedata not).
    assert words("a\U00013439b") == ["a", "b"]
    assert words("a\U00011f43b") == ["a", "\U00011f43", "b"]


def test_wordpiece_greedy_longest_match():
    vocabulary = list(RESERVED_TOKENS) + [
        "un", "unaff", "##aff", "##able", "##a", "##ffable", "a", ".",
    ]
    tokenizer = WordPieceTokenizer(vocabulary)
    ids = {t: i for i, t in enumerate(vocabulary)}
    assert tokenizer.tokenize("unaffable") == [ids["unaff"], ids["##able"]]
    assert tokenizer.tokenize("una") == [ids["un"], ids["##a"]]
    # A word that cannot be fully covered is one [UNK].
    assert tokenizer.tokenize("unx a.") == [1, ids["a"], ids["."]]
    assert tokenizer.tokenize("a" * 100) == [ids["a"]] + [ids["##a"]] * 99
    assert tokenizer.tokenize("a" * 101) == [1]


def test_constructor_and_lookup():
    with pytest.raises(ValueError, match="unique"):
        WordPieceTokenizer(["[UNK]", "a", "a"])
    with pytest.raises(ValueError, match="oov_token"):
        WordPieceTokenizer(["[PAD]", "a"])
    tokenizer = WordPieceTokenizer(["[PAD]", "<unk>", "a"], oov_token="<unk>")
    assert tokenizer.tokenize("a b") == [2, 1]
    assert tokenizer.vocabulary_size == 3
    assert tokenizer.id_to_token(2) == "a"
    assert tokenizer.token_to_id("<unk>") == 1
    with pytest.raises(ValueError):
        tokenizer.id_to_token(3)
    with pytest.raises(ValueError):
        tokenizer.id_to_token(-1)
    with pytest.raises(ValueError):
        tokenizer.token_to_id("b")


def test_from_file_strips_like_keras_hub(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("[PAD]\r\n[UNK] \n[START]\n[END]\nab\t\n##c\n".encode())
    tokenizer = WordPieceTokenizer.from_file(path)
    assert tokenizer.vocabulary == [
        "[PAD]", "[UNK]", "[START]", "[END]", "ab", "##c",
    ]
    assert tokenizer.tokenize("abc") == [4, 5]


def test_detokenize_skips_reserved_and_merges_pieces():
    vocabulary = list(RESERVED_TOKENS) + [
        "Ein", "Mann", "##es", ",", "T", "-", "Sh", "##irt", ".",
    ]
    tokenizer = WordPieceTokenizer(vocabulary)
    ids = tokenizer.tokenize("Ein Mannes, T-Shirt.")
    assert ids == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert tokenizer.detokenize([2] + ids + [3, 0, 0]) == "Ein Mannes, T-Shirt."
    # [UNK] is kept as a word; a leading suffix piece loses its "##".
    assert tokenizer.detokenize([1, 5, 6, 1, 12]) == "[UNK] Mannes [UNK]."
    assert tokenizer.detokenize([6, 4]) == "es Ein"
    assert tokenizer.detokenize([]) == ""
    assert tokenizer.detokenize([0, 2, 3]) == ""


@pytest.mark.parametrize(
    "words, expected",
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b", "c"], "a b c"),
        (["Hi", ",", "you", "!"], "Hi, you!"),
        (["a", ".", ",", "!", "?", ";", ":", "%", "…", "b"], "a.,!?;:%… b"),
        (["(", "a", ")", "[", "b", "]", "{", "c", "}"], "(a) [b] {c}"),
        (["¿", "Qué", "?", "¡", "Sí", "!"], "¿Qué? ¡Sí!"),
        (["«", "oui", "»", "dit", "-", "il"], "«oui» dit-il"),
        (["Don", "'", "t"], "Don't"),
        (["man", "’", "s", "hat"], "man’s hat"),
        (["the", "dogs", "'", "."], "the dogs'."),
        (["'", "a"], "' a"),
        (["red", "-", "haired"], "red-haired"),
        (["and", "/", "or"], "and/or"),
        (["Obst", "-", "und", "Gemüse"], "Obst- und Gemüse"),
        (["rot", "/", "und"], "rot/und"),
        (["a", "-", "."], "a -."),
        (["-", "a"], "- a"),
        (["3", "-", "4"], "3-4"),
        (
            ["3", ".", "5", "and", "1", ",", "000", "10", ":", "30"],
            "3.5 and 1,000 10:30",
        ),
        (["a", ".", "5"], "a. 5"),
        (['"', "a", '"', "b", '"', "c", '"', "."], '"a" b "c".'),
        (["„", "Open", "“", "-", "Schild"], "„Open“-Schild"),
        (["“", "Hi", "”", "x"], "“Hi” x"),
        (["(", "a", ")", "-", "b"], "(a)-b"),
        (["[UNK]", "-", "[UNK]"], "[UNK]-[UNK]"),
        (["e\u0301"], "é"),
    ],
)
def test_detokenize_words_rules(words, expected):
    assert detokenize_words(words) == expected


@pytest.mark.parametrize("text", SPECIFIC_ROUND_TRIPS)
def test_specific_round_trips(text):
    tokenizer = char_tokenizer([text])
    ids = tokenizer.tokenize(text)
    assert tokenizer.token_to_id("[UNK]") not in ids
    assert tokenizer.detokenize(ids) == text
    assert detokenize_words(tokenizer.words(text)) == text


def test_round_trip_preserves_case_and_accents():
    text = "ÉLAN élan Straße STRASSE Ñandú"
    tokenizer = char_tokenizer([text])
    assert tokenizer.detokenize(tokenizer.tokenize(text)) == text
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    assert tokenizer.detokenize(tokenizer.tokenize(decomposed)) == text


# --------------------------------------------------------------------------
# Parity with keras-hub on Multi30k vocabularies (TensorFlow + data).
# --------------------------------------------------------------------------


class Reference:
    """A learned vocabulary, both tokenizers and the val lines of a language."""

    def __init__(self, language):
        tf = pytest.importorskip("tensorflow")
        pytest.importorskip("tensorflow_text")
        keras_hub = pytest.importorskip("keras_hub")
        self.language = language
        train = [
            nfc(line)
            for line in read_lines(DATA_DIR / f"train.{language}", TRAIN_LINES)
        ]
        self.vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            tf.data.Dataset.from_tensor_slices(train).batch(1000),
            vocabulary_size=VOCABULARY_SIZE,
            reserved_tokens=list(RESERVED_TOKENS),
            lowercase=False,
            strip_accents=False,
        )
        self.keras_hub_tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=self.vocabulary,
            lowercase=False,
            strip_accents=False,
            split=True,
            split_on_cjk=True,
            oov_token="[UNK]",
        )
        # Inside a `tf.function` keras-hub takes its TensorFlow path.
        self._batch_fn = tf.function(
            self.keras_hub_tokenizer,
            input_signature=[tf.TensorSpec([None], tf.string)],
        )
        self._tf = tf
        self.tokenizer = WordPieceTokenizer(self.vocabulary)
        self.val = [
            nfc(line) for line in read_lines(DATA_DIR / f"val.{language}")
        ]

    def keras_hub_ids(self, texts):
        """Ids from keras-hub for a list of (NFC) texts, batched."""
        outputs = []
        for start in range(0, len(texts), 512):
            chunk = [t.encode("utf-8") for t in texts[start : start + 512]]
            ragged = self._batch_fn(self._tf.constant(chunk, self._tf.string))
            outputs.extend(ragged.to_list())
        return outputs


@pytest.fixture(scope="module", params=["en", "de"])
def reference(request):
    return Reference(request.param)  # every test using it is marked @needs_data


def assert_parity(reference, texts):
    ours = [reference.tokenizer.tokenize(text) for text in texts]
    theirs = reference.keras_hub_ids([nfc(text) for text in texts])
    mismatches = [
        (text, mine, other)
        for text, mine, other in zip(texts, ours, theirs)
        if mine != other
    ]
    assert not mismatches, (
        f"{len(mismatches)}/{len(texts)} mismatches, e.g. {mismatches[:3]}"
    )
    return ours


@needs_data
def test_vocabulary_layout(reference):
    assert tuple(reference.vocabulary[:4]) == RESERVED_TOKENS
    assert 500 < reference.tokenizer.vocabulary_size <= VOCABULARY_SIZE
    assert reference.keras_hub_tokenizer.vocabulary_size() == (
        reference.tokenizer.vocabulary_size
    )


@needs_data
def test_parity_on_val(reference):
    assert len(reference.val) == 1014
    ours = assert_parity(reference, reference.val)
    unk = reference.tokenizer.token_to_id("[UNK]")
    total = sum(len(ids) for ids in ours)
    assert total > 10 * len(ours)
    # The vocabulary actually covers the text (the check is not vacuous).
    assert sum(ids.count(unk) for ids in ours) < 0.02 * total


@needs_data
def test_parity_on_nasty_strings(reference):
    ours = assert_parity(reference, NASTY_STRINGS)
    by_text = dict(zip(NASTY_STRINGS, ours))
    # The reference really is the TensorFlow path: the keras-hub Python path
    # would not stop at NUL.
    assert by_text["a\x00 b"] == reference.tokenizer.tokenize("a")
    assert by_text[""] == [] and by_text["     "] == []
    assert by_text["a" * 101] == [reference.tokenizer.token_to_id("[UNK]")]


@needs_data
def test_from_file_matches_keras_hub(reference, tmp_path):
    path = tmp_path / "vocabulary.txt"
    with open(path, "w", encoding="utf-8", newline="\r\n") as file:
        for token in reference.vocabulary:
            file.write(token + " \n")
    keras_hub = pytest.importorskip("keras_hub")
    from_file = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=str(path))
    ours = WordPieceTokenizer.from_file(path)
    assert ours.vocabulary == from_file.get_vocabulary() == reference.vocabulary


NASTY_CHARS = (
    " \t\n\r\f\v\x00\x01\x1f\x7f\x85\xa0\xad\u200b\u200c\u200d\u2028\u3000"
    "\ufeff\U00013439\U00011f43.,!?'\"-/()[]{}$+<=>^`|~\\_@#&*%…„“”«»¿¡"
    "中文漢字\U00020000ひカ한😀👩\u200d👧🇩éèäöüßÄÖÜñÑ\u0301\u0308"
)
NASTY_ALPHABET = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(NASTY_CHARS),
    st.sampled_from("abcdefghijklmnopqrstuvwxyzAEMST0123456789"),
)


@needs_data
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_parity_property(reference, data):
    pieces = [t.removeprefix("##") for t in reference.vocabulary[4:]]
    text = data.draw(
        st.one_of(
            st.text(NASTY_ALPHABET, max_size=40),
            st.lists(
                st.one_of(
                    st.sampled_from(pieces),
                    st.text(NASTY_ALPHABET, max_size=2),
                ),
                max_size=10,
            ).map("".join),
        ),
        label="text",
    )
    ours = reference.tokenizer.tokenize(text)
    assert ours == reference.keras_hub_ids([nfc(text)])[0]
    assert all(0 <= i < reference.tokenizer.vocabulary_size for i in ours)
    detokenized = reference.tokenizer.detokenize(ours)
    assert detokenized == nfc(detokenized)


@needs_data
def test_round_trip_on_val(reference):
    tokenizer = reference.tokenizer
    unk = tokenizer.token_to_id("[UNK]")
    eligible = exact = 0
    failures = []
    for line in reference.val:
        if line != " ".join(line.split()):
            continue  # Spacing is not "normal" (double / edge spaces, tabs).
        ids = tokenizer.tokenize(line)
        if unk in ids:
            continue
        eligible += 1
        detokenized = tokenizer.detokenize(ids)
        if detokenized == line:
            exact += 1
        else:
            failures.append((line, detokenized))
    fraction = exact / eligible
    print(
        f"\n[{reference.language}] round trip: {exact}/{eligible} = "
        f"{fraction:.4f} of UNK-free, normally spaced val lines; "
        f"failures: {failures[:5]}"
    )
    assert eligible > 0.5 * len(reference.val)
    assert fraction >= ROUND_TRIP_THRESHOLD


@needs_data
def test_real_vocabulary_round_trip_examples(reference):
    text = {"en": "Don't do that!", "de": "Ein Mann, der ein T-Shirt trägt."}[
        reference.language
    ]
    ids = reference.tokenizer.tokenize(text)
    assert reference.tokenizer.token_to_id("[UNK]") not in ids
    assert reference.tokenizer.detokenize(ids) == text
