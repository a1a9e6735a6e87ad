"""Greedy, beam and sampling search over any encoder-decoder with explicit state.

A *step model* has `encode(source_ids) -> dict of arrays`,
`decode_step(token, step, tensors) -> dict` (with `"logits"` and the next
state) and `decoder_tensors`: objects with `name`, `role` (`"memory"` or
`"state"`) and `batch_axis`. `ondevice.litert_model.LiteRTStepModel` is one,
the Keras-backed model used for evaluation is another, so the algorithm is
the same on both sides and they can be compared token for token.

Everything here is numpy; no TensorFlow.
"""

import numpy as np


def log_softmax(logits):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _take(tensors, decoder_tensors, indices, roles=("state",)):
    """Gather `tensors` along each one's batch axis (beam reordering)."""
    out = dict(tensors)
    for t in decoder_tensors:
        if t.role in roles and t.name in out:
            out[t.name] = np.take(out[t.name], indices, axis=t.batch_axis)
    return out


def greedy_search(model, source_ids, start_id, end_id, max_steps, pad_id=0):
    """Decode the argmax token at each step until `end_id` or `max_steps`.

    Args:
        model: a step model (see module docstring).
        source_ids: int32 array (batch, src), `pad_id`-padded.
        start_id: int. First decoder token.
        end_id: int or None. Sentences stop at this token (not returned).
        max_steps: int. Most decode steps (tokens generated).
        pad_id: int. Fed for sentences that already finished.

    Returns:
        A list (batch) of lists of generated token ids, without start/end.
    """
    return _decode_token_by_token(model, source_ids, start_id, end_id, max_steps, pad_id, _argmax)


def _argmax(logits):
    return np.argmax(logits, axis=-1).astype(np.int32)


def _decode_token_by_token(model, source_ids, start_id, end_id, max_steps, pad_id, choose):
    """The loop shared by greedy and sampling search: one token per sentence
    per step, `choose(logits) -> int32 tokens (batch,)`."""
    batch = source_ids.shape[0]
    tensors = model.encode(source_ids)
    token = np.full((batch,), start_id, np.int32)
    done = np.zeros((batch,), bool)
    outputs = [[] for _ in range(batch)]
    for step in range(max_steps):
        result = model.decode_step(token, step, tensors)
        token = choose(result.pop("logits"))
        tensors.update(result)
        for b in np.flatnonzero(~done):
            if end_id is not None and token[b] == end_id:
                done[b] = True
            else:
                outputs[b].append(int(token[b]))
        if done.all():
            break
        token = np.where(done, pad_id, token).astype(np.int32)
    return outputs


def _top_candidates(candidates, n):
    """Indices of the `n` best entries of each row, best first; exact ties go
    to the lower index, so every runtime (the Kotlin core too) picks the same
    hypotheses. A partition plus a sort of the few survivors, not a full sort
    of beam x vocabulary on every step."""
    kth = np.partition(candidates, -n, axis=1)[:, -n]  # (batch,) the n-th best score
    top = np.empty((candidates.shape[0], n), np.int64)
    for b, row in enumerate(candidates):
        index = np.flatnonzero(row >= kth[b])
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
):
    """Beam search with length normalization (fairseq-style finishing).

    Each sentence keeps `beam_size` live hypotheses. Candidates are the top
    `2 * beam_size` extensions of all live beams; one ending in `end_id`
    (among the top `beam_size`) becomes a finished hypothesis, the rest
    refill the live beams. A sentence is done once it has `beam_size`
    finished hypotheses; at `max_steps` the live ones count as finished.
    The winner maximizes `sum log p / length ** length_penalty` (length
    counts the end token). State tensors are reordered along the batch axis
    the step model names; memory tensors are only tiled once.

    Args:
        model: a step model.
        source_ids: int32 array (batch, src).
        start_id: int. First decoder token.
        end_id: int or None. End-of-sentence token.
        max_steps: int. Most decode steps.
        beam_size: int. Hypotheses per sentence.
        length_penalty: float. Exponent of the length normalization
            (0 = raw log-probability).

    Returns:
        A list (batch) of the best hypotheses' token ids (no start/end).
    """
    batch, k = source_ids.shape[0], beam_size
    tensors = model.encode(source_ids)
    tile = np.repeat(np.arange(batch), k)  # sentence-major: row = b * k + beam
    tensors = _take(tensors, model.decoder_tensors, tile, roles=("state", "memory"))
    scores = np.full((batch, k), -np.inf)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    history = np.zeros((batch, k, 0), np.int32)
    token = np.full((batch * k,), start_id, np.int32)
    finished = [[] for _ in range(batch)]  # (normalized score, tokens)
    done = np.zeros((batch,), bool)

    def normalize(score, length):
        return score / (length**length_penalty) if length_penalty else score

    for step in range(max_steps):
        result = model.decode_step(token, step, tensors)
        log_probs = log_softmax(result.pop("logits")).reshape(batch, k, -1)
        tensors.update(result)
        vocab = log_probs.shape[-1]
        candidates = (scores[:, :, None] + log_probs).reshape(batch, k * vocab)
        n_top = min(2 * k, k * vocab)
        top = _top_candidates(candidates, n_top)  # (batch, 2k), best first

        new_scores = np.full((batch, k), -np.inf)
        new_tokens = np.zeros((batch, k), np.int32)
        parents = np.zeros((batch, k), np.int64)
        for b in range(batch):
            if done[b]:
                continue
            alive = 0
            for rank, index in enumerate(top[b]):
                beam, tok = divmod(int(index), vocab)
                score = candidates[b, index]
                if not np.isfinite(score):
                    break
                if end_id is not None and tok == end_id:
                    if rank < k:
                        hyp = history[b, beam].tolist()
                        finished[b].append((normalize(score, len(hyp) + 1), hyp))
                    continue
                new_scores[b, alive], new_tokens[b, alive], parents[b, alive] = score, tok, beam
                alive += 1
                if alive == k:
                    break
            if len(finished[b]) >= k:
                done[b] = True
        if done.all():
            break
        rows = (np.arange(batch)[:, None] * k + parents).reshape(-1)
        tensors = _take(tensors, model.decoder_tensors, rows)
        history = np.concatenate([np.take_along_axis(history, parents[:, :, None], axis=1), new_tokens[:, :, None]], 2)
        scores = np.where(done[:, None], -np.inf, new_scores)
        token = new_tokens.reshape(-1)

    results = []
    for b in range(batch):
        hyps = list(finished[b])
        if not done[b]:  # ran out of steps: live beams count as finished
            for beam in range(k):
                if np.isfinite(scores[b, beam]):
                    hyps.append((normalize(scores[b, beam], history.shape[2]), history[b, beam].tolist()))
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
        pad_id: int. Fed for sentences that already finished.

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

    return _decode_token_by_token(model, source_ids, start_id, end_id, max_steps, pad_id, draw)
