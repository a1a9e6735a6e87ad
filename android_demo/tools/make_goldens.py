"""Write the golden files the Kotlin core's tests check against the Python runtime.

Uses the Python runtime (`ondevice/`) on a real converted model:

- `tokens.json`: WordPiece ids of a few hundred sentences of both languages (the bundled
  Tatoeba validation split plus hand-written edge cases: accents, umlauts, punctuation,
  quotes, digits, CJK, emoji, control/format characters, NUL, over-long words) with the
  Python detokenization of those ids, and `detokenize_words` of each sentence's words.
- `decode_*.json`: complete `Translator.translate` runs (greedy and beam search), recorded as
  every `encode` and `decode_step` call the Python search made: the tokens and step fed, where
  each memory/state row came from (beam reordering), and the logits returned. The Kotlin tests
  replay them through the Kotlin search, which must make exactly the same calls and produce the
  same tokens and text.
- `decode_synthetic.json`: a beam decode of a small random numpy step model (state with batch
  axis 1), chosen so that it depends on every rule in `MUTATIONS`.
- the artifact's `manifest.json` and vocabularies (not the model).

The recording wraps the real `LiteRTStepModel` in `RecordingStepModel`, which hands the search
small marker tensors instead of the real memory/state: each marker row names the call (or
`encode`) and row that produced it, so the beam reordering the search applies is recorded
exactly, while the real state is gathered the same way and fed to the real model.

Logits are stored compactly, as what the search needs: per row, the `top` highest logits
(float32, exact) with their ids, and one `fill` value (float32) for every other id, chosen so
that the row's log-sum-exp stays that of the real row (`top` is `2 * beam_size`, enough for
every candidate a beam search can keep; 4 for greedy). Both replays build the same float32 rows
from them. The script checks that (1) the recorded decode equals a plain run of the Python
`Translator`, (2) the Python search replayed on the compact rows makes exactly the recorded
calls and outputs, and (3) for beam search, so does a replay with the rows perturbed by 1e-10:
no near-tie decides the decode, so float64 rounding differences between numpy and the JVM
(`exp`, `log`) cannot flip it.

Usage (from the repository root; trains and converts a `tiny` model unless `--artifact`):

    .venv/bin/python android_demo/tools/make_goldens.py [--artifact artifacts/NAME]
"""

import argparse
import json
import pathlib
import shutil
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ondevice.litert_model import LiteRTStepModel  # noqa: E402
from ondevice.manifest import load_manifest  # noqa: E402
from ondevice.tokenizer import WordPieceTokenizer, detokenize_words  # noqa: E402
from ondevice.translator import Translator  # noqa: E402

OUT = ROOT / "android_demo/core/src/test/resources/goldens"
NUM_CORPUS_SENTENCES = 150
ENCODE = -1  # producer id of rows made by `encode`

EDGE_CASES = [
    "",
    "   ",
    "Ünïcödé façade — naïve café, ¿Qué tal? ¡Hola!",
    "Die Straße ist groß; Äpfel, Öl und Übermut.",
    "Obst- und Gemüsehändler verkaufen T-Shirts.",
    "„Open“-Schild und «Anführungszeichen» und “quotes”.",
    "Tom's dogs' toys aren't l'été.",
    "It costs 3.5 euros, 1,000 people came at 10:30 (really!).",
    "mail: tom@example.com + 50% [note] {x} <y> a|b ~c ^d `e` $5 #1 & more...",
    "中文字符 and 日本語のテキスト and 한국어",
    "emoji 😀👍🏽 and ° € ™ ©",
    "NBSP\u00a0inside, zero\u200bwidth, soft\u00adhyphen, BOM\ufeffhere",
    "tab\tnew\nline\r\nform\ffeed\u000bvtab\u0085nel",
    "before NUL\u0000after NUL",
    "decomposed e\u0301 and A\u030a and u\u0308",
    "line\u2028separator and ideographic\u3000space",
    "a" * 120,
    "é" * 50,
    "é" * 51,
    "x" * 99 + " ok",
    "[UNK] [START] [END] [PAD] ##ing",
    "Devanagari \U00011b00 Kawi \U00011f43 hieroglyph \U00013439 format",
    "…ellipsis… and ‘single’ and ‘ quotes",
    "Él dijo: \"¿Dónde está?\" y ella: \"Aquí\".",
    "ÀÉÎÕÜ àéîõü ñÑ çÇ ß ẞ œ æ ø å",
    "Ich möchte zwei Brötchen, bitte.",
    "¿Por qué no viniste ayer a la reunión?",
]

