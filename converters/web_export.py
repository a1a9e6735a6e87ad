"""A static-shape copy of a translation artifact's model, for LiteRT.js.

LiteRT.js (`@litertjs/core` 2.5) cannot resize a signature's inputs: a `-1`
dimension is planned as 1 and any other shape is refused
(`docs/notes/litertjs_spike.md`). `export_web` therefore writes
`model_web.tflite` next to `model.tflite`, holding the same weights (the
flatbuffer's buffers are shared, not copied) under signatures whose inputs
and outputs all have fixed shapes:

- `encode_b1`: one sentence, its source padded to `source_length` tokens
  (the padding is masked, so the logits do not change);
- `{variant}_b{B}` for every `decode_step` variant and every batch size `B`
  of `batch_sizes`: 1 for greedy decoding, the largest beam for beam search
  (rows past the live ones are decoded and ignored).

The copy is verified against `model.tflite` run by the Python runtime
before anything is written: on source id sequences of every length class,
teacher-forced on the original's greedy tokens, every row of every batch
size must give the original's logits within a tolerance (exact for float
and int8 in practice; `dynamic_int8` moves by its run-time activation
scales) and the same argmax except at near ties.
The manifest then gets a `web` entry (file, size, sha256, source length,
batch sizes, the measured difference), and both files are replaced
atomically.
"""

import copy
import dataclasses
import hashlib
import json
import os

import numpy as np

from ai_edge_litert.tools import flatbuffer_utils

from converters.recipes import get_recipe
from ondevice.decoder_state import time_index
from ondevice.errors import ArtifactError
from ondevice.litert_model import LiteRTStepModel, load_interpreter
from ondevice.manifest import load_manifest, sha256_file
from ondevice.tokenizers import load_tokenizers
from zoo import atomic

WEB_MODEL_FILE = "model_web.tflite"
_CONTROL_FLOW_ATTRS = ("condSubgraphIndex", "bodySubgraphIndex", "thenSubgraphIndex", "elseSubgraphIndex")


def web_signature(name, batch):
    """The static signature of `name` (`encode`, a `decode_step` variant) for `batch` rows."""
    return f"{name}_b{batch}"


@dataclasses.dataclass
class WebExportConfig:
    """What the web model holds.

    Args:
        batch_sizes: tuple of int. Decode batch sizes (1 = greedy; the
            largest is the widest beam the page offers).
        tolerance: float. Largest allowed |logit difference| against
            `model.tflite`, relative to the largest |logit| (at least 1).
        dynamic_tolerance: float. The same for recipes that quantize
            activations while running (`dynamic_int8`): their scales span
            the whole tensor, so the padded source moves them a little
            (measured: up to 0.7% of the largest logit).
        num_sources: int. Source id sequences decoded in the verification.
    """

    batch_sizes: tuple = (1, 4)
    tolerance: float = 1e-4
    dynamic_tolerance: float = 0.02
    num_sources: int = 8


def _key(signature):
    key = signature.signatureKey
    return key.decode() if isinstance(key, bytes) else key


def _tensor_name(tensor_map):
    name = tensor_map.name
    return name.decode() if isinstance(name, bytes) else name


def freeze_signatures(model_bytes, manifest, batch_sizes):
    """The `.tflite` bytes of the static-shape copy (not yet verified).

    Args:
        model_bytes: bytes of `model.tflite`.
        manifest: its `ondevice.manifest.Manifest`.
        batch_sizes: decode batch sizes.

    Returns:
        (bytes, source_length).
    """
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            if any(hasattr(op.builtinOptions, a) for a in _CONTROL_FLOW_ATTRS):
                raise ArtifactError("the model has control-flow subgraphs (WHILE/IF); the web export cannot freeze them")
    signatures = {_key(s): s for s in model.signatureDefs or []}
    source = manifest.tensors("encode", "inputs")[0]
    source_length = source.shape[1] if len(source.shape) > 1 and source.shape[1] > 0 else manifest.max_source_length
    wanted = [("encode", 1)] + [(name, b) for name in manifest.decode_signatures for b in batch_sizes]
    frozen = copy.copy(model)
    frozen.subgraphs, frozen.signatureDefs = [], []
    for name, batch in wanted:
        if name not in signatures:
            raise ArtifactError(f"model.tflite has no {name!r} signature")
        original = signatures[name]
        subgraph = copy.deepcopy(model.subgraphs[original.subgraphIndex])
        batch_axes = {t.name: t.batch_axis for t in manifest.tensors(name, "inputs")}
        for tensor_map in original.inputs:
            tensor = subgraph.tensors[tensor_map.tensorIndex]
            signature = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
            dims = [int(d) for d in signature] if signature is not None else []
            batch_axis = batch_axes.get(_tensor_name(tensor_map), 0)
            dims = [(batch if axis == batch_axis else source_length) if d < 0 else d for axis, d in enumerate(dims)]
            tensor.shape = np.array(dims, np.int32)
            tensor.shapeSignature = None
        signature_def = copy.deepcopy(original)
        signature_def.signatureKey = web_signature(name, batch)
        signature_def.subgraphIndex = len(frozen.subgraphs)
        frozen.subgraphs.append(subgraph)
        frozen.signatureDefs.append(signature_def)
    data = bytes(flatbuffer_utils.convert_object_to_bytearray(frozen))
    # The outputs: whatever shapes one run with the static inputs produces.
    interpreter = load_interpreter(model_content=data)
    for signature_def in frozen.signatureDefs:
        runner = interpreter.get_signature_runner(_key(signature_def))
        outputs = runner(**{n: np.zeros(d["shape"], d["dtype"]) for n, d in runner.get_input_details().items()})
        subgraph = frozen.subgraphs[signature_def.subgraphIndex]
        for tensor_map in signature_def.outputs:
            tensor = subgraph.tensors[tensor_map.tensorIndex]
            tensor.shape = np.array(outputs[_tensor_name(tensor_map)].shape, np.int32)
            tensor.shapeSignature = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(frozen)), int(source_length)


