"""Write the golden files the Kotlin core's tests check against the Python runtime.

Uses the Python runtime (`ondevice/`) on a real converted model:

- `tokens.json`: WordPiece ids of a few hundred sentences of both languages (the bundled
  Tatoeba validation split plus hand-written edge cases: accents, umlauts, punctuation,
  quotes, digits, CJK, emoji, control/format characters, NUL, over-long words) with the
  Python detokenization of those ids, and `detokenize_words` of each sentence's words.
- `decode_*.json`: complete `Translator.translate` runs (greedy, and beam search with both stop
  rules), recorded as every call the Python search made to its decoding state
  (`ondevice.decoder_state`): the tokens and step of each `step`, where each memory/state row
  came from (beam reordering, finished sentences leaving the batch), and the logits returned.
  The Kotlin tests replay them through the Kotlin search, which must make exactly the same calls
  and produce the same tokens and text.
- `decode_synthetic_early.json`, `decode_synthetic_fairseq.json`: beam decodes of a small random
  numpy step model (a replace state with batch axis 1, an append state with batch axis 2),
  chosen so that each depends on every rule in `MUTATIONS` of its stop rule.
- the artifact's `manifest.json` and vocabularies (not the model).

The recording wraps the real `LiteRTStepModel` in `RecordingModel`: its decoding state is the
real one (`LiteRTDecoderState`, runtime-owned caches, `decode_step` variants), and it tracks
where every row came from through the `select` calls. The replays (`ReplayStepModel`, here and in
the Kotlin tests) are step models instead: their decoding state is the array one
(`ArrayDecoderState`), and they hand it small *marker* tensors whose values name the call (or
`encode`) and row that produced each row: `(producer + 1) * MARK + row`. An `append` state
(K/V cache) holds at position `t` the marker of call `t`'s row, and 0 where nothing was written
yet. Each replayed step checks every marker against the recording, so the reordering and the
appending the search and the state apply are checked exactly.

Logits are stored compactly, as what the search needs: per row, the `top` highest logits
(float32, exact) with their ids, and one `fill` value (float32) for every other id, chosen so
that the row's log-sum-exp stays that of the real row (`top` is `2 * beam_size`, enough for
every candidate a beam search can keep; 4 for greedy). Both replays build the same float32 rows
from them. The script checks that (1) the recorded decode equals a plain run of the Python
`Translator`, (2) the Python search replayed on the compact rows makes exactly the recorded
calls and outputs, and (3) for beam search, so does a replay with the rows perturbed by 1e-10:
no near-tie decides the decode, so float64 rounding differences between numpy and the JVM
(`exp`, `log`, `pow`) cannot flip it. It also breaks each search rule in `MUTATIONS` in a copy
of `ondevice/search.py` and checks that some golden of each decode kind (greedy, beam with
`stop="early"`, beam with `stop="fairseq"`) then replays differently.

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

from ondevice.decoder_state import start_decoding  # noqa: E402
from ondevice.litert_model import LiteRTStepModel  # noqa: E402
from ondevice.manifest import load_manifest  # noqa: E402
from ondevice.tokenizer import WordPieceTokenizer, detokenize_words  # noqa: E402
from ondevice.translator import Translator  # noqa: E402

OUT = ROOT / "android_demo/core/src/test/resources/goldens"
NUM_CORPUS_SENTENCES = 150
ENCODE = -1  # producer id of rows made by `encode`
MARK = 1000  # marker = (producer + 1) * MARK + row; exact in float32 up to ~16000 calls

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
    # name, sentences, beam size, length penalty, batch size, max steps (None: the manifest's),
    # beam stop rule (None for greedy)
    ("greedy", ["I am hungry.", "Where is the train station?", "Tom is a good boy.",
                "I don't know what to do.", "It's raining."], 1, 1.0, 3, None, None),
    ("greedy_stream", ["Where is the train station?"], 1, 1.0, 1, None, None),  # + `translate_stream`
    ("beam4", ["I am hungry.", "Tom is a good boy.", "It's raining.", "Where is the train station?",
               "She lives in a big house."], 4, 1.0, 3, None, "early"),
    ("beam4_fairseq", ["I am hungry.", "Tom is a good boy.", "It's raining.", "Where is the train station?",
                       "She lives in a big house."], 4, 1.0, 3, None, "fairseq"),
    ("beam5_lp06", ["I don't know.", "We have to go home now.", "My father is a doctor."], 5, 0.6, 3, None, "early"),
    ("beam3_max_steps", ["I am hungry.", "I don't know what to do.", "The children are playing in the garden."],
     3, 1.0, 3, 6, "early"),
    ("beam3_max_steps_fairseq", ["I am hungry.", "I don't know what to do.",
                                 "The children are playing in the garden."], 3, 1.0, 3, 6, "fairseq"),
]
STOP_RULES = ("early", "fairseq")

GREEDY_TOP = 4

# Rules of `ondevice/search.py` the goldens must pin down: a search with the rule broken must
# replay some golden of each kind it applies to ("greedy", or the beam stop rule) differently.
# name: (function, text, broken text, kinds). The tiny real model does not trigger every beam
# rule (e.g. an end token ranked between beam_size and 2 * beam_size), so each
# `decode_synthetic_STOP.json` (a small random numpy step model, see `SyntheticStepModel`) is
# required to pin down all the rules of its stop rule.
BEAM = ("early", "fairseq")
MUTATIONS = {
    # Only a rule for stop="fairseq", which counts finished hypotheses: an end token ranked past
    # beam_size is only reached when one ranked above it finished in the same step, with the same
    # length and a higher score, so the "early" rule (best finished score only) cannot tell.
    "only the top beam_size candidates may finish": ("_beam_search", "if rank < k:", "if True:", ("fairseq",)),
    "length penalty": (
        "_beam_search",
        "return score / (length**length_penalty) if length_penalty else score",
        "return score",
        BEAM,
    ),
    "live beams count at max steps": ("_beam_search", "if b in remaining:", "if False:", BEAM),
    "sentences that are done leave the batch": (
        "_beam_search",
        "keep = np.flatnonzero(~done)",
        "keep = np.arange(len(done))",
        BEAM,
    ),
    "early stop: done once no live hypothesis can beat the best finished": (
        "_beam_search",
        "done[a] = best >= reachable.max()",
        "done[a] = False",
        ("early",),
    ),
    "early stop: live scores normalized at the next length": (
        "_beam_search",
        "normalize(new_scores[a, :alive], step + 2)",
        "normalize(new_scores[a, :alive], step + 1)",
        ("early",),
    ),
    "fairseq stop: done with beam_size finished hypotheses": (
        "_beam_search",
        "done[a] = len(finished[b]) >= k",
        "done[a] = len(finished[b]) >= k + 1",
        ("fairseq",),
    ),
    "greedy: finished sentences leave the batch": ("generate_tokens", "if not going.all():", "if False:", ("greedy",)),
    "beam: padding and start are never generated": (
        "_beam_search",
        "log_probs[:, never] = -np.inf",
        "pass",
        BEAM,
    ),
}
# The functions of `ondevice.search` a mutated copy re-defines (they call each other).
SEARCH_FUNCTIONS = ("generate_tokens", "greedy_search", "_collect", "_beam_search", "beam_search")


def marker(producer, rows):
    """The marker values of `rows` made by `producer` (a call index or `ENCODE`)."""
    return (producer + 1) * MARK + np.asarray(rows, np.int64)


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


class RecordingModel:
    """Decodes with `model`'s own decoding state and records every call made to it.

    Args:
        model: the real model (`LiteRTStepModel`) or a step model.
    """

    def __init__(self, model):
        self.model = model
        self.decoder_tensors = model.decoder_tensors
        self.segments = []
        self.logits = []

    def start(self, source_ids, max_steps):
        source_ids = np.asarray(source_ids)
        self.segments.append({"source_ids": source_ids.tolist(), "calls": []})
        return RecordingState(self, start_decoding(self.model, source_ids, max_steps), source_ids.shape[0])


class RecordingState:
    """A decoding state that forwards to the real one and tracks where every row came from:
    memory rows (from `encode`), the producer and rows of the replace states, and per position
    of the append states the rows of the call that wrote it."""

    def __init__(self, recorder, real, batch):
        self.recorder = recorder
        self.real = real
        self.calls = recorder.segments[-1]["calls"]
        kinds = {_kind(t) for t in recorder.decoder_tensors}
        self.memory = np.arange(batch) if "memory" in kinds else None
        self.replace = (ENCODE, np.arange(batch)) if "replace" in kinds else None
        self.append = [] if "append" in kinds else None

    @property
    def length(self):
        return self.real.length

    def step(self, token):
        if len(token) >= MARK:
            raise SystemExit(f"{len(token)} rows: raise MARK")
        inputs = {}
        if self.memory is not None:
            inputs["memory"] = self.memory.tolist()
        if self.replace is not None:
            inputs["replace"] = {"from": int(self.replace[0]), "rows": self.replace[1].tolist()}
        if self.append is not None:
            inputs["append"] = [rows.tolist() for rows in self.append]
        step = self.real.length
        logits = self.real.step(token)
        index = len(self.calls)
        self.calls.append({"step": int(step), "token": np.asarray(token).tolist(), "inputs": inputs})
        self.recorder.logits.append(np.asarray(logits, np.float32))
        n = len(token)
        if self.replace is not None:
            self.replace = (index, np.arange(n))
        if self.append is not None:
            self.append.append(np.arange(n))
        return logits

    def select(self, rows, memory_rows=None):
        self.real.select(rows, memory_rows)
        rows = np.asarray(rows, np.int64)
        memory_rows = rows if memory_rows is None else np.asarray(memory_rows, np.int64)
        if self.memory is not None:
            self.memory = self.memory[memory_rows]
        if self.replace is not None:
            self.replace = (self.replace[0], self.replace[1][rows])
        if self.append is not None:
            self.append = [r[rows] for r in self.append]

    def close(self):
        self.real.close()


def _kind(tensor):
    """`memory`, `replace` or `append`."""
    if tensor.role == "memory":
        return "memory"
    return "append" if getattr(tensor, "time_axis", None) is not None else "replace"


class ReplayStepModel:
    """Replays a recorded decode, checking each call; optional noise on the logits.

    The Python twin of the Kotlin tests' replay model, used to check a golden before writing it:
    a step model (decoded through `ArrayDecoderState`) whose memory and state are markers.
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

    def _markers(self, producer, n_rows, kinds):
        out = {}
        for t in self.decoder_tensors:
            if _kind(t) in kinds:
                shape = [1] * len(t.shape)
                shape[t.batch_axis] = n_rows
                dtype = np.float32 if _kind(t) == "append" else np.int64
                out[t.name] = marker(producer, np.arange(n_rows)).astype(dtype).reshape(shape)
        return out

    def encode(self, source_ids):
        self.segment += 1
        self.call = 0
        seg = self.golden["segments"][self.segment]
        assert np.asarray(source_ids).tolist() == seg["source_ids"], "encode input differs"
        return self._markers(ENCODE, len(seg["source_ids"]), ("memory", "replace"))

    def decode_step(self, token, step, tensors):
        recorded = self.golden["segments"][self.segment]["calls"][self.call]
        where = f"batch {self.segment}, call {self.call}"
        assert int(step) == recorded["step"], f"step {step} != {recorded['step']} at {where}"
        assert np.asarray(token).tolist() == recorded["token"], f"tokens differ at {where}"
        rows = len(recorded["token"])
        inputs = recorded["inputs"]
        for t in self.decoder_tensors:
            kind = _kind(t)
            value = np.asarray(tensors[t.name])
            if kind == "append":
                by_row = np.moveaxis(value, (t.batch_axis, t.time_axis), (0, 1))
                by_row = by_row.reshape(rows, value.shape[t.time_axis], -1)
                expected = np.zeros(by_row.shape[:2])
                for position, made in enumerate(inputs["append"]):
                    expected[:, position] = marker(position, made)
                ok = (by_row == expected[:, :, None]).all()
            else:
                by_row = np.moveaxis(value, t.batch_axis, 0).reshape(rows, -1)
                if kind == "memory":
                    expected = marker(ENCODE, inputs["memory"])
                else:
                    expected = marker(inputs["replace"]["from"], inputs["replace"]["rows"])
                ok = (by_row == expected[:, None]).all()
            assert ok, f"{t.name} ({kind}) rows differ at {where}"
        logits = self.logits[self.row : self.row + rows].astype(np.float64)
        self.row += rows
        if self.noise:
            logits = logits + self.rng.uniform(-self.noise, self.noise, logits.shape)
        out = {"logits": logits, **self._markers(self.call, rows, ("replace", "append"))}
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