DECODES = [
    # name, sentences, beam size, length penalty, batch size, max steps (None: the manifest's)
    ("greedy", ["I am hungry.", "Where is the train station?", "Tom is a good boy.",
                "I don't know what to do.", "It's raining."], 1, 1.0, 3, None),
    ("beam4", ["I am hungry.", "Tom is a good boy.", "It's raining.", "Where is the train station?",
               "She lives in a big house."], 4, 1.0, 3, None),
    ("beam5_lp06", ["I don't know.", "We have to go home now.", "My father is a doctor."], 5, 0.6, 3, None),
    ("beam3_max_steps", ["I am hungry.", "I don't know what to do.", "The children are playing in the garden."],
     3, 1.0, 3, 6),
]


GREEDY_TOP = 4

# Rules of `ondevice.search.beam_search` the beam goldens must pin down: a search without the
# rule must decode some golden differently. The tiny real model never ranks the end token
# between beam_size and 2 * beam_size, so `decode_synthetic.json` (a small random numpy step
# model, see `SyntheticStepModel`) is required to pin down all of them.
MUTATIONS = {
    "only the top beam_size candidates may finish": ("if rank < k:", "if True:"),
    "length penalty": ("return score / (length**length_penalty) if length_penalty else score", "return score"),
    "live beams count at max steps": ("if not done[b]:", "if False:"),
}


def compact_rows(logits, top):
    """`{"fill", "index", "value"}` of float32 logit rows (see module docstring)."""
    fills, indices, values = [], [], []
    for row in np.asarray(logits, np.float32):
        order = np.lexsort((np.arange(row.size), -row.astype(np.float64)))[:top]  # best first, ties by id
        rest = np.delete(row, order).astype(np.float64)
        fill = 0.0  # unused when every id is in `top`
        if rest.size:
            high = rest.max()
            fill = high + np.log(np.exp(rest - high).sum()) - np.log(rest.size)
        fills.append(float(np.float32(fill)))
        indices.append([int(i) for i in order])
        values.append([float(row[i]) for i in order])
    return {"fill": fills, "index": indices, "value": values}


def expand_rows(compact, vocabulary_size):
    """The float32 rows a compact record stands for (what both replays feed the search)."""
    rows = np.empty((len(compact["fill"]), vocabulary_size), np.float32)
    for r, (fill, index, value) in enumerate(zip(compact["fill"], compact["index"], compact["value"])):
        rows[r] = np.float32(fill)
        rows[r, index] = np.asarray(value, np.float32)
    return rows