class StaticGreedy:
    """Greedy decoding through the static signatures with numpy-held inputs:
    the reference of what `web_demo/core/litert_model.js` does."""

    def __init__(self, model_bytes, manifest, source_length):
        self.interpreter = load_interpreter(model_content=model_bytes)
        self.manifest = manifest
        self.source_length = source_length
        self.runners = {}

    def _runner(self, name):
        if name not in self.runners:
            self.runners[name] = self.interpreter.get_signature_runner(name)
        return self.runners[name]

    def decode(self, source_ids, batch, steps, forced=None):
        """Greedy tokens and per-step logits (steps, batch, vocab) for one
        sentence copied into `batch` rows (`forced`: feed these tokens
        instead of the argmax, teacher forcing)."""
        manifest, special = self.manifest, self.manifest.special_tokens
        source = np.full((1, self.source_length), special["pad"], np.int32)
        source[0, : len(source_ids)] = source_ids
        encoded = self._runner(web_signature("encode", 1))(source_ids=source)
        variants = manifest.decode_signatures
        values, variant, capacity = {}, -1, 0
        token, tokens, logits_seen = special["start"], [], []
        for step in range(steps):
            if step >= capacity:  # bind the next variant, keep the filled prefix
                variant += 1
                name = web_signature(variants[variant], batch)
                details = self._runner(name).get_input_details()
                fresh = {}
                for t in manifest.tensors(variants[variant], "inputs"):
                    if t.role == "memory" or (t.role == "state" and t.time_axis is None):
                        previous = values.get(t.name, encoded[t.name])
                        fresh[t.name] = np.repeat(previous[:1], batch, axis=t.batch_axis) if previous.shape[0] != batch else previous
                    elif t.role == "state":
                        fresh[t.name] = np.zeros(details[t.name]["shape"], details[t.name]["dtype"])
                        if t.name in values:
                            prefix = time_index(t, slice(0, step), fresh[t.name].ndim)
                            fresh[t.name][prefix] = values[t.name][prefix]
                values = fresh
                appended = [t for t in manifest.tensors(variants[variant], "inputs") if t.role == "state" and t.time_axis is not None]
                capacity = fresh[appended[0].name].shape[appended[0].time_axis] if appended else steps
            inputs = manifest.tensors(variants[variant], "inputs")
            token_input = next(t for t in inputs if t.role == "token")
            step_input = next(t for t in inputs if t.role == "step")
            feeds = dict(values)
            feeds[token_input.name] = np.full((batch,), token, np.int32)
            feeds[step_input.name] = np.asarray(step, step_input.dtype)
            out = self._runner(web_signature(variants[variant], batch))(**feeds)
            for t in inputs:
                if t.role == "state" and t.time_axis is None:
                    values[t.name] = out[t.name]
                elif t.role == "state":
                    values[t.name][time_index(t, step, values[t.name].ndim)] = out[t.name]
            logits = out[next(t.name for t in manifest.tensors("decode_step", "outputs") if t.role == "logits")]
            logits_seen.append(np.array(logits))
            token = int(np.argmax(logits[0]))
            if forced is not None:
                if step + 1 >= len(forced):
                    break
                tokens.append(token)
                token = forced[step + 1]
                continue
            if token == special["end"]:
                break
            tokens.append(token)
        return tokens, np.stack(logits_seen)


def reference_greedy(model, source_ids, steps, end):
    """Greedy tokens and logits (steps, vocab) of `model.tflite` via the Python runtime."""
    state = model.start(np.asarray([source_ids], np.int32), steps)
    try:
        token, tokens, logits_seen = model.manifest.special_tokens["start"], [], []
        for _ in range(steps):
            logits = state.step(np.asarray([token], np.int32))
            logits_seen.append(np.array(logits[0]))
            token = int(np.argmax(logits[0]))
            if token == end:
                break
            tokens.append(token)
        return tokens, np.stack(logits_seen)
    finally:
        state.close()


