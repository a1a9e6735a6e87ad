"""`zoo convert`: run directory -> verified `model.tflite` + `manifest.json`.

Pipeline (docs/architecture.md, "Conversion"; what it writes: "The
manifest"), the same for every model: the model's
signatures (`zoo.step_model.model_signatures`: `encode` + `decode_step` for
seq2seq, or what the model declares) -> `keras.export.ExportArchive` with one
endpoint per signature -> `TFLiteConverter.from_saved_model(dir,
signature_keys=[...])` with the recipe's settings (int8 recipes calibrate
each signature on real data) -> parity against Keras on real validation
data -> only then the artifact directory is written, atomically. What
depends on the model's *task* (translation, text_vae, image_vae):
calibration data, manifest fields, parity and its thresholds, lives in
`converters.tasks`.
"""

import dataclasses
import hashlib
import os
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from converters.export import export_saved_model
from converters.recipes import get_recipe
from converters.stage_progress import StageProgress
from converters.tasks import get_task
from converters.tflite_inspect import XnnpackReportError, op_counts, xnnpack_partitions
from ondevice.errors import ZooError
from ondevice.litert_model import load_interpreter
from ondevice.manifest import FORMAT_VERSION, MANIFEST_FILE, Manifest, validate
from zoo import atomic
from zoo.families import get_family
from zoo.step_model import model_signatures, model_task
from zoo.training import load_run


class ConversionError(ZooError):
    """The converted model failed verification; nothing was written."""


def _tensor_entries(details, specs):
    """Manifest entries of a signature side: the converter's dtype/shape,
    the model's declared role and batch axis."""
    entries = []
    for name, d in details.items():
        spec = specs.get(name)
        entry = {
            "name": name,
            "dtype": np.dtype(d["dtype"]).name,
            "shape": [int(x) for x in d["shape_signature"]],
            "role": spec.role if spec else "state",
        }
        if spec is not None and spec.batch_axis is not None:
            entry["batch_axis"] = spec.batch_axis
        if entry["role"] == "state":
            entry["update"] = "append" if spec is not None and spec.time_axis is not None else "replace"
        if spec is not None and spec.time_axis is not None:
            entry["time_axis"] = spec.time_axis
        entries.append(entry)
    return sorted(entries, key=lambda e: e["name"])


