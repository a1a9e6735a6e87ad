"""Pure-Python WordPiece tokenizer for the on-device runtime.

This module has no dependencies outside the standard library (no TensorFlow,
no Keras, no NumPy, no `regex`). It reproduces, id for id, the TensorFlow
path of

```python
keras_hub.tokenizers.WordPieceTokenizer(
    vocabulary=vocab,
    lowercase=False,
    strip_accents=False,
    split=True,
    split_on_cjk=True,
    oov_token="[UNK]",
)
```

i.e. the RE2 `regex_replace` + `tf_text.regex_split` pre-tokenization
followed by `tf_text.FastWordpieceTokenizer`, with the input first
normalized to NFC (as the project does on both the training and the device
side).

The rules are kept explicit so that they can be mirrored in Kotlin:

1. Normalize the text to NFC.
2. Truncate the text at the first U+0000 (NUL). `tf_text.regex_split`
   silently drops everything from the first NUL onwards; we do the same.
3. Classify each code point:
    - *whitespace* (a delimiter that is dropped): ASCII `" \\t\\n\\r\\f"`
      (RE2's `\\s` is ASCII only, so e.g. U+00A0 NBSP, U+3000 and U+2028
      are NOT delimiters) or Unicode category `Cc` or `Cf` (control and
      format characters, e.g. U+0085, U+200B, U+200D, U+FEFF).
    - *punctuation* (a delimiter that is kept as its own word): the ASCII
      ranges `!-/`, `:-@`, `[-\\``, `{-~` (so `$ + < = > ^ \\` | ~` count
      as punctuation) or Unicode category `P*`.
    - *CJK* (kept as its own word): the CJK ideograph ranges of the original
      BERT tokenizer, see `CJK_RANGES`.
    - everything else is part of a word (letters, digits, marks, symbols
      such as emoji, `°`, `€`, NBSP, ...).
   RE2 (inside TensorFlow 2.21) uses Unicode 15 tables, while Python 3.11's
   `unicodedata` is Unicode 14. The code points added to `Cf` / `P*` in
   Unicode 15 are therefore listed explicitly in `EXTRA_WHITESPACE_RANGES`
   and `EXTRA_PUNCTUATION_RANGES`.
4. WordPiece each word: a word longer than `MAX_BYTES_PER_WORD` UTF-8 bytes
   becomes the out-of-vocabulary token; otherwise greedy longest-match-first
   over the vocabulary, pieces after the first carrying the suffix indicator
   (`"##"`). A word that cannot be fully covered becomes a single
   out-of-vocabulary token.
"""

import unicodedata

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[START]", "[END]")
"""Tokens with ids 0..3 in every vocabulary the project writes."""

MAX_BYTES_PER_WORD = 100
"""Words longer than this many UTF-8 bytes map to the oov token."""

ASCII_WHITESPACE = " \t\n\r\f"
"""RE2 `\\s`: ASCII whitespace only (no U+000B, which is `Cc` anyway)."""

WHITESPACE_CATEGORIES = ("Cc", "Cf")

ASCII_PUNCTUATION_RANGES = (
    (0x21, 0x2F),  # ! " # $ % & ' ( ) * + , - . /
    (0x3A, 0x40),  # : ; < = > ? @
    (0x5B, 0x60),  # [ \ ] ^ _ `
    (0x7B, 0x7E),  # { | } ~
)

CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

# Code points that RE2's Unicode 15 tables put in `Cf` / `P*` but that are
# unassigned in Python 3.11's `unicodedata` (Unicode 14.0).
EXTRA_WHITESPACE_RANGES = (
    (0x13439, 0x1343F),  # Egyptian hieroglyph format controls (Cf).
)
EXTRA_PUNCTUATION_RANGES = (
    (0x11B00, 0x11B09),  # Devanagari Extended-A head marks (Po).
    (0x11F43, 0x11F4F),  # Kawi punctuation (Po).
)

_WORD = 0
_WHITESPACE = 1
_KEEP = 2


def _in_ranges(code_point, ranges):
    for low, high in ranges:
        if low <= code_point <= high:
            return True
    return False


_CHAR_CLASS_CACHE = {}


