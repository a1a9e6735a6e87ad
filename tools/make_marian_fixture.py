"""Write a tiny Hugging Face Marian (OPUS-MT layout) checkpoint plus reference outputs.

The fixture is the test input for the zoo's Marian importer: every file is
written by `transformers` itself (`MarianMTModel.save_pretrained(...,
safe_serialization=True)`, `MarianTokenizer.save_pretrained`), so its layout is
exactly that of a real `Helsinki-NLP/opus-mt-*` checkpoint, only tiny:

* `source.spm` / `target.spm`: SentencePiece unigram models (default
  `nmt_nfkc` normalization, like OPUS-MT) trained with the `sentencepiece`
  library on the bundled Tatoeba pairs `zoo/datasets/default/spa-eng.tsv.gz`
  (English column -> source, Spanish column -> target; CC BY 2.0, see NOTICE).
* `vocab.json`: built as OPUS-MT's are: `</s>` 0, `<unk>` 1, the union of both
  SentencePiece vocabularies (spm's own `<unk>`, `<s>`, `</s>` skipped), the
  target-language tokens `>>spa<<` and `>>por<<`, and `<pad>` last.
* `config.json`, `generation_config.json`, `model.safetensors`: a 2+2 layer,
  d_model 32 Marian (swish, scaled embeddings, shared + tied embeddings,
  sinusoidal positions, post-norm) with a random non-zero `final_logits_bias`,
  trained for `train_seconds` on the same Tatoeba pairs.
* `reference.json` / `reference.npz`: transformers' own outputs (torch,
  float32, eval mode) on edge-case sentences: input ids, greedy ids/text,
  encoder outputs and teacher-forced step logits.

Run by hand (torch, transformers, sentencepiece, safetensors, numpy installed)::

    python tools/make_marian_fixture.py --out tests/fixtures/marian_tiny

sacremoses: not needed and not used.  `MarianTokenizer._setup_normalizer`
(transformers/models/marian/tokenization_marian.py) builds a
`MosesPunctNormalizer` when sacremoses is importable (else warns "Recommended:
pip install sacremoses." and uses the identity), but in transformers 5.x
`MarianTokenizer.normalize` is never called by `tokenize`/`__call__`/`_tokenize`,
so tokenization does not depend on sacremoses being installed.  (In
transformers 4.x only the deprecated `prepare_seq2seq_batch` called it.)

This module imports torch/transformers lazily, so importing it is cheap.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_TSV = REPO_ROOT / "zoo" / "datasets" / "default" / "spa-eng.tsv.gz"
NOTICE = REPO_ROOT / "NOTICE"
DEFAULT_OUT = "tests/fixtures/marian_tiny"

SOURCE_VOCAB_SIZE = 300
TARGET_VOCAB_SIZE = 300
LANGUAGE_CODES = (">>spa<<", ">>por<<")
SPM_CONTROL = ("<unk>", "<s>", "</s>")
MAX_LENGTH = 40  # generation max_length (includes the decoder start token)
STEP_LOGITS = 4  # teacher-forced positions kept per sentence in reference.npz

_LONG_WORD = ("Pneumonoultramicroscopicsilicovolcanoconiosis" + "antidisestablishment")[:60]
assert len(_LONG_WORD) == 60

# Edge cases the importer's tokenizer and model must reproduce.
TEST_SENTENCES = [
    "Hi.",
    "I love you.",
    "Tom is my friend.",
    "Where is the bus station?",
    "I don't know what you want me to do about it.",
    "She said that she would come back tomorrow morning, but she never came back to see us.",
    "",  # empty string
    "The café is closed and I am naïve.",  # accents
    "I like 日本語 and 中文.",  # CJK (not in the spm vocabularies -> <unk>)
    "Thank you! 😊",  # emoji
    "It costs 10\u00a0euros.",  # non-breaking space
    "Ring the bell\u0007 now.",  # control character (BEL)
    "Tab\tseparated words.",  # tab
    f"I read the word {_LONG_WORD} yesterday.",  # 60-letter word
    "  Tom   is    here.  ",  # repeated spaces, leading/trailing whitespace
    "He said «hello» and “goodbye”…",  # Unicode punctuation
    "I have ２０２４ ｙｅｎ.",  # full-width digits/letters (NFKC)
    ">>spa<< How are you?",  # target-language token
    ">>por<< I am hungry.",  # target-language token
    "What time is it?",
    "We need to talk.",
]


def read_pairs(path=DATA_TSV):
    """(english, spanish) pairs of the bundled Tatoeba subset (one `en\\tes` per line)."""
    pairs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            en, es = line.split("\t")[:2]
            pairs.append((en, es))
    return pairs


def train_spm(sentences, vocab_size):
    """Serialized SentencePiece unigram model (nmt_nfkc), deterministic: all
    sentences, no shuffling/sampling, one thread."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="unigram",
        normalization_rule_name="nmt_nfkc",
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    return buf.getvalue()


