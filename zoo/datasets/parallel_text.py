"""Parallel-text corpora: loaders for the layouts people actually have.

A `--data SPEC` on the command line is resolved by `load_corpus(spec)`:

- `None` or `"default"`: the bundled Tatoeba English->Spanish subset
  (`zoo/datasets/default/spa-eng.tsv.gz`, CC BY 2.0, see NOTICE).
- a directory, optionally with `:SRC-TGT` (e.g. `data/multi30k:en-de`):
  aligned files `train.SRC`/`train.TGT`, `val.SRC`/... and a test split
  (`test2016`, `test` or `tst`). Without `:SRC-TGT` the languages are read
  off the `train.*` file names (exactly two are required).
- a file (`.tsv`, `.txt`, optionally `.gz`): one `source<TAB>target` pair per
  line (the Tatoeba/Anki layout; extra columns such as attribution are
  ignored). It is split deterministically into train/val/test.
- an `http(s)://` URL of such a file or of a `.zip`/`.tar.gz` holding one:
  fetched once with `keras.utils.get_file` into the Keras cache.

Text is NFC-normalized on load (the on-device tokenizer does the same), so
decomposed accents from some editors tokenize like precomposed ones.
"""

import dataclasses
import gzip
import os
import random
import unicodedata

DEFAULT_TSV = os.path.join(os.path.dirname(__file__), "default", "spa-eng.tsv.gz")
TEST_SPLIT_NAMES = ("test2016", "test", "tst")
VAL_SPLIT_NAMES = ("val", "valid", "dev")


@dataclasses.dataclass
class ParallelCorpus:
    """Sentence pairs split into train/val/test.

    Args:
        source_lang: str. Language code of the source side (e.g. `"en"`).
        target_lang: str. Language code of the target side.
        train: list of `(source, target)` string pairs.
        val: list of pairs used for early stopping and tuning.
        test: list of pairs used only for reporting.
        name: str. Where the corpus came from, for logs and manifests.
    """

    source_lang: str
    target_lang: str
    train: list
    val: list
    test: list
    name: str = ""

    def split(self, name):
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}; use train, val or test")
        return getattr(self, name)


def _normalize(line):
    return unicodedata.normalize("NFC", line.strip())


def _open_text(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_lines(path):
    """Read a UTF-8 text file (optionally gzipped) into NFC-normalized lines."""
    with _open_text(path) as f:
        return [_normalize(line) for line in f.read().splitlines()]


def load_tsv_pairs(path):
    """Load `source<TAB>target[<TAB>...]` lines; blank lines are skipped.

    Args:
        path: str. A `.tsv`/`.txt` file, optionally gzipped.

    Returns:
        A list of `(source, target)` pairs.
    """
    pairs = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line:
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise ValueError(f"{path}:{number}: expected 'source<TAB>target', got {line[:60]!r}")
        if columns[0].strip() and columns[1].strip():
            pairs.append((columns[0].strip(), columns[1].strip()))
    return pairs


def load_aligned_files(source_path, target_path):
    """Load two line-aligned files into `(source, target)` pairs.

    Args:
        source_path: str. One source sentence per line.
        target_path: str. The matching target sentence on the same line.

    Returns:
        A list of pairs; an error if the files have different line counts.
    """
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise ValueError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "aligned files need one sentence per line on both sides"
        )
    return [(s, t) for s, t in zip(sources, targets) if s and t]