class RecordingStepModel:
    """A step model that records every call made to `model` (see module docstring).

    Args:
        model: the real step model (`LiteRTStepModel`).
    """

    def __init__(self, model):
        self.model = model
        self.decoder_tensors = model.decoder_tensors
        self.segments = []
        self.logits = []

    def _markers(self, producer, real):
        out = {}
        for t in self.decoder_tensors:
            if t.name not in real:
                continue
            n = real[t.name].shape[t.batch_axis]
            shape = [1] * real[t.name].ndim
            shape[t.batch_axis] = n
            out[t.name] = (np.arange(n, dtype=np.int64) + (producer + 1) * 1_000_000).reshape(shape)
        return out

    def encode(self, source_ids):
        real = self.model.encode(source_ids)
        self._store = {ENCODE: real}
        self.segments.append({"source_ids": np.asarray(source_ids).tolist(), "calls": []})
        return {**real, **self._markers(ENCODE, real)}

    def decode_step(self, token, step, tensors):
        calls = self.segments[-1]["calls"]
        feeds, origins = {}, {}
        for t in self.decoder_tensors:
            codes = np.moveaxis(np.asarray(tensors[t.name]), t.batch_axis, 0).reshape(-1)
            producers = set((codes // 1_000_000 - 1).tolist())
            if len(producers) != 1:
                raise AssertionError(f"{t.name}: rows from several calls {sorted(producers)}")
            producer = producers.pop()
            rows = (codes % 1_000_000).astype(np.int64)
            feeds[t.name] = np.take(self._store[producer][t.name], rows, axis=t.batch_axis)
            origins[t.name] = {"from": int(producer), "rows": rows.tolist()}
        result = self.model.decode_step(token, step, feeds)
        index = len(calls)
        calls.append({"step": int(step), "token": np.asarray(token).tolist(), "inputs": origins})
        self._store[index] = result
        logits = np.asarray(result["logits"], dtype=np.float32)
        self.logits.append(logits)
        out = {"logits": logits}
        for t in self.decoder_tensors:
            if t.role == "state" and t.name in result:
                out[t.name] = self._markers(index, result)[t.name]
        return out


class ReplayStepModel:
    """Replays a recorded decode, checking each call; optional noise on the logits.

    The Python twin of the Kotlin tests' replay model, used to check a golden before writing it.
    """

    def __init__(self, golden, decoder_tensors, noise=0.0, seed=0):
        self.golden = golden
        self.logits = np.concatenate(
            [
                expand_rows(c["logits"], golden["vocabulary_size"])
                for seg in golden["segments"]
                for c in seg["calls"]
            ]
        )
        self.decoder_tensors = decoder_tensors
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.segment = -1
        self.row = 0

    def _markers(self, producer, n_rows, like):
        out = {}
        for t in self.decoder_tensors:
            if t.role == "state" or producer == ENCODE:
                shape = [1] * len(t.shape)
                shape[t.batch_axis] = n_rows
                out[t.name] = (np.arange(n_rows, dtype=np.int64) + (producer + 1) * 1_000_000).reshape(shape)
        return out

    def encode(self, source_ids):
        self.segment += 1
        self.call = 0
        seg = self.golden["segments"][self.segment]
        assert np.asarray(source_ids).tolist() == seg["source_ids"], "encode input differs"
        return self._markers(ENCODE, len(seg["source_ids"]), None)

    def decode_step(self, token, step, tensors):
        recorded = self.golden["segments"][self.segment]["calls"][self.call]
        assert int(step) == recorded["step"], f"step {step} != {recorded['step']}"
        assert np.asarray(token).tolist() == recorded["token"], f"tokens differ at call {self.call}"
        for t in self.decoder_tensors:
            codes = np.moveaxis(np.asarray(tensors[t.name]), t.batch_axis, 0).reshape(-1)
            origin = {"from": int(codes[0] // 1_000_000 - 1), "rows": (codes % 1_000_000).tolist()}
            assert origin == recorded["inputs"][t.name], f"{t.name} rows differ at call {self.call}"
        rows = len(recorded["token"])
        logits = self.logits[self.row : self.row + rows].astype(np.float64)
        self.row += rows
        if self.noise:
            logits = logits + self.rng.uniform(-self.noise, self.noise, logits.shape)
        out = {"logits": logits, **self._markers(self.call, rows, None)}
        self.call += 1
        return out

    def finished(self):
        return self.segment == len(self.golden["segments"]) - 1 and self.row == len(self.logits) and self.call == len(
            self.golden["segments"][self.segment]["calls"]
        )


def make_artifact(workdir):
    """Train the `tiny` preset on the bundled data and convert it (float32)."""
    from converters.convert import convert
    from zoo.training import train

    run_dir = workdir / "run"
    artifact = workdir / "artifact"
    train("transformer", str(run_dir), preset="tiny", epochs=6, max_train_pairs=8000, verbose=0)
    convert(str(run_dir), str(artifact), recipe="float32", verbose=False)
    return artifact


def token_goldens(manifest):
    from zoo.datasets.parallel_text import load_corpus

    corpus = load_corpus("default")
    pairs = corpus.val[:NUM_CORPUS_SENTENCES]
    out = {}
    for side, texts in (("source", [p[0] for p in pairs]), ("target", [p[1] for p in pairs])):
        tokenizer = WordPieceTokenizer.from_file(manifest.path(f"{side}_vocabulary"))
        entries = []
        for text in texts + EDGE_CASES:
            ids = tokenizer.tokenize(text)
            words = tokenizer.words(text)
            entries.append(
                {
                    "text": text,
                    "ids": ids,
                    "detokenized": tokenizer.detokenize(ids),
                    "words": words,
                    "joined": detokenize_words(words),
                }
            )
        out[side] = entries
    return out


def record_decode(manifest, name, sentences, beam_size, length_penalty, batch_size, max_steps):
    special = manifest.special_tokens
    source = WordPieceTokenizer.from_file(manifest.path("source_vocabulary"))
    target = WordPieceTokenizer.from_file(manifest.path("target_vocabulary"))
    real = LiteRTStepModel(manifest, num_threads=1)
    recorder = RecordingStepModel(real)

    def translator(model):
        return Translator(
            model, source, target, special, manifest.max_source_length, manifest.max_target_length, batch_size
        )

    ids = [translator(recorder).encode_text(s) for s in sentences]
    outputs = translator(recorder).translate_ids(ids, beam_size, max_steps, length_penalty)
    plain = translator(real).translate_ids(ids, beam_size, max_steps, length_penalty)
    if outputs != plain:
        raise SystemExit(f"{name}: the recorded decode differs from a plain run of the Python runtime")
    top = 2 * beam_size if beam_size > 1 else GREEDY_TOP
    rows = iter(recorder.logits)
    for segment in recorder.segments:
        for call in segment["calls"]:
            call["logits"] = compact_rows(next(rows), top)
    golden = {
        "name": name,
        "sentences": sentences,
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "batch_size": batch_size,
        "max_steps": max_steps,
        "output_ids": outputs,
        "translations": [target.detokenize(o) for o in outputs],
        "vocabulary_size": int(recorder.logits[0].shape[1]),
        "segments": recorder.segments,
    }
    for seed, noise in [(0, 0.0)] + ([(1, 1e-10), (2, 1e-10), (3, 1e-10)] if beam_size > 1 else []):
        replay = ReplayStepModel(golden, real.decoder_tensors, noise=noise, seed=seed)
        try:
            again = translator(replay).translate_ids(ids, beam_size, max_steps, length_penalty)
        except AssertionError as e:
            raise SystemExit(f"{name}: replay with noise {noise} differs ({e}); pick other sentences") from None
        if again != outputs or not replay.finished():
            raise SystemExit(f"{name}: replay with noise {noise} differs; pick other sentences")
    other_penalty = 0.0 if length_penalty else 1.0
    changed = sum(
        a != b for a, b in zip(outputs, translator(real).translate_ids(ids, beam_size, max_steps, other_penalty))
    )
    line = describe(golden, manifest)
    covered = []
    if beam_size > 1:
        line += f"; with length penalty {other_penalty} instead, {changed} sentence(s) decode differently"
        covered = covered_rules(
            golden,
            manifest.decoder_tensors(),
            lambda replay, _: translator(replay).translate_ids(ids, beam_size, max_steps, length_penalty),
        )
        line += f"; pins down: {covered}"
    return golden, line, covered


def mutated_beam_search(rule):
    """`ondevice.search.beam_search` with one rule (a `MUTATIONS` key) broken."""
    import inspect

    from ondevice import search

    old, new = MUTATIONS[rule]
    source = inspect.getsource(search.beam_search)
    if old not in source:
        raise SystemExit(f"make_goldens.py is out of date with ondevice/search.py: no {old!r}")
    namespace = dict(vars(search))
    exec(source.replace(old, new), namespace)
    return namespace["beam_search"]


def covered_rules(golden, decoder_tensors, decode):
    """The `MUTATIONS` whose breaking changes a beam decode's calls or outputs.

    Args:
        golden: the recorded decode.
        decoder_tensors: the step model's `decoder_tensors`.
        decode: `decode(model)` runs the decode over a step model, returns the output ids.
    """
    import ondevice.translator

    covered = []
    original = ondevice.translator.beam_search
    for rule in MUTATIONS:
        replay = ReplayStepModel(golden, decoder_tensors)
        ondevice.translator.beam_search = mutated_beam_search(rule)
        try:
            again = decode(replay, ondevice.translator.beam_search)
            if again != golden["output_ids"] or not replay.finished():
                covered.append(rule)
        except (AssertionError, IndexError):
            covered.append(rule)
        finally:
            ondevice.translator.beam_search = original
    return covered


class SyntheticStepModel:
    """A small random recurrent step model in numpy, for the decode no real model produced.

    Memory `(batch, dim)` has batch axis 0; state `(2, batch, dim)` has batch axis 1, so the
    replay also checks reordering along an axis other than 0. `end_bias` makes the end token
    likely enough to appear among every rank of the candidates.
    """

    class Tensor:
        def __init__(self, name, role, batch_axis, shape):
            self.name, self.role, self.batch_axis, self.shape = name, role, batch_axis, shape

    def __init__(self, seed, vocabulary_size=16, dim=4, end_id=3, end_bias=1.5):
        rng = np.random.default_rng(seed)
        self.source_embedding = rng.normal(size=(vocabulary_size, dim))
        self.embedding = rng.normal(size=(vocabulary_size, dim))
        self.recurrent = rng.normal(size=(dim, dim)) * 0.8
        self.output = rng.normal(size=(dim, vocabulary_size)) * 2.0
        self.bias = np.zeros(vocabulary_size)
        self.bias[end_id] = end_bias
        self.decoder_tensors = [
            self.Tensor("memory", "memory", 0, [-1, dim]),
            self.Tensor("state", "state", 1, [2, -1, dim]),
        ]

    def encode(self, source_ids):
        memory = self.source_embedding[np.asarray(source_ids)].mean(axis=1).astype(np.float32)  # (batch, dim)
        state = np.stack([memory, np.zeros_like(memory)]).astype(np.float32)  # (2, batch, dim)
        return {"memory": memory, "state": state}

    def decode_step(self, token, step, tensors):
        state, memory = tensors["state"], tensors["memory"]
        hidden = np.tanh(state[0] @ self.recurrent + self.embedding[np.asarray(token)] + memory + 0.1 * step)
        logits = (hidden @ self.output + self.bias).astype(np.float32)  # (batch, vocab)
        return {"logits": logits, "state": np.stack([hidden, state[0]]).astype(np.float32)}


SYNTHETIC_SOURCE = [[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 13, 14, 15, 0]]


def record_synthetic(seed, beam_size=3, length_penalty=1.0, max_steps=7):
    """A beam decode of `SyntheticStepModel(seed)`, with the rules it pins down."""
    from ondevice.search import beam_search

    model = SyntheticStepModel(seed)
    source = np.asarray(SYNTHETIC_SOURCE, np.int32)
    recorder = RecordingStepModel(model)
    outputs = beam_search(recorder, source, 2, 3, max_steps, beam_size, length_penalty)
    if outputs != beam_search(model, source, 2, 3, max_steps, beam_size, length_penalty):
        raise SystemExit("synthetic: the recorded decode differs from a plain run")
    for segment in recorder.segments:
        for call, logits in zip(segment["calls"], recorder.logits):
            call["logits"] = compact_rows(logits, logits.shape[1])
    golden = {
        "name": "synthetic",
        "seed": seed,
        "start_id": 2,
        "end_id": 3,
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "max_steps": max_steps,
        "output_ids": outputs,
        "vocabulary_size": int(recorder.logits[0].shape[1]),
        "decoder_tensors": [
            {"name": t.name, "role": t.role, "batch_axis": t.batch_axis, "shape": t.shape}
            for t in model.decoder_tensors
        ],
        "segments": recorder.segments,
    }

    def decode(replay, search):
        return search(replay, source, 2, 3, max_steps, beam_size, length_penalty)

    for noise_seed in range(3):
        replay = ReplayStepModel(golden, model.decoder_tensors, noise=1e-10, seed=noise_seed)
        if decode(replay, beam_search) != outputs or not replay.finished():
            return golden, []
    return golden, covered_rules(golden, model.decoder_tensors, decode)


def describe(golden, manifest):
    """One line about what the decode exercises."""
    calls = sum(len(s["calls"]) for s in golden["segments"])
    limit = min(golden["max_steps"] or manifest.max_target_length, manifest.max_target_length)
    ran_out = sum(1 for s in golden["segments"] if len(s["calls"]) == limit)
    return (
        f"{golden['name']}: {len(golden['sentences'])} sentences, beam {golden['beam_size']}, "
        f"lp {golden['length_penalty']}, {len(golden['segments'])} batch(es), {calls} decode_step calls, "
        f"batches that ran to max steps ({limit}): {ran_out}; -> {golden['translations']}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", help="a converted model directory (default: train + convert tiny)")
    parser.add_argument("--out", default=str(OUT), help="golden directory")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        artifact = pathlib.Path(args.artifact) if args.artifact else make_artifact(pathlib.Path(tmp))
        manifest = load_manifest(str(artifact))
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob("decode_*"):
            stale.unlink()
        for key in ("source_vocabulary", "target_vocabulary"):
            shutil.copyfile(manifest.path(key), out / manifest.data["tokenizer"][key])
        shutil.copyfile(artifact / "manifest.json", out / "manifest.json")
        tokens = token_goldens(manifest)
        (out / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        print(f"tokens.json: {len(tokens['source'])} source + {len(tokens['target'])} target texts")
        covered = set()
        for name, sentences, beam, penalty, batch, max_steps in DECODES:
            golden, line, rules = record_decode(manifest, name, sentences, beam, penalty, batch, max_steps)
            covered.update(rules)
            text = json.dumps(golden, ensure_ascii=False, separators=(",", ":"))
            (out / f"decode_{name}.json").write_text(text, encoding="utf-8")
            print(line)
        missing = sorted(set(MUTATIONS) - covered)
        print(f"beam rules no real-model golden depends on (the synthetic one must): {missing}")
        for seed in range(100):  # the first small random model whose decode pins down every rule
            golden, rules = record_synthetic(seed)
            if set(rules) == set(MUTATIONS):
                break
        else:
            raise SystemExit("no synthetic seed pins down every beam search rule")
        (out / "decode_synthetic.json").write_text(json.dumps(golden, separators=(",", ":")), encoding="utf-8")
        print(f"synthetic (seed {seed}): {golden['output_ids']}; pins down: {rules}")
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