def build_vocab(source_proto, target_proto):
    """OPUS-MT-style joint vocab: </s> 0, <unk> 1, source pieces, new target
    pieces, language codes, <pad> last."""
    import sentencepiece as spm

    vocab = {"</s>": 0, "<unk>": 1}
    for proto in (source_proto, target_proto):
        sp = spm.SentencePieceProcessor(model_proto=proto)
        for i in range(sp.get_piece_size()):
            piece = sp.id_to_piece(i)
            if piece in SPM_CONTROL or sp.is_control(i) or sp.is_unknown(i):
                continue
            vocab.setdefault(piece, len(vocab))
    for code in LANGUAGE_CODES:
        vocab.setdefault(code, len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


def make_config(vocab):
    from transformers import MarianConfig

    pad = vocab["<pad>"]
    return MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        activation_function="swish",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        static_position_embeddings=True,
        max_position_embeddings=64,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=0,
        forced_eos_token_id=0,
        normalize_before=False,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        architectures=["MarianMTModel"],
    )


def make_generation_config(pad_id):
    """What a real OPUS-MT generation_config.json holds."""
    from transformers import GenerationConfig

    return GenerationConfig(
        bad_words_ids=[[pad_id]],
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        max_length=MAX_LENGTH,
        num_beams=4,
        pad_token_id=pad_id,
    )


def greedy_kwargs(pad_id):
    """The exact `generate` kwargs of the reference (greedy, unpadded, one sentence)."""
    return {
        "num_beams": 1,
        "do_sample": False,
        "max_length": MAX_LENGTH,
        "bad_words_ids": [[pad_id]],
        "decoder_start_token_id": pad_id,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "pad_token_id": pad_id,
    }


def _round_trip_check(tokenizer, pairs):
    """Ordinary Tatoeba sentences survive encode -> decode (source and target side)."""
    bad = []
    for en, es in pairs:
        ids = tokenizer(en)["input_ids"]
        if ids[-1] != tokenizer.eos_token_id or tokenizer.unk_token_id in ids:
            bad.append(("source ids", en, ids))
        elif tokenizer.decode(ids, skip_special_tokens=True) != en:
            bad.append(("source text", en, tokenizer.decode(ids, skip_special_tokens=True)))
        tids = tokenizer(text_target=es)["input_ids"]
        text = tokenizer.decode(tids, skip_special_tokens=True, use_source_tokenizer=False)
        if tids[-1] != tokenizer.eos_token_id or text != es:
            bad.append(("target", es, text))
    if len(bad) > len(pairs) // 50:  # NFKC may legitimately change a few
        raise AssertionError(f"tokenizer round trip failed for {len(bad)}/{len(pairs)}: {bad[:5]}")
    return len(bad)


def train_model(model, tokenizer, pairs, train_seconds, seed, batch_size=48, lr=3e-3, max_steps=None, log=print):
    """A few hundred+ AdamW steps on Tatoeba pairs until `train_seconds` have passed."""
    import torch

    if train_seconds <= 0 and not max_steps:
        return {"steps": 0, "seconds": 0.0, "final_loss": None}
    rng = random.Random(seed)
    data = [(en, es) for en, es in pairs if len(en) <= 60 and len(es) <= 60]
    rng.shuffle(data)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, (warmup / (s + 1)) ** 0.5)
    )
    model.train()
    start = time.monotonic()
    step, pos, ema = 0, 0, None
    while True:
        if max_steps is not None and step >= max_steps:
            break
        if max_steps is None and time.monotonic() - start >= train_seconds:
            break
        if pos + batch_size > len(data):
            rng.shuffle(data)
            pos = 0
        batch = data[pos : pos + batch_size]
        pos += batch_size
        enc = tokenizer(
            [en for en, _ in batch], text_target=[es for _, es in batch], padding=True, return_tensors="pt"
        )
        labels = enc["labels"]
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 200 == 0:
            log(f"  step {step}  loss {ema:.3f}  {time.monotonic() - start:.0f}s")
    model.eval()
    return {"steps": step, "seconds": round(time.monotonic() - start, 1), "final_loss": round(ema, 4)}