def record_decode(manifest, name, sentences, beam_size, length_penalty, batch_size, max_steps, stop):
    special = manifest.special_tokens
    source = WordPieceTokenizer.from_file(manifest.path("source_vocabulary"))
    target = WordPieceTokenizer.from_file(manifest.path("target_vocabulary"))
    real = LiteRTStepModel(manifest, num_threads=1)
    recorder = RecordingModel(real)
    kind = stop or "greedy"

    def translator(model):
        return Translator(
            model, source, target, special, manifest.max_source_length, manifest.max_target_length, batch_size
        )

    def decode(model, penalty=length_penalty):
        return translator(model).translate_ids(ids, beam_size, max_steps, penalty, beam_stop=stop or "early")

    ids = [translator(recorder).encode_text(s) for s in sentences]
    outputs = decode(recorder)
    if outputs != decode(real):
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
        "beam_stop": stop,
        "batch_size": batch_size,
        "max_steps": max_steps,
        "output_ids": outputs,
        "translations": [target.detokenize(o) for o in outputs],
        "vocabulary_size": int(recorder.logits[0].shape[1]),
        "segments": recorder.segments,
    }
    if beam_size == 1 and len(sentences) == 1:
        # The partial translations `translate_stream` yields; its decode is the recorded one.
        golden["stream"] = list(translator(real).translate_stream(sentences[0], max_steps))
        replay = ReplayStepModel(golden, manifest.decoder_tensors())
        replayed = list(translator(replay).translate_stream(sentences[0], max_steps))
        if golden["stream"] != replayed or golden["stream"][-1:] != golden["translations"]:
            raise SystemExit(f"{name}: translate_stream {golden['stream']} does not replay or end with the translation")
    for seed, noise in [(0, 0.0)] + ([(1, 1e-10), (2, 1e-10), (3, 1e-10)] if beam_size > 1 else []):
        replay = ReplayStepModel(golden, manifest.decoder_tensors(), noise=noise, seed=seed)
        try:
            again = decode(replay)
        except AssertionError as e:
            raise SystemExit(f"{name}: replay with noise {noise} differs ({e}); pick other sentences") from None
        if again != outputs or not replay.finished():
            raise SystemExit(f"{name}: replay with noise {noise} differs; pick other sentences")
    line = describe(golden, manifest)
    if beam_size > 1:
        other_penalty = 0.0 if length_penalty else 1.0
        changed = sum(a != b for a, b in zip(outputs, decode(real, other_penalty)))
        line += f"; with length penalty {other_penalty} instead, {changed} sentence(s) decode differently"
    covered = covered_rules(
        golden, manifest.decoder_tensors(), kind, lambda replay, search: _translate_with(search, lambda: decode(replay))
    )
    line += f"; pins down: {covered}"
    return golden, line, covered