def _char_class(char):
    """Return `_WORD`, `_WHITESPACE` (dropped) or `_KEEP` (own word)."""
    cls = _CHAR_CLASS_CACHE.get(char)
    if cls is not None:
        return cls
    code_point = ord(char)
    category = unicodedata.category(char)
    if (
        char in ASCII_WHITESPACE
        or category in WHITESPACE_CATEGORIES
        or _in_ranges(code_point, EXTRA_WHITESPACE_RANGES)
    ):
        cls = _WHITESPACE
    elif (
        _in_ranges(code_point, ASCII_PUNCTUATION_RANGES)
        or category.startswith("P")
        or _in_ranges(code_point, EXTRA_PUNCTUATION_RANGES)
        or _in_ranges(code_point, CJK_RANGES)
    ):
        cls = _KEEP
    else:
        cls = _WORD
    if len(_CHAR_CLASS_CACHE) < 65536:
        _CHAR_CLASS_CACHE[char] = cls
    return cls


class WordPieceTokenizer:
    """A WordPiece tokenizer matching the keras-hub TensorFlow path.

    Produces exactly the ids of
    `keras_hub.tokenizers.WordPieceTokenizer(vocabulary, lowercase=False,
    strip_accents=False, split=True, split_on_cjk=True)` (through
    `tf_text.FastWordpieceTokenizer`) for NFC-normalized text, using only the
    Python standard library. See the module docstring for the exact rules.

    Args:
        vocabulary: list of str. The WordPiece tokens; a token's id is its
            index. Tokens must be unique and contain `oov_token`.
        oov_token: str. The token substituted for words that cannot be
            tokenized. Defaults to `"[UNK]"`.
        suffix_indicator: str. The prefix marking a piece that continues a
            word, e.g. `"##ing"`. Defaults to `"##"`.

    Examples:

    >>> vocab = ["[PAD]", "[UNK]", "[START]", "[END]", "T", "-", "Sh",
    ...          "##irt", "."]
    >>> tokenizer = WordPieceTokenizer(vocab)
    >>> tokenizer.words("T-Shirt.")
    ['T', '-', 'Shirt', '.']
    >>> tokenizer.tokenize("T-Shirt.")
    [4, 5, 6, 7, 8]
    >>> tokenizer.detokenize([2, 4, 5, 6, 7, 8, 3])
    'T-Shirt.'
    """

    def __init__(
        self,
        vocabulary: list[str],
        oov_token: str = "[UNK]",
        suffix_indicator: str = "##",
    ):
        vocabulary = list(vocabulary)
        token_to_id = {}
        for i, token in enumerate(vocabulary):
            if not isinstance(token, str):
                raise ValueError(
                    f"Vocabulary tokens must be str. Received: {token!r}"
                )
            if token in token_to_id:
                raise ValueError(
                    "Tokens in the vocabulary must be unique. "
                    f"Duplicate: {token!r}"
                )
            token_to_id[token] = i
        if oov_token not in token_to_id:
            raise ValueError(
                f"Cannot find `oov_token={oov_token!r}` in the vocabulary."
            )
        if not suffix_indicator:
            raise ValueError("`suffix_indicator` must be a non-empty string.")
        self.vocabulary = vocabulary
        self.oov_token = oov_token
        self.suffix_indicator = suffix_indicator
        self._token_to_id = token_to_id
        self._oov_id = token_to_id[oov_token]
        # Longest piece (in characters) for each position kind, to bound
        # the greedy search.
        prefix_lengths = [0]
        suffix_lengths = [0]
        for token in vocabulary:
            if token.startswith(suffix_indicator):
                suffix_lengths.append(len(token) - len(suffix_indicator))
            prefix_lengths.append(len(token))
        self._max_prefix_chars = max(prefix_lengths)
        self._max_suffix_chars = max(suffix_lengths)
        self._skip_ids = frozenset(
            token_to_id[token]
            for token in RESERVED_TOKENS
            if token in token_to_id and token != oov_token
        )

    @classmethod
    def from_file(
        cls, path, oov_token: str = "[UNK]", suffix_indicator: str = "##"
    ) -> "WordPieceTokenizer":
        """Load a vocabulary file written one token per line.

        Lines are read as keras-hub reads them: UTF-8 text mode (universal
        newlines) and `line.rstrip()` (trailing whitespace is dropped).

        Args:
            path: str or path-like. The vocabulary file.
            oov_token: str. See the class docstring.
            suffix_indicator: str. See the class docstring.

        Returns:
            A `WordPieceTokenizer`.
        """
        with open(path, "r", encoding="utf-8") as file:
            vocabulary = [line.rstrip() for line in file]
        return cls(
            vocabulary, oov_token=oov_token, suffix_indicator=suffix_indicator
        )

    @property
    def vocabulary_size(self) -> int:
        """int. The number of tokens in the vocabulary."""
        return len(self.vocabulary)

    def id_to_token(self, i: int) -> str:
        """Convert an integer id to its token.

        Args:
            i: int. An id in `[0, vocabulary_size)`.

        Returns:
            The token string. Raises `ValueError` for an out of range id.
        """
        i = int(i)
        if i < 0 or i >= len(self.vocabulary):
            raise ValueError(
                f"`id` must be in range [0, {len(self.vocabulary) - 1}]. "
                f"Received: {i}"
            )
        return self.vocabulary[i]

    def token_to_id(self, t: str) -> int:
        """Convert a token to its integer id.

        Args:
            t: str. A token of the vocabulary.

        Returns:
            The int id. Raises `ValueError` for a token not in the vocabulary.
        """
        if t not in self._token_to_id:
            raise ValueError(f"Token {t!r} is not in the vocabulary.")
        return self._token_to_id[t]

    def words(self, text: str) -> list[str]:
        """Split text into words, the pre-tokenization step.

        NFC-normalizes, truncates at the first NUL, drops whitespace /
        control / format characters and keeps each punctuation mark and
        CJK ideograph as its own word.

        Args:
            text: str. The input text.

        Returns:
            A list of str words.
        """
        text = unicodedata.normalize("NFC", text)
        nul = text.find("\x00")
        if nul >= 0:
            text = text[:nul]
        words = []
        start = None  # Start index of the current word, if any.
        for index, char in enumerate(text):
            cls = _char_class(char)
            if cls == _WORD:
                if start is None:
                    start = index
                continue
            if start is not None:
                words.append(text[start:index])
                start = None
            if cls == _KEEP:
                words.append(char)
        if start is not None:
            words.append(text[start:])
        return words

    def _word_to_ids(self, word):
        """Greedy longest-match-first WordPiece of a single word."""
        if len(word.encode("utf-8")) > MAX_BYTES_PER_WORD:
            return [self._oov_id]
        ids = []
        start = 0
        length = len(word)
        while start < length:
            if start == 0:
                end = min(length, self._max_prefix_chars)
                prefix = ""
            else:
                end = min(length, start + self._max_suffix_chars)
                prefix = self.suffix_indicator
            piece_id = None
            while end > start:
                piece_id = self._token_to_id.get(prefix + word[start:end])
                if piece_id is not None:
                    break
                end -= 1
            if piece_id is None:
                return [self._oov_id]
            ids.append(piece_id)
            start = end
        return ids

    def tokenize(self, text: str) -> list[int]:
        """Tokenize text into WordPiece ids.

        Args:
            text: str. The input text (NFC normalization is applied here).

        Returns:
            A list of int ids (empty for text without words).
        """
        ids = []
        for word in self.words(text):
            ids.extend(self._word_to_ids(word))
        return ids

    def detokenize(self, ids: list[int]) -> str:
        """Turn ids back into normal text.

        Ids of `RESERVED_TOKENS` (`[PAD]`, `[START]`, `[END]`) are skipped;
        the oov token is kept as a word. A piece starting with the suffix
        indicator is glued (without the indicator) to the previous word.
        The words are then joined with `detokenize_words`.

        Args:
            ids: iterable of int. Token ids.

        Returns:
            The NFC text.
        """
        words = []
        indicator = self.suffix_indicator
        for i in ids:
            i = int(i)
            if i in self._skip_ids:
                continue
            token = self.id_to_token(i)
            if token.startswith(indicator) and len(token) > len(indicator):
                piece = token[len(indicator) :]
                if words:
                    words[-1] += piece
                else:
                    words.append(piece)
            else:
                words.append(token)
        return detokenize_words(words)