def compute_references(model, tokenizer, sentences):
    """reference.json fields and reference.npz arrays from a loaded (eval) model."""
    import numpy as np
    import torch

    pad = model.config.pad_token_id
    kwargs = greedy_kwargs(pad)
    ref = {
        "sentences": list(sentences),
        "input_ids": [],
        "generate_kwargs": kwargs,
        "greedy_ids": [],
        "greedy_text": [],
        "greedy_text_target_spm": [],
        "source_pieces": [],
        "decoded_source": [],
    }
    arrays = {}
    model.eval()
    with torch.no_grad():
        for i, sentence in enumerate(sentences):
            ids = tokenizer(sentence)["input_ids"]
            src = torch.tensor([ids], dtype=torch.long)
            out = model.generate(input_ids=src, attention_mask=torch.ones_like(src), **kwargs)
            greedy = out[0].tolist()
            ref["input_ids"].append(ids)
            ref["greedy_ids"].append(greedy)
            ref["greedy_text"].append(tokenizer.decode(greedy, skip_special_tokens=True))
            ref["greedy_text_target_spm"].append(
                tokenizer.decode(greedy, skip_special_tokens=True, use_source_tokenizer=False)
            )
            ref["source_pieces"].append(tokenizer.tokenize(sentence))
            ref["decoded_source"].append(tokenizer.decode(ids, skip_special_tokens=True))
            arrays[f"encoder_output_{i}"] = (
                model.model.encoder(input_ids=src).last_hidden_state[0].numpy().astype(np.float32)
            )
            k = min(STEP_LOGITS, len(greedy) - 1)
            dec = torch.tensor([greedy[:k]], dtype=torch.long)
            arrays[f"step_logits_{i}"] = (
                model(input_ids=src, decoder_input_ids=dec).logits[0].numpy().astype(np.float32)
            )
    return ref, arrays