def _translate_with(search, run):
    """`run()` with `ondevice.search.decode` (the translator's entry point) calling the searches of the namespace `search`."""
    import ondevice.search

    saved = ondevice.search.greedy_search, ondevice.search.beam_search
    ondevice.search.greedy_search, ondevice.search.beam_search = search["greedy_search"], search["beam_search"]
    try:
        return run()
    finally:
        ondevice.search.greedy_search, ondevice.search.beam_search = saved


def mutated_search(rule):
    """The functions of `ondevice.search` (a namespace) with one rule (a `MUTATIONS` key) broken."""
    import inspect

    from ondevice import search

    function, old, new, _ = MUTATIONS[rule]
    source = inspect.getsource(getattr(search, function))
    if source.count(old) != 1:
        raise SystemExit(f"make_goldens.py is out of date with ondevice/search.py: {old!r} is not once in {function}")
    namespace = dict(vars(search))
    for name in SEARCH_FUNCTIONS:
        code = inspect.getsource(getattr(search, name))
        exec(code.replace(old, new) if name == function else code, namespace)
    return namespace


def covered_rules(golden, decoder_tensors, kind, decode):
    """The `MUTATIONS` of decode kind `kind` whose breaking changes a decode's calls or outputs.

    Args:
        golden: the recorded decode.
        decoder_tensors: the step model's `decoder_tensors`.
        kind: `greedy`, `early` or `fairseq`.
        decode: `decode(model, search)` runs the decode over a step model with the search
            functions of the namespace `search`; returns the output ids.
    """
    covered = []
    for rule, (_, _, _, kinds) in MUTATIONS.items():
        if kind not in kinds:
            continue
        replay = ReplayStepModel(golden, decoder_tensors)
        try:
            again = decode(replay, mutated_search(rule))
            if again != golden["output_ids"] or not replay.finished():
                covered.append(rule)
        except (AssertionError, IndexError, ValueError):
            covered.append(rule)
    return covered