# --- Detokenization rules (mirrored in Kotlin; keep table driven). ---

NO_SPACE_BEFORE = frozenset(
    [".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "…", "»", "”"]
)
"""Tokens attached to the previous token."""

NO_SPACE_AFTER = frozenset(["(", "[", "{", "¿", "¡", "«", "„"])
"""Tokens attached to the next token."""

APOSTROPHES = frozenset(["'", "’"])
"""Joined on both sides between two words, else attached to a word before."""

WORD_JOINERS = frozenset(["-", "/"])
"""Joined on both sides between a word (or closing quote/bracket) and a
word."""

SUSPENDED_HYPHEN_FOLLOWERS = frozenset(["und", "oder", "bis", "sowie", "bzw"])
"""Words before which a `-` after a word glues left only (German "Obst- und
Gemüsehändler")."""

NUMBER_SEPARATORS = frozenset([".", ",", ":"])
"""Joined on both sides between two all-digit tokens (3.5, 1,000, 10:30)."""

CLOSING_BRACKETS = frozenset([")", "]", "}", "»", "”"])
"""Tokens that, like a closing quote, may precede a `WORD_JOINERS` join."""

STRAIGHT_QUOTE = '"'
LOW_OPENING_QUOTE = "„"
HIGH_QUOTE = "“"


def _is_word(token):
    """True if some character is a letter or number (category L* or N*)."""
    return any(unicodedata.category(char)[0] in "LN" for char in token)


def _is_digits(token):
    """True for a non-empty token of decimal digits (category Nd) only."""
    return bool(token) and all(
        unicodedata.category(char) == "Nd" for char in token
    )


def detokenize_words(words: list[str]) -> str:
    """Join words and punctuation tokens into normal text.

    A deterministic, Moses-detokenizer-like subset. Between two consecutive
    tokens a single space is written unless the left token "glues right" or
    the right token "glues left". Per token, first matching rule wins:

    1. A `NUMBER_SEPARATORS` token (`. , :`) between two all-digit tokens
       glues both sides (`3.5`, `10:30`).
    2. `NO_SPACE_BEFORE` tokens (`. , ! ? ; : ) ] } % … » ”`) glue left.
    3. `NO_SPACE_AFTER` tokens (`( [ { ¿ ¡ « „`) glue right. `„` also opens
       a German quotation.
    4. A straight double quote `"` alternates: the 1st, 3rd, ... open (glue
       right), the 2nd, 4th, ... close (glue left).
    5. `“` closes (glues left) when a `„` is open (German „...“), else it
       opens (glues right; English “...”).
    6. An apostrophe (`'` or `’`) between two words glues both sides
       (`don't`, `man's`, `geht's`); after a word but not before one it
       glues left (`dogs' .`); otherwise it is a plain token.
    7. `-` or `/` glues both sides when the next token is a word and the
       previous token is a word or a closing bracket/quote (`T-Shirt`,
       `red-haired`, `„Open“-Schild`, `and/or`), except that `-` after a
       word and before a `SUSPENDED_HYPHEN_FOLLOWERS` word (`und`, `oder`,
       ...) glues left only (`Obst- und Gemüse`); otherwise plain.
    8. Anything else is a plain token.

    A word is a token with at least one letter or number character
    (Unicode category `L*` or `N*`; so `[UNK]` is a word), an all-digit
    token is made of category `Nd` characters only. Case and accents are
    untouched; the result is NFC.

    Args:
        words: list of str. Words and punctuation tokens, e.g. the output of
            `WordPieceTokenizer.words`.

    Returns:
        The joined str.
    """
    pieces = []
    glue_next = False  # The previous token glues right.
    straight_open = False  # A `"` quotation is open.
    low_open = False  # A German `„` quotation is open.
    prev_closes = False  # The previous token was a closing bracket/quote.
    count = len(words)
    for index, token in enumerate(words):
        prev = words[index - 1] if index > 0 else None
        nxt = words[index + 1] if index + 1 < count else None
        glue_left = False
        glue_right = False
        closes = False
        if (
            token in NUMBER_SEPARATORS
            and prev is not None
            and nxt is not None
            and _is_digits(prev)
            and _is_digits(nxt)
        ):
            glue_left = glue_right = True
        elif token in NO_SPACE_BEFORE:
            glue_left = True
            closes = token in CLOSING_BRACKETS
        elif token in NO_SPACE_AFTER:
            glue_right = True
            if token == LOW_OPENING_QUOTE:
                low_open = True
        elif token == STRAIGHT_QUOTE:
            if straight_open:
                glue_left = closes = True
            else:
                glue_right = True
            straight_open = not straight_open
        elif token == HIGH_QUOTE:
            if low_open:
                glue_left = closes = True
                low_open = False
            else:
                glue_right = True
        elif token in APOSTROPHES:
            prev_word = prev is not None and _is_word(prev)
            next_word = nxt is not None and _is_word(nxt)
            if prev_word and next_word:
                glue_left = glue_right = True
            elif prev_word:
                glue_left = True
        elif token in WORD_JOINERS:
            left_ok = prev is not None and (_is_word(prev) or prev_closes)
            if left_ok and nxt is not None and _is_word(nxt):
                glue_left = True
                glue_right = not (
                    token == "-" and nxt in SUSPENDED_HYPHEN_FOLLOWERS
                )
        if pieces and not glue_next and not glue_left:
            pieces.append(" ")
        pieces.append(token)
        glue_next = glue_right
        prev_closes = closes
    return unicodedata.normalize("NFC", "".join(pieces))