def _format_reference(ref):
    """JSON with one top-level key per line and one list item (sentence) per
    line; ASCII-escaped so that U+00A0 and friends stay visible."""
    parts = []
    for key, value in ref.items():
        if isinstance(value, list):
            items = ",\n  ".join(json.dumps(v) for v in value)
            parts.append(f" {json.dumps(key)}: [\n  {items}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    assert json.loads(text) == ref
    return text


def _notice_attribution():
    """The bundled Tatoeba data's license/attribution lines from NOTICE."""
    lines = NOTICE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("zoo/datasets/default/spa-eng"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Attribution:"))
    return "\n".join(lines[start : end + 1])


def _dir_size(path):
    return sum(p.stat().st_size for p in Path(path).iterdir() if p.is_file())


def _write_readme(out_dir, info):
    files = sorted(p for p in Path(out_dir).iterdir() if p.is_file() and p.name != "README.md")
    rows = "\n".join(f"| `{p.name}` | {p.stat().st_size:,} |" for p in files)
    t = info["training"]
    versions = ", ".join(
        f"{name} {info[name + '_version']}" for name in ("torch", "transformers", "sentencepiece", "safetensors", "numpy")
    )
    files_bytes = sum(p.stat().st_size for p in files)
    pad_row = (
        f"non-zero\n(norm {info['pad_row_norm']:.3f}, trained through the tied `lm_head`)"
        if info["pad_row_norm"] > 0
        else "zero (as initialised)"
    )

    def render(readme_bytes):
        return f"""# marian_tiny: a tiny Hugging Face Marian (OPUS-MT layout) checkpoint

Test fixture for the zoo's Marian / OPUS-MT importer. Every checkpoint file was
written by `transformers` itself (`MarianMTModel.save_pretrained(...,
safe_serialization=True)`, `MarianTokenizer.save_pretrained`), so the layout is
that of a real `Helsinki-NLP/opus-mt-*` repository, only tiny: d_model 32, 4
heads, ffn 64, 2 encoder + 2 decoder layers, swish, scaled embeddings, shared
and tied embeddings, sinusoidal positions, post-norm. Vocabulary of
{info["vocab_size"]}: `</s>` 0, `<unk>` 1, the union of both SentencePiece
vocabularies, `>>spa<<`, `>>por<<`, and `<pad>` {info["pad_id"]} last.
`final_logits_bias` is random and non-zero (N(0, 0.5)), and the `<pad>` row
of the shared embedding is {pad_row}.
Real converted OPUS-MT checkpoints have zeros in both places.

The model was trained for {t["steps"]} AdamW steps ({t["seconds"]} s on CPU,
final training loss {t["final_loss"]}) on the bundled English-Spanish pairs,
so greedy decoding gives short Spanish-like text, not good translations.

`reference.json` / `reference.npz` hold transformers' outputs (torch, float32,
eval mode, one sentence at a time, no padding) for {info["num_sentences"]}
edge-case sentences (`sentences`; `reference.json` is ASCII-escaped, so the
U+00A0 and the U+0007 in them are visible):

- `input_ids`: `tokenizer(sentence)["input_ids"]`, with the trailing `</s>`;
- `greedy_ids`: `model.generate(input_ids, **generate_kwargs)`, starting with
  the decoder start id (`<pad>`);
- `greedy_text`: `tokenizer.decode(ids, skip_special_tokens=True)`; in
  transformers 5 this decodes with the *source* spm, because the vocabulary
  is shared; `greedy_text_target_spm` is the same with
  `use_source_tokenizer=False`;
- `source_pieces`: `tokenizer.tokenize(sentence)`; `decoded_source`:
  `tokenizer.decode(input_ids, skip_special_tokens=True)`;
- npz `encoder_output_<i>`: (source_len, 32), `model.model.encoder(...)
  .last_hidden_state`;
- npz `step_logits_<i>`: (k, vocab), k = min({STEP_LOGITS}, len(greedy_ids[i]) - 1):
  raw logits (with `final_logits_bias`, before any generation processor) for
  the teacher-forced `greedy_ids[i][:k]`.

## How it was made

    python tools/make_marian_fixture.py --out {info["out_arg"]} {info["train_arg"]} --seed {info["seed"]}

with {versions};
it took {info["tool_seconds"]} s. The SentencePiece models and vocab.json are
deterministic; with `--max-steps` the training is too (one thread, fixed seed,
same torch build), while with `--train-seconds` the number of steps depends on
the machine.

## Data license

The SentencePiece models and the model were trained on the bundled data. From
the repository's NOTICE:

{_notice_attribution()}

## Files

| file | bytes |
| --- | ---: |
{rows}
| `README.md` | {readme_bytes:,} |

Total: {files_bytes + readme_bytes:,} bytes.
"""

    size = 0
    for _ in range(10):  # the README lists its own size: iterate to the fixed point
        text = render(size)
        if len(text.encode("utf-8")) == size:
            break
        size = len(text.encode("utf-8"))
    (Path(out_dir) / "README.md").write_text(text, encoding="utf-8")


def write_fixture(out_dir, train_seconds=150.0, seed=0, max_steps=None, log=print):
    """Write the fixture into `out_dir` (replaced if it exists). Returns a summary dict."""
    import numpy as np
    import safetensors
    import sentencepiece
    import torch
    import transformers
    from transformers import MarianMTModel, MarianTokenizer

    t0 = time.monotonic()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    out_arg = str(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    pairs = read_pairs()
    log(f"{len(pairs)} pairs; training SentencePiece models")
    src_proto = train_spm([en for en, _ in pairs], SOURCE_VOCAB_SIZE)
    tgt_proto = train_spm([es for _, es in pairs], TARGET_VOCAB_SIZE)
    vocab = build_vocab(src_proto, tgt_proto)
    pad = vocab["<pad>"]
    log(f"vocab {len(vocab)} (pad {pad})")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "source.spm").write_bytes(src_proto)
        (tmp / "target.spm").write_bytes(tgt_proto)
        with open(tmp / "vocab.json", "w", encoding="utf-8") as f:
            json.dump(vocab, f, indent=2)
        tokenizer = MarianTokenizer(
            source_spm=str(tmp / "source.spm"),
            target_spm=str(tmp / "target.spm"),
            vocab=str(tmp / "vocab.json"),
            source_lang="en",
            target_lang="es",
        )
        assert tokenizer.eos_token_id == 0 and tokenizer.unk_token_id == 1 and tokenizer.pad_token_id == pad
        sample = random.Random(seed).sample(pairs, 300)
        mismatches = _round_trip_check(tokenizer, sample)
        log(f"tokenizer round trip: {len(sample) - mismatches}/{len(sample)} exact")
        tokenizer.save_pretrained(str(out_dir))

    config = make_config(vocab)
    model = MarianMTModel(config)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        model.final_logits_bias.copy_(torch.randn(model.final_logits_bias.shape, generator=gen) * 0.5)
    bias_before = model.final_logits_bias.clone()
    log(f"training for {max_steps} steps" if max_steps is not None else f"training for {train_seconds} s")
    training = train_model(model, tokenizer, pairs, train_seconds, seed, max_steps=max_steps, log=log)
    assert torch.equal(model.final_logits_bias, bias_before)  # a buffer: not trained
    log(f"trained: {training}")
    model.eval()
    model.generation_config = make_generation_config(pad)
    model.save_pretrained(str(out_dir), safe_serialization=True)

    # References come from the checkpoint as written, reloaded from disk.
    loaded = MarianMTModel.from_pretrained(str(out_dir), dtype=torch.float32).eval()
    tok = MarianTokenizer.from_pretrained(str(out_dir))
    assert torch.equal(loaded.final_logits_bias, model.final_logits_bias), "final_logits_bias not kept"
    ref, arrays = compute_references(loaded, tok, TEST_SENTENCES)
    # The in-memory model must agree (embed_positions are rebuilt on load, not stored).
    ref_mem, arrays_mem = compute_references(model, tokenizer, TEST_SENTENCES)
    assert ref_mem["greedy_ids"] == ref["greedy_ids"] and ref_mem["input_ids"] == ref["input_ids"]
    for key in arrays:
        np.testing.assert_allclose(arrays[key], arrays_mem[key], rtol=1e-5, atol=1e-5)
    for ids in ref["greedy_ids"]:
        assert ids[0] == pad and pad not in ids[1:] and len(ids) <= MAX_LENGTH

    ref = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "sentencepiece_version": sentencepiece.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": np.__version__,
        "attn_implementation": loaded.config._attn_implementation,
        "pad_token_id": pad,
        "eos_token_id": 0,
        "unk_token_id": 1,
        "vocab_size": len(vocab),
        "step_logits_k": STEP_LOGITS,
        "training": dict(training, seed=seed, train_seconds=train_seconds, max_steps=max_steps),
        **ref,
    }
    with open(out_dir / "reference.json", "w", encoding="utf-8") as f:
        f.write(_format_reference(ref))
    np.savez_compressed(out_dir / "reference.npz", **arrays)

    ended = sum(1 for ids in ref["greedy_ids"] if ids[-1] == 0 and len(ids) < MAX_LENGTH)
    info = {
        "vocab_size": len(vocab),
        "pad_id": pad,
        "training": training,
        "num_sentences": len(TEST_SENTENCES),
        "pad_row_norm": float(loaded.model.shared.weight[pad].detach().norm()),
        "out_arg": out_arg,
        "train_seconds": train_seconds,
        "train_arg": f"--max-steps {max_steps}" if max_steps is not None else f"--train-seconds {train_seconds:g}",
        "seed": seed,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "sentencepiece_version": sentencepiece.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": np.__version__,
        "tool_seconds": round(time.monotonic() - t0, 1),
    }
    _write_readme(out_dir, info)
    info["total_bytes"] = _dir_size(out_dir)
    info["ended_with_eos"] = ended
    log(f"wrote {out_dir} ({info['total_bytes']:,} bytes); {ended}/{len(TEST_SENTENCES)} greedy outputs end with </s>")
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--train-seconds", type=float, default=150.0, help="training time budget (default 150)")
    parser.add_argument("--max-steps", type=int, default=None, help="train exactly this many steps instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    info = write_fixture(args.out, train_seconds=args.train_seconds, seed=args.seed, max_steps=args.max_steps)
    for i, text in enumerate(json.loads((Path(args.out) / "reference.json").read_text("utf-8"))["greedy_text"]):
        print(f"  {TEST_SENTENCES[i]!r} -> {text!r}")
    print(json.dumps({k: v for k, v in info.items() if k != "out_arg"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
