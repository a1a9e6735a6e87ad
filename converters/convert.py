"""`zoo convert`: run directory -> verified `model.tflite` + `manifest.json`.

Pipeline (pitfalls in DESIGN.md): `keras.export.ExportArchive` with one
endpoint per signature -> `TFLiteConverter.from_saved_model(dir,
signature_keys=["encode", "decode_step"])` with the recipe's settings (int8
recipes calibrate each signature on real training sentences) -> parity
against Keras on real validation sentences -> only then the artifact
directory is written, atomically.
"""

import hashlib
import os
import random
import tempfile

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from converters.export import export_saved_model
from converters.recipes import get_recipe
from converters.tflite_inspect import op_counts
from converters.verify import check, measure_parity
from ondevice.errors import ZooError
from ondevice.litert_model import LiteRTStepModel, load_interpreter
from ondevice.manifest import FORMAT_VERSION, MANIFEST_FILE, Manifest, validate
from ondevice.tokenizer import WordPieceTokenizer
from ondevice.translator import pad_batch
from zoo import atomic
from zoo.datasets.parallel_text import load_corpus
from zoo.keras_step_model import KerasStepModel
from zoo.text_tokenizer import END_ID, PAD_ID, START_ID, UNK_ID
from zoo.training import SOURCE_VOCAB, TARGET_VOCAB, load_run

SIGNATURES = ("encode", "decode_step")


class ConversionError(ZooError):
    """The converted model failed verification; nothing was written."""


