"""Parity of a converted model against its Keras original, on real sentences.

Both sides run the same numpy search code (`ondevice.search`); the LiteRT
side runs the device runtime itself (runtime-owned caches, every
`decode_step` variant in turn). Along the Keras greedy path the LiteRT step
is fed the Keras tokens (teacher forcing), so logits are compared position
by position; then LiteRT decodes on its own and whole outputs are compared.
"""

import numpy as np

from ondevice.decoder_state import start_decoding
from ondevice.search import greedy_search, never_generated, suppress


def measure_parity(keras_model, litert_model, source_batches, start_id, end_id, max_steps, pad_id=0):
    """Compare Keras and LiteRT step models.

    Args:
        keras_model: reference step model (`zoo.keras_step_model.KerasStepModel`).
        litert_model: converted step model (`ondevice.litert_model.LiteRTStepModel`).
        source_batches: list of int32 arrays (batch, src) of real sentences.
        start_id: int. Decoder start token.
        end_id: int. End token.
        max_steps: int. Most decode steps.
        pad_id: int. Padding token (never generated, like the start token).

    Returns:
        Dict: `sentences`, `steps`, `max_abs_logit_diff`,
        `mean_abs_logit_diff`, `token_agreement` (argmax agreement per step
        along the Keras path) and `sentence_agreement` (identical greedy
        outputs when each side decodes on its own).
    """
    never = never_generated(start_id, pad_id)
    diffs, means, agree, steps, same, sentences = [], [], 0, 0, 0, 0
    for source in source_batches:
        batch = source.shape[0]
        keras_state = start_decoding(keras_model, source, max_steps)
        litert_state = start_decoding(litert_model, source, max_steps)
        try:
            token = np.full((batch,), start_id, np.int32)
            alive = np.ones((batch,), bool)
            keras_out = [[] for _ in range(batch)]  # the Keras greedy output, built on the way
            for _ in range(max_steps):
                k_logits, l_logits = keras_state.step(token), litert_state.step(token)
                delta = np.abs(k_logits[alive] - l_logits[alive])
                diffs.append(float(delta.max()))
                means.append(float(delta.mean()))
                k_next, l_next = suppress(k_logits, never).argmax(-1), suppress(l_logits, never).argmax(-1)
                agree += int((k_next == l_next)[alive].sum())
                steps += int(alive.sum())
                alive &= k_next != end_id
                for b in np.flatnonzero(alive):
                    keras_out[b].append(int(k_next[b]))
                if not alive.any():
                    break
                token = k_next.astype(np.int32)
        finally:
            keras_state.close()
            litert_state.close()
        litert_out = greedy_search(litert_model, source, start_id, end_id, max_steps, pad_id)
        same += sum(a == b for a, b in zip(keras_out, litert_out))
        sentences += batch
    return {
        "sentences": sentences,
        "steps": steps,
        "max_abs_logit_diff": max(diffs),
        "mean_abs_logit_diff": float(np.mean(means)),
        "token_agreement": agree / max(steps, 1),
        "sentence_agreement": same / max(sentences, 1),
    }


def check(recipe, parity):
    """Problems with `parity` under `recipe`'s thresholds (empty = pass)."""
    problems = []
    if parity["token_agreement"] < recipe.min_token_agreement:
        problems.append(
            f"token agreement {parity['token_agreement']:.4f} < {recipe.min_token_agreement} required for {recipe.name}"
        )
    if recipe.max_logit_diff is not None and parity["max_abs_logit_diff"] > recipe.max_logit_diff:
        problems.append(
            f"max logit difference {parity['max_abs_logit_diff']:.2e} > {recipe.max_logit_diff:.0e} allowed for {recipe.name}"
        )
    if recipe.name == "float32" and parity["sentence_agreement"] < 1.0:
        problems.append(f"float32 greedy outputs differ from Keras on {1 - parity['sentence_agreement']:.1%} of sentences")
    return problems
