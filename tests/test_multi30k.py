"""On a model trained on Multi30k: the float32 file decodes exactly like Keras.

Trains a tiny model on part of Multi30k En->De (a minute on 2 cores), converts
it to float32 and compares greedy outputs of `zoo translate`'s code path and
the Keras model on ALL 1014 validation sentences.
"""

import pytest

from tests.conftest import SHARED_DATA

MULTI30K = SHARED_DATA / "multi30k"
pytestmark = pytest.mark.skipif(not MULTI30K.is_dir(), reason=f"Multi30k not found at {MULTI30K}")


def test_float32_greedy_equals_keras_on_all_multi30k_val(tmp_path):
    from converters.convert import convert
    from ondevice.translator import Translator
    from zoo.datasets.parallel_text import load_corpus
    from zoo.evaluation import load_translator
    from zoo.training import train

    spec = f"{MULTI30K}:en-de"
    run_dir, artifact = str(tmp_path / "run"), str(tmp_path / "artifact")
    train(
        "transformer", run_dir, preset="tiny", data=spec, epochs=2, max_train_pairs=6000, verbose=0,
        overrides={"max_source_length": 48, "max_target_length": 48},
    )
    convert(run_dir, artifact, recipe="float32", num_verify=32, verbose=False)
    val = load_corpus(spec).val
    assert len(val) == 1014
    sources = [s for s, _ in val]
    keras_translator, _ = load_translator(run_dir, batch_size=64)
    litert_translator = Translator.from_artifact(artifact, batch_size=64)
    keras_ids = keras_translator.translate_ids([keras_translator.encode_text(s, True) for s in sources])
    litert_ids = litert_translator.translate_ids([litert_translator.encode_text(s, True) for s in sources])
    mismatches = [i for i, (a, b) in enumerate(zip(keras_ids, litert_ids)) if a != b]
    assert not mismatches, f"{len(mismatches)} of 1014 differ, e.g. sentence {mismatches[:5]}"
    assert sum(map(len, litert_ids)) > 1014  # real outputs, not all empty
