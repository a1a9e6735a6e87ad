"""`zoo eval`: sacreBLEU of a run (Keras) or an artifact (LiteRT).

Both are decoded by `ondevice.translator.Translator` with the same search
code, so the figures of a run and of its converted artifacts compare
directly. BLEU is reported cased and lowercased (papers on Multi30k report
lowercased) with sacreBLEU's default 13a tokenization.
"""

import os
import time

import sacrebleu

from ondevice.manifest import MANIFEST_FILE
from ondevice.translator import Translator
from zoo.datasets.parallel_text import load_corpus


def keras_translator(model, run_dir, batch_size=32):
    """A `Translator` decoding with a run's Keras `model` (already loaded) and its tokenizers."""
    from zoo.keras_step_model import KerasStepModel
    from zoo.text_tokenizer import SPECIAL_TOKENS
    from zoo.training import run_tokenizers

    source_tokenizer, target_tokenizer = run_tokenizers(run_dir)
    return Translator(
        KerasStepModel(model),
        source_tokenizer,
        target_tokenizer,
        SPECIAL_TOKENS,
        model.max_source_length,
        model.max_target_length,
        batch_size=batch_size,
    )


def load_translator(path, batch_size=32):
    """A `Translator` for a run directory (Keras) or an artifact directory."""
    if os.path.exists(os.path.join(path, MANIFEST_FILE)):
        return Translator.from_artifact(path, batch_size=batch_size), None
    from zoo.training import load_run

    model, run_info, _, _ = load_run(path)
    return keras_translator(model, path, batch_size), run_info


def bleu(hypotheses, references):
    """Cased and lowercased corpus sacreBLEU scores."""
    return {
        "bleu_cased": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 2),
        "bleu_lowercased": round(sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True).score, 2),
    }


def evaluate(path, data=None, split="test", beams=(1, 5), max_sentences=None, length_penalty=1.0, beam_stop="early"):
    """BLEU of greedy and beam search on a data split.

    Args:
        path: str. Run directory or artifact directory.
        data: str or None. Data spec; default: the run's own data (for an
            artifact: the bundled default data).
        split: str. `test` or `val`.
        beams: tuple of beam sizes (1 = greedy).
        max_sentences: int or None. Only the first N pairs.
        length_penalty: float. Beam-search length normalization exponent.
        beam_stop: str. Beam-search stop rule, `early` or `fairseq`
            (see `ondevice.search.beam_search`).

    Returns:
        A list of dicts, one per beam size: beam, BLEU cased/lowercased,
        sentences, seconds, and a few example translations.
    """
    translator, run_info = load_translator(path)
    corpus = load_corpus(data or (run_info or {}).get("data"))
    pairs = corpus.split(split)[: max_sentences or None]
    if not pairs:
        raise ValueError(f"the {split} split of {corpus.name} is empty")
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    results = []
    for beam in beams:
        start = time.time()
        hypotheses = translator.translate(
            sources, beam_size=beam, length_penalty=length_penalty, truncate=True, beam_stop=beam_stop
        )
        results.append(
            {
                "beam": beam,
                **bleu(hypotheses, references),
                "sentences": len(pairs),
                "seconds": round(time.time() - start, 1),
                "examples": list(zip(sources[:3], hypotheses[:3], references[:3])),
            }
        )
    return results