def _source_batches(sentences, tokenizer, max_length, batch_size, fixed_length=False):
    """Padded int32 source batches of real sentences that fit the model.

    `fixed_length` pads every batch to `max_length` (the calibrator sizes
    each signature's tensors once, from its first sample) and adds a few
    samples packed from consecutive sentences up to `max_length` tokens, so
    that every source position is calibrated: an encoder unrolled over a
    fixed length (LSTM) otherwise sees only padding at its last positions
    and gets useless zero-width int8 ranges there.
    """
    ids = [tokenizer.tokenize(s) for s in sentences]
    ids = [i for i in ids if 0 < len(i) <= max_length]
    if fixed_length:
        packed, current = [], []
        for sentence in ids:
            if len(current) + len(sentence) > max_length:
                packed.append(current)
                current = []
            current = current + sentence
        ids = ids + packed[: max(1, len(ids) // 8)]
        ids = [i + [PAD_ID] * (max_length - len(i)) for i in ids]
    return [pad_batch(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]


def representative_dataset(keras_model, source_batches, max_steps):
    """Real `(signature_key, inputs)` samples for full-integer calibration.

    `encode` sees real source sentences; `decode_step` sees the states it
    meets on the Keras greedy path of those sentences.
    """
    names = [t.name for t in keras_model.decoder_tensors]

    def generator():
        for source in source_batches:
            yield "encode", {"source_ids": source}
            tensors = keras_model.encode(source)
            token = np.full((source.shape[0],), START_ID, np.int32)
            for step in range(max_steps):
                yield "decode_step", {"token": token, "step": np.array(step, np.int32), **{n: tensors[n] for n in names}}
                out = keras_model.decode_step(token, step, tensors)
                token = out.pop("logits").argmax(-1).astype(np.int32)
                tensors.update(out)
                if (token == END_ID).all():
                    break

    return generator


def _tensor_entries(details, roles, specs):
    entries = []
    for name, d in details.items():
        spec = specs.get(name)
        entry = {
            "name": name,
            "dtype": np.dtype(d["dtype"]).name,
            "shape": [int(x) for x in d["shape_signature"]],
            "role": roles.get(name) or (spec.role if spec else "state"),
        }
        if spec is not None:
            entry["batch_axis"] = spec.batch_axis
        elif entry["role"] in ("token", "source_tokens", "logits"):
            entry["batch_axis"] = 0
        entries.append(entry)
    return sorted(entries, key=lambda e: e["name"])


def build_manifest(model, run_info, model_bytes, recipe, interpreter):
    """The manifest dict of a converted model (parity added later)."""
    specs = {t.name: t for t in model.decoder_tensor_specs()}
    signatures = {}
    for key in SIGNATURES:
        runner = interpreter.get_signature_runner(key)
        in_roles = {"source_ids": "source_tokens"} if key == "encode" else {"token": "token", "step": "step"}
        out_roles = {"logits": "logits"}
        signatures[key] = {
            "inputs": _tensor_entries(runner.get_input_details(), in_roles, specs),
            "outputs": _tensor_entries(runner.get_output_details(), out_roles, specs),
        }
    counts = op_counts(model_bytes)
    return {
        "format_version": FORMAT_VERSION,
        "family": run_info["family"],
        "task": "translation",
        "model_file": "model.tflite",
        "model_bytes": len(model_bytes),
        "signatures": signatures,
        "special_tokens": {"pad": PAD_ID, "unk": UNK_ID, "start": START_ID, "end": END_ID},
        "max_source_length": int(model.max_source_length),
        "max_target_length": int(model.max_target_length),
        "languages": {"source": run_info.get("source_lang"), "target": run_info.get("target_lang")},
        "tokenizer": {
            "kind": "wordpiece",
            "source_vocabulary": SOURCE_VOCAB,
            "target_vocabulary": TARGET_VOCAB,
            "lowercase": False,
            "strip_accents": False,
            "split_on_cjk": True,
            "suffix_indicator": "##",
            "normalization": "NFC",
        },
        "quantization": {"recipe": recipe.name},
        "ops": {key: dict(sorted(c.items())) for key, c in counts.items()},
        "model_config": run_info.get("config", {}),
    }


def convert(
    run_dir,
    out_dir,
    recipe="float32",
    data=None,
    num_calibration=64,
    num_verify=64,
    batch_size=8,
    verbose=True,
):
    """Convert, verify and write one artifact directory.

    Args:
        run_dir: str. A `zoo train` run directory.
        out_dir: str. Artifact directory to (re)place; untouched on failure.
        recipe: str. A name from `converters.recipes.RECIPES`.
        data: str or None. Data spec for calibration/verification sentences
            (default: the run's own training data).
        num_calibration: int. Training sentences used to calibrate int8.
        num_verify: int. Validation sentences used for parity.
        batch_size: int. Sentences per calibration/verification batch.
        verbose: bool. Show progress and a summary.

    Returns:
        The manifest dict written.
    """
    recipe = get_recipe(recipe)
    stages = tqdm(total=5, desc="convert", disable=not verbose, bar_format="{desc}: {n}/{total} {bar} {elapsed}")
    stages.set_description(f"convert [{recipe.name}] load run")
    model, run_info, source_vocab, target_vocab = load_run(run_dir)
    corpus = load_corpus(data or run_info.get("data"))
    source_tokenizer = WordPieceTokenizer(source_vocab)
    calibration_pairs = random.Random(0).sample(corpus.train, min(num_calibration, len(corpus.train)))
    verify_pairs = (corpus.val or corpus.train)[:num_verify]
    max_steps = int(model.max_target_length)
    keras_model = KerasStepModel(model)
    stages.update()

    with tempfile.TemporaryDirectory(prefix="zoo-convert-") as tmp:
        stages.set_description(f"convert [{recipe.name}] export SavedModel")
        saved_model = os.path.join(tmp, "saved_model")
        export_saved_model(model, saved_model)
        stages.update()

        stages.set_description(f"convert [{recipe.name}] TFLite conversion")
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(SIGNATURES))
        calibration = None
        if recipe.needs_calibration:
            batches = _source_batches(
                [s for s, _ in calibration_pairs], source_tokenizer, model.max_source_length, 1, fixed_length=True
            )
            calibration = representative_dataset(keras_model, batches, max_steps)
        try:
            model_bytes = recipe.convert(converter, calibration)
        except Exception as e:  # the converter raises bare RuntimeErrors with C++ messages
            message = " ".join(str(e).split())[:300] or type(e).__name__
            raise ConversionError(f"{recipe.name}: the TFLite converter failed: {message}") from None
        stages.update()

    stages.set_description(f"convert [{recipe.name}] verify parity")
    interpreter = load_interpreter(model_content=model_bytes)
    manifest = build_manifest(model, run_info, model_bytes, recipe, interpreter)
    problems = []
    if set(manifest["signatures"]) != set(SIGNATURES):
        problems.append(f"signatures are {sorted(manifest['signatures'])}, expected {list(SIGNATURES)}")
    if "WHILE" in manifest["ops"].get("decode_step", {}):
        problems.append("decode_step contains a WHILE loop; a step must be loop-free")
    validate(manifest)
    litert_model = LiteRTStepModel(Manifest(manifest, out_dir), model_content=model_bytes)
    batches = _source_batches([s for s, _ in verify_pairs], source_tokenizer, model.max_source_length, batch_size)
    try:
        parity = measure_parity(keras_model, litert_model, batches, START_ID, END_ID, max_steps)
    except (RuntimeError, ValueError) as e:  # the interpreter refused to run the converted file
        stages.close()
        message = " ".join(str(e).split())[:300] or type(e).__name__
        raise ConversionError(f"{recipe.name}: the converted model does not run in LiteRT: {message}") from None
    parity["min_token_agreement"] = recipe.min_token_agreement
    manifest["parity"] = parity
    problems += check(recipe, parity)
    stages.update()
    if problems:
        stages.close()
        raise ConversionError(f"{recipe.name} conversion failed verification: " + "; ".join(problems))

    stages.set_description(f"convert [{recipe.name}] write {out_dir}")
    manifest["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    with atomic.staged_directory(out_dir) as tmp_dir:
        with open(os.path.join(tmp_dir, "model.tflite"), "wb") as f:
            f.write(model_bytes)
        for name, vocabulary in ((SOURCE_VOCAB, source_vocab), (TARGET_VOCAB, target_vocab)):
            with open(os.path.join(tmp_dir, name), "w", encoding="utf-8") as f:
                f.write("".join(t + "\n" for t in vocabulary))
        atomic.write_json(os.path.join(tmp_dir, MANIFEST_FILE), manifest)
    stages.update()
    stages.close()
    if verbose:
        print(summary(manifest))
    return manifest


def summary(manifest):
    """A few human-readable lines: size, parity, ops per signature."""
    parity = manifest["parity"]
    lines = [
        f"{manifest['quantization']['recipe']}: {manifest['model_bytes'] / 1e6:.2f} MB, "
        f"token agreement {parity['token_agreement']:.4f}, "
        f"greedy sentence agreement {parity['sentence_agreement']:.4f}, "
        f"max |logit diff| {parity['max_abs_logit_diff']:.2e} on {parity['sentences']} sentences",
    ]
    for key, ops in manifest["ops"].items():
        total = sum(ops.values())
        top = ", ".join(f"{name} {count}" for name, count in sorted(ops.items(), key=lambda kv: -kv[1])[:8])
        lines.append(f"  {key}: {total} ops ({top}{', ...' if len(ops) > 8 else ''})")
    return "\n".join(lines)
