"""Loaders and the tf.data pipeline."""

import gzip
import unicodedata
import zipfile

import numpy as np
import pytest

from zoo.datasets.parallel_text import load_aligned_directory, load_corpus, load_tsv_pairs, split_pairs


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_aligned_directory_with_explicit_and_detected_languages(tmp_path):
    write(tmp_path / "train.en", ["A dog runs.", "Two men."])
    write(tmp_path / "train.de", ["Ein Hund läuft.", "Zwei Männer."])
    write(tmp_path / "val.en", ["A cat."])
    write(tmp_path / "val.de", ["Eine Katze."])
    write(tmp_path / "test2016.en", ["A boy."])
    write(tmp_path / "test2016.de", ["Ein Junge."])
    corpus = load_corpus(f"{tmp_path}:en-de")
    assert (corpus.source_lang, corpus.target_lang) == ("en", "de")
    assert corpus.train == [("A dog runs.", "Ein Hund läuft."), ("Two men.", "Zwei Männer.")]
    assert corpus.val == [("A cat.", "Eine Katze.")]
    assert corpus.test == [("A boy.", "Ein Junge.")]
    reverse = load_corpus(f"{tmp_path}:de-en")
    assert reverse.train[0] == ("Ein Hund läuft.", "A dog runs.")
    detected = load_aligned_directory(str(tmp_path))  # languages from train.* names
    assert {detected.source_lang, detected.target_lang} == {"de", "en"}


def test_misaligned_files_are_a_clear_error(tmp_path):
    write(tmp_path / "train.en", ["a", "b"])
    write(tmp_path / "train.de", ["a"])
    with pytest.raises(ValueError, match="lines"):
        load_corpus(f"{tmp_path}:en-de")


def test_tsv_pairs_plain_gzip_and_extra_columns(tmp_path):
    lines = ["Go.\tVe.\tCC-BY 2.0 (France) Attribution", "", "Hi.\tHola."]
    write(tmp_path / "pairs.tsv", lines)
    with gzip.open(tmp_path / "pairs.tsv.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    expected = [("Go.", "Ve."), ("Hi.", "Hola.")]
    assert load_tsv_pairs(str(tmp_path / "pairs.tsv")) == expected
    assert load_tsv_pairs(str(tmp_path / "pairs.tsv.gz")) == expected
    write(tmp_path / "bad.tsv", ["no tab here"])
    with pytest.raises(ValueError, match="bad.tsv:1"):
        load_tsv_pairs(str(tmp_path / "bad.tsv"))


def test_text_is_nfc_normalized(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Männer café")
    write(tmp_path / "p.tsv", [f"{decomposed}\t{decomposed}"])
    (source, target), = load_tsv_pairs(str(tmp_path / "p.tsv"))
    assert source == target == "Männer café" and unicodedata.is_normalized("NFC", source)


def test_split_is_deterministic_and_disjoint():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    a, b = split_pairs(pairs, 10, 10), split_pairs(pairs, 10, 10)
    assert a == b
    train, val, test = a
    assert len(val) == 10 and len(test) == 10 and len(train) == 80
    assert not set(train) & set(val) and not set(val) & set(test)


def test_bundled_default_corpus():
    corpus = load_corpus(None)
    assert (corpus.source_lang, corpus.target_lang) == ("en", "es")
    assert len(corpus.train) > 20000 and len(corpus.val) == 1000 and len(corpus.test) == 1000
    assert any("¿" in t for _, t in corpus.train[:2000])  # accents and marks survive


def test_download_path_uses_keras_get_file_on_a_local_url(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "spa-eng"
    folder.mkdir()
    write(folder / "spa.txt", [f"Sentence {i}.\tFrase {i}." for i in range(50)])
    archive = tmp_path / "spa-eng.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(folder / "spa.txt", "spa-eng/spa.txt")
    corpus = load_corpus(archive.as_uri(), "en", "es")
    assert len(corpus.train) + len(corpus.val) + len(corpus.test) == 50
    assert list((tmp_path / "cache").rglob("spa.txt"))  # fetched and extracted by get_file
    plain = load_corpus((folder / "spa.txt").as_uri())
    assert len(plain.train) == 40


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_corpus(str(tmp_path / "nope.tsv"))


def test_pipeline_buckets_shifts_and_filters():
    from zoo.datasets.pipeline import make_dataset
    from zoo.text_tokenizer import END_ID, START_ID, make_tokenizer, train_vocabulary

    corpus = load_corpus(None)
    pairs = corpus.train[:600]
    src_vocab = train_vocabulary([s for s, _ in pairs], 300)
    tgt_vocab = train_vocabulary([t for _, t in pairs], 300)
    src_tok, tgt_tok = make_tokenizer(src_vocab), make_tokenizer(tgt_vocab)
    ds = make_dataset(pairs, src_tok, tgt_tok, batch_size=16, max_source_length=12, max_target_length=12)
    widths, count = set(), 0
    for inputs, labels in ds:
        src, dec, lab = inputs["encoder_inputs"].numpy(), inputs["decoder_inputs"].numpy(), labels.numpy()
        assert src.shape[1] <= 12 and dec.shape[1] <= 12
        assert (dec[:, 0] == START_ID).all()
        # labels are decoder inputs shifted left, ending in [END]
        for d, l in zip(dec, lab):
            n = int((l != 0).sum())
            assert l[n - 1] == END_ID and (d[1:n] == l[: n - 1]).all()
        widths.add(max(src.shape[1], dec.shape[1]))
        count += src.shape[0]
    assert len(widths) > 1, "bucketing should give batches of different widths"
    assert 0 < count < len(pairs)  # long pairs were filtered out
    assert np.issubdtype(src.dtype, np.integer)
