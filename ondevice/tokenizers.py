"""A `tokenizer` description (manifest or run directory) -> source and target tokenizers.

Two kinds, both without TensorFlow:

- `wordpiece`: `source_vocabulary`, `target_vocabulary` (the same file when
  shared), the zoo's own models (`ondevice.tokenizer.WordPieceTokenizer`).
- `sentencepiece`: `source_model`, `target_model` (`.spm` files) and
  `source_vocabulary`, `target_vocabulary` (piece per line); `source_end`
  (the source ends with the end token) and `clean_up_spaces` (transformers'
  detokenization clean-up). Imported Marian / OPUS-MT models
  (`ondevice.sentencepiece_tokenizer.SentencePieceTokenizer`).
"""

import os

from ondevice.errors import ArtifactError

KINDS = ("wordpiece", "sentencepiece")
MAX_FILE_BYTES = 64 << 20  # a vocabulary or SentencePiece model (OPUS-MT's: ~1 MB each)
FILE_KEYS = {
    "wordpiece": ("source_vocabulary", "target_vocabulary"),
    "sentencepiece": ("source_vocabulary", "target_vocabulary", "source_model", "target_model"),
}


def tokenizer_files(spec):
    """The file names a tokenizer description refers to, by key."""
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in KINDS:
        raise ArtifactError(f"unknown tokenizer kind {kind!r}; this runtime knows {', '.join(KINDS)}")
    files = {}
    for key in FILE_KEYS[kind]:
        name = spec.get(key)
        if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
            raise ArtifactError(f"tokenizer.{key} must be a file name in the model directory, not {name!r}")
        files[key] = name
    return files


def check_file_size(path):
    """Refuse a tokenizer file over `MAX_FILE_BYTES` before reading it (a
    missing one is reported by the loader)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return
    if size > MAX_FILE_BYTES:
        raise ArtifactError(f"{path}: {size} bytes; a tokenizer file has at most {MAX_FILE_BYTES}")


def load_wordpiece(path):
    """A `WordPieceTokenizer` from a vocabulary file in a model directory; `ArtifactError` if unusable."""
    from ondevice.tokenizer import WordPieceTokenizer

    check_file_size(path)
    try:
        return WordPieceTokenizer.from_file(path)
    except (OSError, ValueError, RuntimeError) as e:  # missing, not UTF-8, duplicate tokens
        raise ArtifactError(f"{path}: vocabulary not usable ({e})") from None


def load_tokenizers(spec, directory, special_tokens):
    """`(source, target)` tokenizers for a tokenizer description.

    Args:
        spec: dict. The manifest's (or run's) `tokenizer` entry.
        directory: str. Where its files are.
        special_tokens: dict with `pad`, `unk`, `start`, `end` ids.

    Raises:
        ArtifactError: unknown kind, or a missing or unusable file.
    """
    files = {key: os.path.join(directory, name) for key, name in tokenizer_files(spec).items()}
    for path in files.values():
        check_file_size(path)
    try:
        if spec["kind"] == "wordpiece":
            from ondevice.tokenizer import WordPieceTokenizer

            def make(side):
                return WordPieceTokenizer.from_file(files[f"{side}_vocabulary"])

        else:
            try:
                import sentencepiece  # noqa: F401
            except ImportError:
                raise ArtifactError("this model's tokenizer needs the sentencepiece package: pip install sentencepiece") from None
            from ondevice.sentencepiece_tokenizer import SentencePieceTokenizer

            skip = [special_tokens[k] for k in ("pad", "unk", "start", "end")]

            def make(side):
                return SentencePieceTokenizer.from_files(
                    files[f"{side}_model"],
                    files[f"{side}_vocabulary"],
                    special_ids=skip,
                    end_id=special_tokens["end"],
                    add_end=side == "source" and bool(spec.get("source_end", False)),
                    clean_up_spaces=bool(spec.get("clean_up_spaces", False)),
                )

        source = make("source")
        same = spec["kind"] == "wordpiece" and files["source_vocabulary"] == files["target_vocabulary"]
        target = source if same else make("target")
    except (OSError, ValueError, RuntimeError) as e:  # missing, not UTF-8, duplicate tokens, corrupt model
        raise ArtifactError(f"{directory}: tokenizer files not usable ({e})") from None
    return source, target