class SyntheticStepModel:
    """A small random recurrent step model in numpy, for the decodes no real model produced.

    Memory `(batch, dim)` has batch axis 0; the replace state `(2, batch, dim)` batch axis 1;
    the append state `(dim, time, batch)` batch axis 2 and time axis 1 (every step attends to
    the mean of its rows so far), so the replay also checks reordering and appending along other
    axes than the Transformer's. `end_bias` makes the end token likely enough to appear among
    every rank of the candidates.
    """

    class Tensor:
        def __init__(self, name, role, batch_axis, shape, time_axis=None):
            self.name, self.role, self.batch_axis, self.shape, self.time_axis = name, role, batch_axis, shape, time_axis
            self.dtype = "float32"

    def __init__(self, seed, vocabulary_size=16, dim=4, end_id=3, end_bias=1.5, max_steps=7):
        rng = np.random.default_rng(seed)
        self.source_embedding = rng.normal(size=(vocabulary_size, dim))
        self.embedding = rng.normal(size=(vocabulary_size, dim))
        self.recurrent = rng.normal(size=(dim, dim)) * 0.8
        self.attend = rng.normal(size=(dim, dim)) * 0.5
        self.output = rng.normal(size=(dim, vocabulary_size)) * 2.0
        self.bias = np.zeros(vocabulary_size)
        self.bias[end_id] = end_bias
        self.decoder_tensors = [
            self.Tensor("memory", "memory", 0, [-1, dim]),
            self.Tensor("state", "state", 1, [2, -1, dim]),
            self.Tensor("cache", "state", 2, [dim, max_steps, -1], time_axis=1),
        ]

    def encode(self, source_ids):
        memory = self.source_embedding[np.asarray(source_ids)].mean(axis=1).astype(np.float32)  # (batch, dim)
        state = np.stack([memory, np.zeros_like(memory)]).astype(np.float32)  # (2, batch, dim)
        return {"memory": memory, "state": state}

    def decode_step(self, token, step, tensors):
        state, memory, cache = tensors["state"], tensors["memory"], tensors["cache"]
        seen = cache[:, :step, :].mean(axis=1).T if step else np.zeros_like(memory)  # (batch, dim)
        hidden = np.tanh(
            state[0] @ self.recurrent + self.embedding[np.asarray(token)] + memory + seen @ self.attend + 0.1 * step
        )
        logits = (hidden @ self.output + self.bias).astype(np.float32)  # (batch, vocab)
        return {
            "logits": logits,
            "state": np.stack([hidden, state[0]]).astype(np.float32),
            "cache": hidden.T[:, None, :].astype(np.float32),  # (dim, 1, batch): this position's row
        }


