"""Translation quality: sacreBLEU and exact match with the float32 Keras model.

Every decoder gets the same source ids (the run's WordPiece tokenizer,
truncated to the model's maximum like `zoo eval`), the same beam sizes and
the same length penalty; BLEU comes from `zoo.evaluation.bleu`.
"""

import time

from ondevice.translator import Translator
from zoo.evaluation import bleu


def _decode_all(decoder, id_lists, beam, batch_size):
    """Decode in length-sorted batches (as `Translator` does), order kept."""
    order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
    results = [None] * len(id_lists)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for i, ids in zip(chunk, decoder.translate_ids([id_lists[i] for i in chunk], beam_size=beam)):
            results[i] = ids
    return results


def score_decoder(decoder, detokenize, id_lists, references, beams, batch_size=32, reference_greedy=None):
    """BLEU per beam size (and greedy exact match against a reference).

    Args:
        decoder: object with `translate_ids(id_lists, beam_size)`.
        detokenize: callable, target ids -> text.
        id_lists: list of source id lists.
        references: list of reference translations.
        beams: beam sizes (1 = greedy).
        batch_size: int. Sentences decoded together.
        reference_greedy: list of id lists or None. The float32 Keras
            model's greedy output; when given, the fraction of sentences
            whose greedy ids equal it is reported.

    Returns:
        Dict: `beams` {beam: {bleu_cased, bleu_lowercased, seconds}},
        `greedy_ids`, and `exact_match` when `reference_greedy` is given.
    """
    out = {"beams": {}}
    for beam in beams:
        start = time.perf_counter()
        ids = _decode_all(decoder, id_lists, beam, batch_size)
        seconds = time.perf_counter() - start
        out["beams"][str(beam)] = {**bleu([detokenize(i) for i in ids], references), "seconds": round(seconds, 1)}
        if beam == 1:
            out["greedy_ids"] = ids
            if reference_greedy is not None:
                same = sum(a == b for a, b in zip(ids, reference_greedy))
                out["exact_match"] = same / len(ids)
    return out


def source_ids(translator, sentences):
    """Source ids as `zoo eval` feeds them (truncated to the model's maximum)."""
    assert isinstance(translator, Translator)
    return [translator.encode_text(s, truncate=True) for s in sentences]
