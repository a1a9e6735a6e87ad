"""Greedy, beam and sampling search over any encoder-decoder with explicit state.

`decode(model, source_ids, start_id, end_id, max_steps, method, ...)` is
the one entry point: it maps a method name and its options to the search
(translator, VAE runtime and benchmarks all go through it).

The searches drive a *decoding state* (`ondevice.decoder_state`):
`state.step(token) -> logits` once per position, `state.select(rows)` to
reorder beams and to drop sentences that are finished, so a finished
sentence costs nothing in later steps. `start_decoding` makes the state:
the LiteRT runtime's own (buffers inside the interpreter) or a numpy one
for any *step model* (`encode(source_ids) -> dict`,
`decode_step(token, step, tensors) -> dict` with `"logits"`,
`decoder_tensors`), e.g. the Keras model used for evaluation, so the
algorithm is the same on both sides and they can be compared token for
token.

No search ever generates the start token or the padding token (id
`pad_id`, 0 in every model of the zoo): their scores are set to -inf before
a token is chosen (after the log-softmax in beam search), as Hugging Face's
`bad_words_ids=[[pad]]` does for Marian models, whose decoder starts with
the padding token.

Everything here is numpy; no TensorFlow.
"""

import numpy as np

from ondevice.decoder_state import start_decoding
from ondevice.errors import InputError

BEAM_STOP_RULES = ("early", "fairseq")
SEARCH_METHODS = ("greedy", "beam", "sample")


def decode(
    model,
    source_ids,
    start_id,
    end_id,
    max_steps,
    method=None,
    pad_id=0,
    beam_size=5,
    length_penalty=1.0,
    beam_stop="early",
    temperature=1.0,
    top_k=0,
    seed=None,
):
    """Decode `source_ids` with the search `method` names.

    Args:
        model: a step model (see module docstring).
        source_ids: array (batch, ...) given to the model's encoder.
        start_id: int. First decoder token.
        end_id: int or None. Sentences stop at this token (not returned).
        max_steps: int. Most decode steps.
        method: str or None. `greedy`, `beam` or `sample`; None: greedy for
            `beam_size <= 1`, else beam (as CTranslate2 chooses).
        pad_id: int. The padding token (never generated).
        beam_size: int. Hypotheses per sentence (`beam`).
        length_penalty: float. Length normalization exponent (`beam`).
        beam_stop: str. `early` or `fairseq` (`beam`).
        temperature: float > 0. Softmax temperature (`sample`).
        top_k: int. Sample among the k best tokens, 0 = all (`sample`).
        seed: int, None or a `numpy.random.Generator` (`sample`).

    Returns:
        A list (batch) of lists of generated token ids, without start/end.

    Raises:
        InputError: `method` is not one of `SEARCH_METHODS`.
    """
    if method is None:
        method = "greedy" if beam_size <= 1 else "beam"
    if method == "greedy":
        return greedy_search(model, source_ids, start_id, end_id, max_steps, pad_id)
    if method == "beam":
        return beam_search(model, source_ids, start_id, end_id, max_steps, beam_size, length_penalty, beam_stop, pad_id)
    if method == "sample":
        return sample_search(model, source_ids, start_id, end_id, max_steps, temperature, top_k, seed, pad_id)
    raise InputError(f"unknown decoding method {method!r}; use greedy, beam or sample")


def log_softmax(logits):
    """Log-softmax over the last axis in float64 (the Kotlin core computes the
    very same values: same operations, numpy's pairwise summation)."""
    x = logits.astype(np.float64)  # a copy, modified in place below
    x -= x.max(axis=-1, keepdims=True)
    x -= np.log(np.exp(x).sum(axis=-1, keepdims=True))
    return x


def never_generated(start_id, pad_id):
    """The token ids no search generates."""
    return sorted({int(start_id), int(pad_id)})


def suppress(logits, ids):
    """A copy of `logits` (rows, vocab) with the columns `ids` set to -inf."""
    logits = np.array(logits, dtype=np.float64 if logits.dtype == np.float64 else np.float32)
    logits[:, ids] = -np.inf
    return logits


def greedy_search(model, source_ids, start_id, end_id, max_steps, pad_id=0):
    """Decode the argmax token at each step until `end_id` or `max_steps`.

    Args:
        model: a step model (see module docstring).
        source_ids: int32 array (batch, src), 0-padded.
        start_id: int. First decoder token.
        end_id: int or None. Sentences stop at this token (not returned).
        max_steps: int. Most decode steps (tokens generated).
        pad_id: int. The padding token (never generated).

    Returns:
        A list (batch) of lists of generated token ids, without start/end.
    """
    steps = generate_tokens(model, source_ids, start_id, end_id, max_steps, argmax_tokens, pad_id)
    return _collect(steps, source_ids.shape[0])


def argmax_tokens(logits):
    return np.argmax(logits, axis=-1).astype(np.int32)