SYNTHETIC_SOURCE = [[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 13, 14, 15, 0]]


def record_synthetic(seed, stop, beam_size=3, length_penalty=1.0, max_steps=7):
    """A beam decode of `SyntheticStepModel(seed)` with `stop`, and the rules it pins down."""
    from ondevice.search import beam_search

    model = SyntheticStepModel(seed, max_steps=max_steps)
    source = np.asarray(SYNTHETIC_SOURCE, np.int32)
    recorder = RecordingModel(model)
    args = (2, 3, max_steps, beam_size, length_penalty)
    outputs = beam_search(recorder, source, *args, stop=stop)
    if outputs != beam_search(model, source, *args, stop=stop):
        raise SystemExit("synthetic: the recorded decode differs from a plain run")
    for segment in recorder.segments:
        for call, logits in zip(segment["calls"], recorder.logits):
            call["logits"] = compact_rows(logits, logits.shape[1])
    golden = {
        "name": f"synthetic_{stop}",
        "seed": seed,
        "start_id": 2,
        "end_id": 3,
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "beam_stop": stop,
        "max_steps": max_steps,
        "output_ids": outputs,
        "vocabulary_size": int(recorder.logits[0].shape[1]),
        "decoder_tensors": [
            {"name": t.name, "role": t.role, "batch_axis": t.batch_axis, "shape": t.shape}
            | ({"time_axis": t.time_axis} if t.time_axis is not None else {})
            for t in model.decoder_tensors
        ],
        "segments": recorder.segments,
    }

    def decode(replay, search):
        return search["beam_search"](replay, source, *args, stop=stop)

    for noise_seed in range(3):
        replay = ReplayStepModel(golden, model.decoder_tensors, noise=1e-10, seed=noise_seed)
        if beam_search(replay, source, *args, stop=stop) != outputs or not replay.finished():
            return golden, []
    return golden, covered_rules(golden, model.decoder_tensors, stop, decode)


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
        covered = {kind: set() for kind in ("greedy", *STOP_RULES)}
        for name, sentences, beam, penalty, batch, max_steps, stop in DECODES:
            golden, line, rules = record_decode(manifest, name, sentences, beam, penalty, batch, max_steps, stop)
            covered[stop or "greedy"].update(rules)
            text = json.dumps(golden, ensure_ascii=False, separators=(",", ":"))
            (out / f"decode_{name}.json").write_text(text, encoding="utf-8")
            print(line)
        greedy_rules = {rule for rule, spec in MUTATIONS.items() if "greedy" in spec[3]}
        if greedy_rules - covered["greedy"]:
            missing = sorted(greedy_rules - covered["greedy"])
            raise SystemExit(f"no greedy golden pins down {missing}; pick other sentences")
        for stop in STOP_RULES:
            rules = {rule for rule, spec in MUTATIONS.items() if stop in spec[3]}
            missing = sorted(rules - covered[stop])
            print(f"{stop}: beam rules no real-model golden depends on (the synthetic one must): {missing}")
            for seed in range(200):  # the first small random model whose decode pins down every rule
                golden, pinned = record_synthetic(seed, stop)
                if set(pinned) == rules:
                    break
            else:
                raise SystemExit(f"no synthetic seed pins down every beam search rule of stop={stop!r}")
            text = json.dumps(golden, separators=(",", ":"))
            (out / f"decode_synthetic_{stop}.json").write_text(text, encoding="utf-8")
            print(f"synthetic {stop} (seed {seed}): {golden['output_ids']}; pins down: {pinned}")
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
