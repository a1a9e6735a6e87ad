"""The TensorFlow-free greedy and beam search vs keras-hub's samplers."""

import keras
import keras_hub
import numpy as np
import pytest
from keras import ops

from ondevice.search import beam_search, greedy_search
from zoo.step_model import STATE, DecoderTensor

VOCAB, DIM, START, END = 40, 16, 2, 3


class ToyRecurrentModel:
    """h' = tanh(h Ws + E[token]); logits = h' Wo — a step model in numpy."""

    def __init__(self, seed=0, end_bias=-4.0):
        rng = np.random.default_rng(seed)
        self.Ws = rng.normal(0, 0.6, (DIM, DIM)).astype(np.float32)
        self.E = rng.normal(0, 1.0, (VOCAB, DIM)).astype(np.float32)
        self.Wo = rng.normal(0, 1.5, (DIM, VOCAB)).astype(np.float32)
        self.bo = np.zeros((VOCAB,), np.float32)
        self.bo[END] = end_bias
        self.decoder_tensors = [DecoderTensor("h", (None, DIM), "float32", STATE)]
        self.calls = 0

    def initial(self, source_ids):
        return np.tanh(self.E[source_ids].sum(axis=1) * 0.3).astype(np.float32)

    def encode(self, source_ids):
        return {"h": self.initial(source_ids)}

    def decode_step(self, token, step, tensors):
        self.calls += 1
        h = np.tanh(tensors["h"] @ self.Ws + self.E[token]).astype(np.float32)
        return {"logits": h @ self.Wo + self.bo, "h": h}

    def keras_next(self):
        """The same step as keras-hub's `next(prompt, cache, index)`."""
        Ws, E, Wo, bo = (ops.convert_to_tensor(a) for a in (self.Ws, self.E, self.Wo, self.bo))

        def next(prompt, cache, index):
            token = ops.take(prompt, index - 1, axis=1)
            h = ops.tanh(ops.matmul(cache, Ws) + ops.take(E, token, axis=0))
            return ops.matmul(h, Wo) + bo, None, h

        return next


SOURCES = np.array([[5, 6, 7], [8, 9, 0], [10, 11, 12], [13, 0, 0]], np.int32)


def prompt(batch, length):
    p = np.zeros((batch, length), np.int32)
    p[:, 0] = START
    return p


def cut(row, end=END):
    row = list(row)
    return row[: row.index(end)] if end in row else row


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_greedy_matches_keras_hub_greedy_sampler(seed):
    model = ToyRecurrentModel(seed, end_bias=3.0)
    max_steps = 12
    ours = greedy_search(model, SOURCES, START, END, max_steps)
    sampler = keras_hub.samplers.GreedySampler()
    theirs = sampler(
        model.keras_next(), prompt(len(SOURCES), max_steps + 1), cache=model.initial(SOURCES),
        index=1, stop_token_ids=[END],
    )
    theirs = [cut(row[1:]) for row in keras.ops.convert_to_numpy(theirs)]
    assert ours == theirs
    assert any(len(o) < max_steps for o in ours), "some sentence should stop on the end token"


@pytest.mark.parametrize("seed,beams", [(0, 3), (1, 4), (2, 2)])
def test_beam_matches_keras_hub_beam_sampler_without_end_token(seed, beams):
    # keras-hub's BeamSampler has no finished-hypothesis handling or length
    # normalization; with no end token both reduce to the same top-k search.
    model = ToyRecurrentModel(seed)
    max_steps = 8
    ours = beam_search(model, SOURCES, START, None, max_steps, beam_size=beams, length_penalty=0.0)
    sampler = keras_hub.samplers.BeamSampler(num_beams=beams)
    theirs = sampler(model.keras_next(), prompt(len(SOURCES), max_steps + 1), cache=model.initial(SOURCES), index=1)
    theirs = [list(row[1:]) for row in keras.ops.convert_to_numpy(theirs)]
    assert ours == theirs
    greedy = greedy_search(model, SOURCES, START, None, max_steps)
    assert ours != greedy, "the case should exercise beam reordering"


def test_beam_of_one_is_greedy():
    model = ToyRecurrentModel(3, end_bias=1.0)
    assert beam_search(model, SOURCES, START, END, 15, beam_size=1) == greedy_search(model, SOURCES, START, END, 15)


class MarkovModel:
    """Table-driven next-token probabilities keyed by the previous token."""

    A, B, X = 5, 6, 7

    def __init__(self):
        table = np.full((10, 10), 1e-6)
        table[START, [self.A, self.B]] = [0.6, 0.4]
        table[self.A, [self.X, END]] = [0.55, 0.45]
        table[self.X, [self.X, END]] = [0.5, 0.5]
        table[self.B, END] = 0.95
        self.log_table = np.log(table / table.sum(1, keepdims=True)).astype(np.float32)
        self.decoder_tensors = [DecoderTensor("last", (None, 1), "int32", STATE)]

    def encode(self, source_ids):
        return {"last": np.full((len(source_ids), 1), START, np.int32)}

    def decode_step(self, token, step, tensors):
        return {"logits": self.log_table[token], "last": token[:, None]}


def test_beam_finds_the_more_probable_sentence_and_stops_on_end():
    model = MarkovModel()
    source = np.zeros((2, 1), np.int32)
    assert greedy_search(model, source, START, END, 10) == [[MarkovModel.A, MarkovModel.X]] * 2
    # Greedy takes A (0.6) then X; the best sentence is B END (0.4 * 0.95 = 0.38),
    # better than A END (0.27) and A X END (0.165).
    assert beam_search(model, source, START, END, 10, beam_size=2, length_penalty=0.0) == [[MarkovModel.B]] * 2
    assert beam_search(model, source, START, END, 10, beam_size=2, length_penalty=1.0) == [[MarkovModel.B]] * 2


def test_beam_respects_max_steps():
    model = ToyRecurrentModel(4, end_bias=-50.0)  # never ends
    out = beam_search(model, SOURCES, START, END, 6, beam_size=3)
    assert all(len(o) == 6 for o in out)


def test_top_candidates_equal_a_full_stable_sort_with_ties():
    from ondevice.search import _top_candidates

    rng = np.random.default_rng(0)
    for _ in range(200):
        candidates = np.round(rng.normal(size=(3, 50)), 1)  # many exact ties
        candidates[0, :5] = -np.inf
        expected = np.argsort(-candidates, axis=1, kind="stable")[:, :10]
        np.testing.assert_array_equal(_top_candidates(candidates, 10), expected)
        # A row of 5 beams x 10 tokens: the bound from the first beam gives the same result.
        np.testing.assert_array_equal(_top_candidates(candidates, 10, block=10), expected)