def _collect(steps, batch):
    outputs = [[] for _ in range(batch)]
    for sentences, tokens in steps:
        for b, token in zip(sentences, tokens):
            outputs[b].append(int(token))
    return outputs


def generate_tokens(model, source_ids, start_id, end_id, max_steps, choose, pad_id=0):
    """Decode one token per unfinished sentence per step (greedy, sampling).

    A generator: after every step it yields `(sentences, tokens)`, the
    indices (into `source_ids`) of the sentences that got a token this step
    and those tokens; a sentence whose token is `end_id` is finished and
    leaves the batch (the end token is not yielded).

    Args:
        model: a step model.
        source_ids: array (batch, ...) given to the encoder.
        start_id: int. First decoder token.
        end_id: int or None. End-of-sentence token.
        max_steps: int. Most decode steps.
        choose: `logits (rows, vocab) -> int32 tokens (rows,)`; it sees
            -inf for the start and padding tokens.
        pad_id: int. The padding token.
    """
    never = never_generated(start_id, pad_id)
    batch = source_ids.shape[0]
    state = start_decoding(model, source_ids, max_steps)
    try:
        sentences = np.arange(batch)  # the sentence of each row of the state
        token = np.full((batch,), start_id, np.int32)
        for _ in range(max_steps):
            token = choose(suppress(state.step(token), never))
            going = token != end_id if end_id is not None else np.ones(len(token), bool)
            yield sentences[going], token[going]
            if not going.all():
                if not going.any():
                    break
                keep = np.flatnonzero(going)
                state.select(keep)
                sentences, token = sentences[keep], token[keep]
    finally:
        state.close()


def _top_candidates(candidates, n, block=None):
    """Indices of the `n` best entries of each row, best first; exact ties go
    to the lower index, so every runtime (the Kotlin core too) picks the same
    hypotheses. A partition plus a sort of the few survivors, not a full sort
    of beam x vocabulary on every step.

    With `block` (the vocabulary size when a row is `beams x vocabulary`),
    the partition runs over the first block only: its `n`-th best score is
    a lower bound of the row's, so one comparison over the row keeps every
    entry that can be among the best `n` (and a few more), and only those
    are sorted. The result is the same; the partition is `beams` times
    smaller.
    """
    rows = candidates.shape[0]
    if block is not None and n <= block:
        bound = np.partition(candidates[:, :block], -n, axis=1)[:, -n]  # (rows,) <= each row's n-th best
    else:
        bound = np.partition(candidates, -n, axis=1)[:, -n]  # (rows,) the n-th best score
    top = np.empty((rows, n), np.int64)
    for b, row in enumerate(candidates):
        index = np.flatnonzero(row >= bound[b])
        top[b] = index[np.lexsort((index, -row[index]))[:n]]
    return top


def beam_search(
    model,
    source_ids,
    start_id,
    end_id,
    max_steps,
    beam_size=5,
    length_penalty=1.0,
    stop="early",
    pad_id=0,
):
    """Beam search with length normalization.

    Each sentence keeps `beam_size` live hypotheses. Candidates are the top
    `2 * beam_size` extensions of all live beams (exact ties: lower beam,
    then lower token first); one ending in `end_id` (among the top
    `beam_size`) becomes a finished hypothesis, the rest refill the live
    beams. The winner maximizes `sum log p / length ** length_penalty`
    (length counts the end token). When a sentence is done:

    - `stop="early"`: once its best finished hypothesis scores at least as
      well as every live one would if it ended at the next step. Exact with
      `length_penalty=0` (a longer hypothesis only loses log-probability);
      with a length penalty it is the usual heuristic (CTranslate2 and
      Hugging Face stop the same way by default).
    - `stop="fairseq"`: once it has `beam_size` finished hypotheses.

    At `max_steps` the live hypotheses count as finished. A sentence that is
    done leaves the batch. State tensors are reordered along the batch axis
    the step model names; memory tensors are tiled once per sentence.

    Args:
        model: a step model.
        source_ids: int32 array (batch, src).
        start_id: int. First decoder token.
        end_id: int or None. End-of-sentence token.
        max_steps: int. Most decode steps.
        beam_size: int. Hypotheses per sentence.
        length_penalty: float. Exponent of the length normalization
            (0 = raw log-probability).
        stop: str. `"early"` or `"fairseq"` (see above).
        pad_id: int. The padding token (never generated).

    Returns:
        A list (batch) of the best hypotheses' token ids (no start/end).
    """
    if stop not in BEAM_STOP_RULES:
        raise ValueError(f"unknown beam stop rule {stop!r}; choose from {', '.join(BEAM_STOP_RULES)}")
    batch, k = source_ids.shape[0], beam_size
    state = start_decoding(model, source_ids, max_steps)
    try:
        return _beam_search(state, batch, k, start_id, end_id, max_steps, length_penalty, stop, pad_id)
    finally:
        state.close()