def split_pairs(pairs, val_size=1000, test_size=1000, seed=1234):
    """Deterministically shuffle and split pairs into train/val/test."""
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    held_out = min(val_size + test_size, len(pairs) // 5)
    val_size = min(val_size, held_out // 2)
    test_size = held_out - val_size
    return pairs[held_out:], pairs[:val_size], pairs[val_size:held_out]


def _find_split_file(directory, names, lang):
    for name in names:
        for suffix in ("", ".gz"):
            path = os.path.join(directory, f"{name}.{lang}{suffix}")
            if os.path.exists(path):
                return path
    return None


def load_aligned_directory(directory, langs=None):
    """Load a Multi30k-style directory of aligned files.

    Args:
        directory: str. Holds `train.SRC`, `train.TGT`, a validation split
            (`val`/`valid`/`dev`) and optionally a test split
            (`test2016`/`test`/`tst`).
        langs: optional `(source, target)` language codes; read off the
            `train.*` file names when omitted.

    Returns:
        A `ParallelCorpus`.
    """
    if langs is None:
        found = sorted(
            name.split(".")[1]
            for name in os.listdir(directory)
            if name.startswith("train.") and len(name.split(".")) in (2, 3)
        )
        if len(found) != 2:
            raise ValueError(
                f"{directory}: cannot tell the language pair from train.* files ({found}); "
                "write the spec as DIR:SRC-TGT, e.g. data/multi30k:en-de"
            )
        langs = tuple(found)
    source_lang, target_lang = langs
    splits = {}
    for split, names in (("train", ("train",)), ("val", VAL_SPLIT_NAMES), ("test", TEST_SPLIT_NAMES)):
        source_path = _find_split_file(directory, names, source_lang)
        target_path = _find_split_file(directory, names, target_lang)
        if source_path and target_path:
            splits[split] = load_aligned_files(source_path, target_path)
        elif split == "train":
            raise ValueError(f"{directory}: no train.{source_lang} / train.{target_lang} files")
    if "val" not in splits:
        train, val, test = split_pairs(splits["train"])
        splits = {"train": train, "val": val, "test": splits.get("test", test)}
    return ParallelCorpus(
        source_lang,
        target_lang,
        splits["train"],
        splits["val"],
        splits.get("test", []),
        name=os.path.basename(os.path.normpath(directory)),
    )


def download(url, cache_subdir="datasets"):
    """Fetch a corpus file (or archive) once into the Keras cache.

    Args:
        url: str. An `http(s)://` or `file://` URL of a TSV file or a
            `.zip`/`.tar.gz` archive holding one, or holding aligned files.
        cache_subdir: str. Folder under the cache (`$ZOO_CACHE_DIR`, else
            `~/.keras`) for the download.

    Returns:
        The local path of the file, or of the extracted folder.
    """
    import keras

    fname = os.path.basename(url.split("?")[0]) or "corpus"
    archive = fname.endswith((".zip", ".tar.gz", ".tgz", ".tar"))
    cache_dir = os.environ.get("ZOO_CACHE_DIR")  # default: ~/.keras
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)  # get_file falls back to /tmp if it is missing
    path = keras.utils.get_file(
        fname=fname,
        origin=url,
        extract=archive,
        cache_dir=cache_dir,
        cache_subdir=cache_subdir,
    )
    return path


def _tsv_in(directory):
    """The single pairs file inside an extracted archive (e.g. spa-eng/spa.txt)."""
    candidates = []
    for root, _, files in os.walk(directory):
        candidates += [
            os.path.join(root, f)
            for f in files
            if f.endswith((".tsv", ".txt", ".tsv.gz", ".txt.gz")) and not f.startswith("_")
        ]
    return candidates[0] if len(candidates) == 1 else None


def load_corpus(spec=None, source_lang=None, target_lang=None):
    """Resolve a `--data SPEC` into a `ParallelCorpus` (see module docstring).

    Args:
        spec: str or None. `None`/`"default"`, a directory (with optional
            `:SRC-TGT`), a TSV file, or a URL.
        source_lang: optional language code for TSV data (default `"src"`,
            or `"en"` for the bundled data).
        target_lang: optional language code for TSV data.

    Returns:
        A `ParallelCorpus`.
    """
    if spec in (None, "", "default"):
        train, val, test = split_pairs(load_tsv_pairs(DEFAULT_TSV))
        return ParallelCorpus("en", "es", train, val, test, name="tatoeba-en-es-default")
    langs = None
    if spec.startswith(("http://", "https://", "file://")):
        path = download(spec)
    else:
        path, sep, pair = spec.rpartition(":")
        if sep and "-" in pair and "/" not in pair and os.path.isdir(path):
            langs = tuple(pair.split("-", 1))
        else:
            path = spec
    if os.path.isdir(path):
        if any(name.startswith("train.") for name in os.listdir(path)):
            return load_aligned_directory(path, langs)
        inner = _tsv_in(path)
        if inner is None:
            raise ValueError(f"{path}: neither aligned train.* files nor a single pairs file inside")
        path = inner
    if not os.path.isfile(path):
        raise ValueError(f"data spec {spec!r}: no such file or directory")
    train, val, test = split_pairs(load_tsv_pairs(path))
    return ParallelCorpus(
        source_lang or "src",
        target_lang or "tgt",
        train,
        val,
        test,
        name=os.path.basename(path),
    )
