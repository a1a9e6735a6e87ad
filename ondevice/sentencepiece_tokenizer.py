"""SentencePiece text <-> ids with a separate piece vocabulary (Marian / OPUS-MT).

The model's ids are not its SentencePiece ids: as in Hugging Face's
`MarianTokenizer`, a SentencePiece model only cuts text into pieces and a
vocabulary (`vocabulary.txt`, one piece per line, line number = id) gives
their ids; one vocabulary usually serves both languages, each with its own
SentencePiece model. Rules, those of `MarianTokenizer` in transformers 5:

- `tokenize`: the text is split around the special tokens it contains
  (`</s>`, `<unk>`, `<pad>`, kept whole); in each other segment a leading
  language code `>>xx<<` (multilingual models' target-language token) is a
  token of its own, and the rest is cut into pieces by SentencePiece. Pieces
  missing from the vocabulary become `<unk>`. With `add_end`, the end token
  `</s>` is appended (Marian's sources end with it).
- `detokenize`: special ids are skipped, the pieces are joined by
  SentencePiece (`decode_pieces`), `▁` becomes a space and the ends are
  stripped; `clean_up_spaces` applies transformers' `clean_up_tokenization`
  (" ." -> ".", " n't" -> "n't", ...).

Needs the `sentencepiece` package (no TensorFlow).
"""

import re

SPECIAL_PIECES = ("</s>", "<unk>", "<pad>")
_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(p) for p in SPECIAL_PIECES) + ")")
_CLEAN_UP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def read_pieces(path):
    """A vocabulary file: one piece per line (only the line break is removed)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def split_language_code(text):
    """`(code, rest)`: a leading `>>xx<<` token and the text after it."""
    if text.startswith(">>"):
        end = text.find("<<")
        if end != -1:
            return [text[: end + 2]], text[end + 2 :]
    return [], text


class SentencePieceTokenizer:
    """Tokenize with a SentencePiece model, map pieces to ids with a vocabulary.

    Args:
        model_proto: bytes. A serialized SentencePiece model (`*.spm`).
        vocabulary: list of str. Pieces; a piece's id is its index. Must hold
            `unk_token`.
        special_ids: collection of int. Ids never written by `detokenize`
            (padding, start, end, unknown).
        unk_token: str. The piece for unknown pieces.
        end_id: int or None. Appended by `tokenize` when `add_end`.
        add_end: bool. End every tokenized text with `end_id`.
        clean_up_spaces: bool. Apply transformers' tokenization clean-up
            when detokenizing.
    """

    def __init__(
        self,
        model_proto,
        vocabulary,
        special_ids=(),
        unk_token="<unk>",
        end_id=None,
        add_end=False,
        clean_up_spaces=False,
    ):
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor()
        self.processor.LoadFromSerializedProto(model_proto)  # raises RuntimeError for a corrupt model
        self.vocabulary = list(vocabulary)
        self._piece_to_id = {}
        for i, piece in enumerate(self.vocabulary):
            if piece in self._piece_to_id:
                raise ValueError(f"duplicate piece {piece!r} in the vocabulary")
            self._piece_to_id[piece] = i
        if unk_token not in self._piece_to_id:
            raise ValueError(f"the vocabulary has no {unk_token!r}")
        if add_end and end_id is None:
            raise ValueError("add_end needs end_id")
        self.unk_id = self._piece_to_id[unk_token]
        self.end_id = end_id
        self.add_end = add_end
        self.clean_up_spaces = clean_up_spaces
        self._skip_ids = frozenset(int(i) for i in special_ids)

    @classmethod
    def from_files(cls, model_path, vocabulary_path, **kwargs):
        """A tokenizer from a `.spm` file and a vocabulary file (see `read_pieces`)."""
        with open(model_path, "rb") as f:
            proto = f.read()
        return cls(proto, read_pieces(vocabulary_path), **kwargs)

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def id_to_token(self, i: int) -> str:
        return self.vocabulary[int(i)]

    def token_to_id(self, piece: str) -> int:
        return self._piece_to_id.get(piece, self.unk_id)

    def pieces(self, text: str) -> list[str]:
        """The pieces of `text` (special tokens and language codes included)."""
        out = []
        for segment in _SPECIAL_SPLIT.split(text):
            if not segment:
                continue
            if segment in SPECIAL_PIECES:
                out.append(segment)
                continue
            code, rest = split_language_code(segment)
            out.extend(code + self.processor.encode(rest, out_type=str))
        return out

    def tokenize(self, text: str) -> list[int]:
        """Ids of `text` (ending with `end_id` when `add_end`)."""
        ids = [self.token_to_id(p) for p in self.pieces(text)]
        return ids + [self.end_id] if self.add_end else ids

    def detokenize(self, ids) -> str:
        """Text of `ids`, special ids skipped."""
        pieces = [self.vocabulary[int(i)] for i in ids if int(i) not in self._skip_ids]
        text = self.processor.decode_pieces(pieces).replace("\u2581", " ").strip()
        if self.clean_up_spaces:
            for old, new in _CLEAN_UP:
                text = text.replace(old, new)
        return text