def _beam_search(state, batch, k, start_id, end_id, max_steps, length_penalty, stop, pad_id):
    never = never_generated(start_id, pad_id)
    tile = np.repeat(np.arange(batch), k)  # sentence-major: row = sentence * k + beam
    state.select(tile)
    active = np.arange(batch)  # sentences still in the state, in row-block order
    scores = np.full((batch, k), -np.inf)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    history = np.zeros((batch, k, 0), np.int32)
    token = np.full((batch * k,), start_id, np.int32)
    finished = [[] for _ in range(batch)]  # (normalized score, tokens)

    def normalize(score, length):
        return score / (length**length_penalty) if length_penalty else score

    for step in range(max_steps):
        n = len(active)
        log_probs = log_softmax(state.step(token))
        log_probs[:, never] = -np.inf
        log_probs = log_probs.reshape(n, k, -1)
        vocab = log_probs.shape[-1]
        candidates = (scores[:, :, None] + log_probs).reshape(n, k * vocab)
        top = _top_candidates(candidates, min(2 * k, k * vocab), block=vocab)  # (n, 2k), best first

        new_scores = np.full((n, k), -np.inf)
        new_tokens = np.zeros((n, k), np.int32)
        parents = np.zeros((n, k), np.int64)
        done = np.zeros((n,), bool)
        for a, b in enumerate(active):
            alive = 0
            for rank, index in enumerate(top[a]):
                beam, tok = divmod(int(index), vocab)
                score = candidates[a, index]
                if not np.isfinite(score):
                    break
                if end_id is not None and tok == end_id:
                    if rank < k:
                        hyp = history[a, beam].tolist()
                        finished[b].append((normalize(score, len(hyp) + 1), hyp))
                    continue
                new_scores[a, alive], new_tokens[a, alive], parents[a, alive] = score, tok, beam
                alive += 1
                if alive == k:
                    break
            if stop == "fairseq":
                done[a] = len(finished[b]) >= k
            elif finished[b]:
                best = max(h[0] for h in finished[b])
                reachable = normalize(new_scores[a, :alive], step + 2) if alive else np.array([-np.inf])
                done[a] = best >= reachable.max()
            done[a] |= alive == 0
        history = np.concatenate([np.take_along_axis(history, parents[:, :, None], axis=1), new_tokens[:, :, None]], 2)
        keep = np.flatnonzero(~done)
        active, scores, history = active[keep], new_scores[keep], history[keep]
        if step == max_steps - 1 or not keep.size:
            break
        rows = (keep[:, None] * k + parents[keep]).reshape(-1)
        memory_rows = (keep[:, None] * k + np.arange(k)).reshape(-1)
        state.select(rows, memory_rows)
        token = new_tokens[keep].reshape(-1)

    results = []
    remaining = {int(b): a for a, b in enumerate(active)}
    for b in range(batch):
        hyps = list(finished[b])
        if b in remaining:  # ran out of steps: live beams count as finished
            a = remaining[b]
            for beam in range(k):
                if np.isfinite(scores[a, beam]):
                    hyps.append((normalize(scores[a, beam], history.shape[2]), history[a, beam].tolist()))
        best = max(hyps, key=lambda h: h[0]) if hyps else (0.0, [])
        results.append(best[1])
    return results


def sample_search(model, source_ids, start_id, end_id, max_steps, temperature=1.0, top_k=0, seed=None, pad_id=0):
    """Ancestral sampling: each token drawn from softmax(logits / temperature).

    Args:
        model: a step model.
        source_ids: array (batch, ...) given to `model.encode`.
        start_id: int. First decoder token.
        end_id: int or None. Sentences stop at this token (not returned).
        max_steps: int. Most decode steps.
        temperature: float > 0. Below 1 sharpens, above 1 flattens.
        top_k: int. If > 0, sample only among the k most probable tokens.
        seed: int, None or a `numpy.random.Generator`. Same seed, same output.
        pad_id: int. The padding token (never generated).

    Returns:
        A list (batch) of lists of token ids, without start/end.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def draw(logits):
        log_probs = log_softmax(logits / temperature)  # (batch, vocab), float64
        if 0 < top_k < log_probs.shape[-1]:
            kth = np.partition(log_probs, -top_k, axis=-1)[:, -top_k][:, None]
            log_probs = np.where(log_probs >= kth, log_probs, -np.inf)
        probs = np.exp(log_probs - log_probs.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        cumulative = probs.cumsum(axis=-1)
        draws = rng.random((logits.shape[0], 1)) * cumulative[:, -1:]
        return np.minimum((cumulative < draws).sum(axis=-1), probs.shape[-1] - 1).astype(np.int32)

    return _collect(generate_tokens(model, source_ids, start_id, end_id, max_steps, draw, pad_id), source_ids.shape[0])