def build_manifest(model, run_info, model_bytes, recipe, interpreter, signatures, task):
    """The manifest dict of a converted model (parity added later)."""
    entries = {}
    for signature in signatures:
        runner = interpreter.get_signature_runner(signature.name)
        entries[signature.name] = {
            "inputs": _tensor_entries(runner.get_input_details(), {t.name: t for t in signature.inputs}),
            "outputs": _tensor_entries(runner.get_output_details(), {t.name: t for t in signature.outputs}),
        }
    counts = op_counts(model_bytes)
    try:
        xnnpack = xnnpack_partitions(model_bytes)
    except XnnpackReportError as e:  # a diagnostic: it never fails a conversion
        warnings.warn(f"no XNNPACK partition report: {e}")
        xnnpack = None
    decode_signatures = [s.name for s in signatures if s.method == "decode_step"]
    manifest = {
        "format_version": FORMAT_VERSION,
        "family": run_info["family"],
        "task": task.name,
        "model_file": "model.tflite",
        "model_bytes": len(model_bytes),
        "signatures": entries,
        **task.manifest_fields(),
        "quantization": {"recipe": recipe.name},
        "ops": {key: dict(sorted(c.items())) for key, c in counts.items()},
        "xnnpack": xnnpack,
        "model_config": dataclasses.asdict(get_family(run_info["family"]).config_from_dict(run_info["config"])),
    }
    if decode_signatures:
        manifest["decode_signatures"] = decode_signatures
    return manifest


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
        data: str or None. Data spec for calibration/verification (default:
            the run's own training data).
        num_calibration: int. Training examples used to calibrate int8.
        num_verify: int. Validation examples used for parity.
        batch_size: int. Examples per verification batch.
        verbose: bool. Show progress and a summary.

    Returns:
        The manifest dict written.
    """
    recipe = get_recipe(recipe)
    stages = StageProgress(5, "convert", enabled=verbose)
    stages.set_description(f"convert [{recipe.name}] load run")
    model, run_info, _, _ = load_run(run_dir)
    task = get_task(run_info.get("task") or model_task(model))(
        model, run_dir, run_info, data, num_calibration, num_verify, batch_size
    )
    signatures = model_signatures(model)
    names = [s.name for s in signatures]
    stages.update()

    with tempfile.TemporaryDirectory(prefix="zoo-convert-") as tmp:
        stages.set_description(f"convert [{recipe.name}] export SavedModel")
        saved_model = os.path.join(tmp, "saved_model")
        export_saved_model(model, saved_model, signatures)
        stages.update()

        stages.set_description(f"convert [{recipe.name}] TFLite conversion")
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=names)
        calibration = task.representative_dataset() if recipe.needs_calibration else None
        try:
            model_bytes = recipe.convert(converter, calibration)
        except Exception as e:  # the converter raises bare RuntimeErrors with C++ messages
            message = " ".join(str(e).split())[:300] or type(e).__name__
            raise ConversionError(f"{recipe.name}: the TFLite converter failed: {message}") from None
        stages.update()

    stages.set_description(f"convert [{recipe.name}] verify parity")
    interpreter = load_interpreter(model_content=model_bytes)
    manifest = build_manifest(model, run_info, model_bytes, recipe, interpreter, signatures, task)
    problems = []
    if set(manifest["signatures"]) != set(names) or set(manifest["ops"]) != set(names):
        problems.append(f"signatures are {sorted(manifest['ops'])}, expected {sorted(names)}")
    for name in manifest.get("decode_signatures", []):
        if "WHILE" in manifest["ops"].get(name, {}):
            problems.append(f"{name} contains a WHILE loop; a step must be loop-free")
    validate(manifest)
    try:
        parity = task.parity(Manifest(manifest, out_dir), model_bytes)
    except (RuntimeError, ValueError) as e:  # the interpreter refused to run the converted file
        stages.close()
        message = " ".join(str(e).split())[:300] or type(e).__name__
        raise ConversionError(f"{recipe.name}: the converted model does not run in LiteRT: {message}") from None
    problems += task.check(recipe, parity)
    manifest["parity"] = parity
    stages.update()
    if problems:
        stages.close()
        raise ConversionError(f"{recipe.name} conversion failed verification: " + "; ".join(problems))

    stages.set_description(f"convert [{recipe.name}] write {out_dir}")
    manifest["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    with atomic.staged_directory(out_dir) as tmp_dir:
        with open(os.path.join(tmp_dir, "model.tflite"), "wb") as f:
            f.write(model_bytes)
        for name, content in task.files().items():  # bytes, or a vocabulary: a list of tokens
            if not isinstance(content, bytes):
                content = "".join(t + "\n" for t in content).encode("utf-8")
            with open(os.path.join(tmp_dir, name), "wb") as f:
                f.write(content)
        atomic.write_json(os.path.join(tmp_dir, MANIFEST_FILE), manifest)
    stages.update()
    stages.close()
    if verbose:
        print(summary(manifest, task))
    return manifest


def summary(manifest, task):
    """A few human-readable lines: size, parity, ops and XNNPACK partitions per signature."""
    lines = [f"{manifest['quantization']['recipe']}: {manifest['model_bytes'] / 1e6:.2f} MB, {task.summary(manifest['parity'])}"]
    for key, ops in manifest["ops"].items():
        total = sum(ops.values())
        top = ", ".join(f"{name} {count}" for name, count in sorted(ops.items(), key=lambda kv: -kv[1])[:8])
        lines.append(f"  {key}: {total} ops ({top}{', ...' if len(ops) > 8 else ''})")
    for key, report in (manifest.get("xnnpack") or {}).items():
        builtin = report["builtin_ops"]
        top = ", ".join(f"{name} {count}" for name, count in sorted(builtin.items(), key=lambda kv: -kv[1])[:8])
        rest = f"; {sum(builtin.values())} builtin: {top}{', ...' if len(builtin) > 8 else ''}" if builtin else ""
        plural = "" if report["partitions"] == 1 else "s"
        lines.append(
            f"  {key}: {report['ops']} ops, {report['partitions']} XNNPACK partition{plural} "
            f"({report['delegated_ops']} delegated{rest})"
        )
    return "\n".join(lines)