def verification_sources(manifest, count, seed=0):
    """Source id sequences for the check: random non-special ids of lengths
    from 1 to the longest source the model accepts (both ends included)."""
    special = set(manifest.special_tokens.values())
    source_tokenizer, _ = load_tokenizers(manifest.data["tokenizer"], manifest.directory, manifest.special_tokens)
    vocabulary = source_tokenizer.vocabulary_size
    pool = np.array([i for i in range(vocabulary) if i not in special])
    rng = np.random.default_rng(seed)
    longest = manifest.max_source_length
    lengths = [1, longest] + list(rng.integers(1, longest + 1, max(count - 2, 0)))
    end = manifest.special_tokens["end"]
    return [[int(i) for i in rng.choice(pool, n - 1)] + [end] if n > 1 else [end] for n in lengths[:count]]


def web_model_current(artifact_dir, batch_sizes):
    """Whether the artifact has a web model for `batch_sizes` matching its manifest entry."""
    manifest = load_manifest(artifact_dir)
    entry = manifest.data.get("web")
    if not isinstance(entry, dict) or sorted(set(batch_sizes)) != entry.get("batch_sizes"):
        return False
    path = os.path.join(artifact_dir, WEB_MODEL_FILE)
    if entry.get("model_file") != WEB_MODEL_FILE or not os.path.isfile(path):
        return False
    return sha256_file(path) == entry.get("model_sha256")


def export_web(artifact_dir, config=None, sources=None):
    """Write `model_web.tflite` and the manifest's `web` entry into an artifact.

    Args:
        artifact_dir: str. A converted translation artifact.
        config: `WebExportConfig` or None.
        sources: list of id lists or None. Verification inputs (default:
            `verification_sources`); `zoo convert` passes real sentences.

    Returns:
        The `web` entry written to the manifest (dict).
    """
    config = config or WebExportConfig()
    manifest = load_manifest(artifact_dir)
    if manifest.task != "translation":
        raise ArtifactError(f"{artifact_dir}: a {manifest.task} model; the web demo translates (a translation model)")
    batch_sizes = tuple(sorted(set(int(b) for b in config.batch_sizes)))
    if not batch_sizes or batch_sizes[0] < 1 or batch_sizes[-1] > 16:
        raise ValueError(f"web batch sizes must be 1..16, got {list(config.batch_sizes)}")
    with open(manifest.path("model_file"), "rb") as f:
        data, source_length = freeze_signatures(f.read(), manifest, batch_sizes)
    sources = sources if sources is not None else verification_sources(manifest, config.num_sources)
    reference = LiteRTStepModel(manifest, num_threads=1)
    static = StaticGreedy(data, manifest, source_length)
    recipe = manifest.data.get("quantization", {}).get("recipe")
    tolerance = config.dynamic_tolerance if get_recipe(recipe).dynamic_activations else config.tolerance
    special, steps = manifest.special_tokens, manifest.max_target_length
    worst, agree, total = 0.0, 0, 0
    for ids in sources:
        ids = list(ids)[:source_length]
        expected, expected_logits = reference_greedy(reference, ids, steps, special["end"])
        scale = max(1.0, float(np.abs(expected_logits).max()))
        for batch in batch_sizes:
            # teacher-forced on the reference's tokens: one near tie cannot derail the rest
            _, logits = static.decode(ids, batch, steps, forced=[special["start"], *expected])
            difference = float(np.abs(logits - expected_logits[:, None, :]).max())
            worst = max(worst, difference / scale)
            chosen = logits.argmax(-1)  # (steps, batch)
            best = expected_logits.max(-1, keepdims=True)
            # another argmax only at a near tie of the reference (within the measured difference)
            ties = np.take_along_axis(expected_logits, chosen, axis=1) >= best - 2 * difference
            agree += int((chosen == expected_logits.argmax(-1)[:, None]).sum())
            total += chosen.size
            if difference > tolerance * scale or not ties.all():
                raise ArtifactError(
                    f"{artifact_dir}: the static-shape web model disagrees with model.tflite "
                    f"(batch {batch}, source {ids[:8]}...: max |logit difference| {difference:.3g}, "
                    f"allowed {tolerance * scale:.3g}); nothing was written"
                )
    entry = {
        "model_file": WEB_MODEL_FILE,
        "model_bytes": len(data),
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "source_length": source_length,
        "batch_sizes": list(batch_sizes),
        "parity": {"sources": len(sources), "max_relative_logit_diff": worst, "argmax_agreement": agree / total},
    }
    with atomic.staged_file(os.path.join(artifact_dir, WEB_MODEL_FILE)) as staged:
        with open(staged, "wb") as f:
            f.write(data)
    with open(os.path.join(artifact_dir, "manifest.json"), encoding="utf-8") as f:
        manifest_data = json.load(f)
    manifest_data["web"] = entry
    atomic.write_json(os.path.join(artifact_dir, "manifest.json"), manifest_data)
    return entry
