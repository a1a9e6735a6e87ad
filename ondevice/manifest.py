"""`manifest.json`: the device contract of a converted model directory.

The runtime is driven by the manifest alone. Its main parts:

- `task`: `translation` (the default for manifests without one),
  `text_vae` or `image_vae`; it fixes the signatures (`TASKS`).
- `signatures`: for `encode` and `decode_step` (a text VAE adds
  `decode_init`; an image VAE has `encode` and `decode`), every input and output
  tensor with `name`, `dtype`, `shape` (-1 = dynamic), `role` and, where
  the tensor has one, `batch_axis`. Roles: `source_tokens` (encode input),
  `token` and `step` (decode_step inputs), `logits` (decode_step output),
  `memory` (made by encode, read by every step, never changes) and `state`
  (carried from step to step); VAEs
  add `latent_mean`, `latent_log_var` (encode outputs), `latent` (a point z)
  and `image`.
- A `state` input of `decode_step` says how the step's output of the same
  name updates it (format version 2): `update: "replace"` (the output is the
  next value, e.g. LSTM h/c) or `update: "append"` with a `time_axis` (a K/V
  cache: the output is this position's row, written at index `step` along
  that axis; the runtime owns the buffer and `encode` does not make it).
- `decode_signatures`: the `decode_step` variants, shortest cache first
  (e.g. `decode_step_16`, `decode_step_32`, `decode_step`); all have the
  same tensors, their append states differ only in length along the time
  axis. A runtime decodes step `t` with the first variant whose cache holds
  `t + 1` positions.
- `special_tokens` (`pad`, `unk`, `start`, `end` ids), `max_source_length`,
  `max_target_length`.
- `tokenizer`: kind and vocabulary file names.
- `quantization`, `model_file`, `model_sha256`, `parity`, `format_version`.
"""

import dataclasses
import hashlib
import json
import os

from ondevice.errors import ArtifactError
from ondevice.tokenizers import tokenizer_files

FORMAT_VERSION = 2
# Upper bounds on what a manifest may claim, checked before anything is
# allocated from it (the runtime sizes K/V caches from the manifest's shapes).
MAX_LENGTH = 4096  # max_source_length, max_target_length, cache lengths
MAX_VOCABULARY = 1 << 20  # logits width, special token ids (Marian: 58k, NLLB: 256k)
MAX_LATENT_DIM = 1 << 16
MAX_IMAGE_SIDE = 4096
MAX_CHANNELS = 4
MAX_RANK = 8
MAX_ROW_ELEMENTS = 1 << 24  # elements of one batch row of one tensor (64 MiB of float32)
MAX_MANIFEST_BYTES = 16 << 20
DTYPES = ("float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool")
MANIFEST_FILE = "manifest.json"
STEP_ROLES = {"inputs": {"token", "step", "memory", "state"}, "outputs": {"logits", "state"}}
LATENT_ROLES = {"latent_mean", "latent_log_var"}
TASKS = {
    # task: signatures with the roles their tensors may have, the signature
    # that makes decode_step's memory/state (if any) and required keys.
    "translation": {
        "signatures": {"encode": {"inputs": {"source_tokens"}, "outputs": {"memory", "state"}}, "decode_step": STEP_ROLES},
        "decoder_init": "encode",
        "keys": ("special_tokens", "tokenizer"),
    },
    "text_vae": {
        "signatures": {
            "encode": {"inputs": {"source_tokens"}, "outputs": LATENT_ROLES},
            "decode_init": {"inputs": {"latent"}, "outputs": {"memory", "state"}},
            "decode_step": STEP_ROLES,
        },
        "decoder_init": "decode_init",
        "keys": ("special_tokens", "tokenizer", "latent_dim"),
    },
    "image_vae": {
        "signatures": {
            "encode": {"inputs": {"image"}, "outputs": LATENT_ROLES},
            "decode": {"inputs": {"latent"}, "outputs": {"image"}},
        },
        "decoder_init": None,
        "keys": ("image", "latent_dim"),
    },
}
SIGNATURE_ROLES = TASKS["translation"]["signatures"]


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One signature tensor as the manifest describes it."""

    name: str
    dtype: str
    shape: tuple
    role: str
    batch_axis: int | None = None
    time_axis: int | None = None

    @property
    def update(self):
        """`append` (written at index `step` along `time_axis`) or `replace`."""
        return "append" if self.time_axis is not None else "replace"

    @classmethod
    def from_dict(cls, d):
        return cls(d["name"], d["dtype"], tuple(d["shape"]), d["role"], d.get("batch_axis"), d.get("time_axis"))

    def to_dict(self):
        d = {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), "role": self.role}
        if self.batch_axis is not None:
            d["batch_axis"] = self.batch_axis
        if self.role == "state":
            d["update"] = self.update
        if self.time_axis is not None:
            d["time_axis"] = self.time_axis
        return d


@dataclasses.dataclass
class Manifest:
    """A parsed, validated `manifest.json` (see module docstring)."""

    data: dict
    directory: str

    @property
    def family(self):
        return self.data["family"]

    @property
    def task(self):
        """`translation` (manifests without a task), `text_vae` or `image_vae`."""
        return self.data.get("task", "translation")

    @property
    def special_tokens(self):
        return self.data["special_tokens"]

    @property
    def max_source_length(self):
        return int(self.data["max_source_length"])

    @property
    def max_target_length(self):
        return int(self.data["max_target_length"])

    def tensors(self, signature, side):
        """`TensorInfo`s of `signature`'s `side` (`"inputs"`/`"outputs"`)."""
        return [TensorInfo.from_dict(t) for t in self.data["signatures"][signature][side]]

    def decoder_tensors(self):
        """The memory and state tensors passed from `encode` to `decode_step`."""
        return [t for t in self.tensors("decode_step", "inputs") if t.role in ("memory", "state")]

    @property
    def decode_signatures(self):
        """The `decode_step` variants, shortest cache first (`decode_step` last)."""
        return list(self.data.get("decode_signatures", ["decode_step"]))

    def path(self, key):
        """Absolute path of a file named in the manifest (`model_file`, a vocabulary, ...)."""
        name = self.data["tokenizer"][key] if key.endswith(("vocabulary", "_model")) else self.data[key]
        return os.path.join(self.directory, name)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate(data):
    """Check a manifest dict before anything is built from it; raise `ArtifactError` if broken.

    Every field the runtime reads must have the right type, each task's
    signatures the right roles, and every size the runtime allocates from
    (lengths, cache shapes, vocabulary, latent and image sizes) must be
    within the `MAX_*` bounds. Whether the model file agrees with the
    manifest is checked when it is loaded (`ondevice.litert_model`).
    """
    try:
        _validate(data)
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as e:
        raise ArtifactError(f"manifest.json is malformed ({type(e).__name__}: {_short(e)})") from None


def _short(value, limit=160):
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(value, low, high):
    return _is_int(value) and low <= value <= high


def _file_name(key, name):
    """`name` is a plain file name inside the artifact directory."""
    if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", "..") or "\0" in name:
        raise ArtifactError(f"manifest.json: {key} must be a file name in the model directory, not {_short(repr(name))}")
    return name


def _validate(data):
    if not isinstance(data, dict):
        raise ArtifactError("manifest.json: expected a JSON object")
    for key in ("format_version", "family", "signatures", "model_file"):
        if key not in data:
            raise ArtifactError(f"manifest.json has no {key!r}")
    if not _is_int(data["format_version"]):
        raise ArtifactError("manifest.json: format_version must be an integer")
    if data["format_version"] > FORMAT_VERSION:
        raise ArtifactError(
            f"manifest format {data['format_version']} is newer than this runtime ({FORMAT_VERSION}); upgrade it"
        )
    if data["format_version"] < FORMAT_VERSION:
        raise ArtifactError(
            f"manifest format {data['format_version']} is from an older converter (this runtime reads "
            f"{FORMAT_VERSION}: runtime-owned caches); reconvert the model with `zoo convert`"
        )
    if not isinstance(data["family"], str):
        raise ArtifactError("manifest.json: family must be a string")
    _file_name("model_file", data["model_file"])
    if data.get("model_sha256") is not None and not isinstance(data["model_sha256"], str):
        raise ArtifactError("manifest.json: model_sha256 must be a hex string")
    task = data.get("task", "translation")
    if not isinstance(task, str) or task not in TASKS:
        raise ArtifactError(f"manifest.json: unknown task {_short(repr(task))}; this runtime knows {', '.join(TASKS)}")
    spec = TASKS[task]
    for key in spec["keys"]:
        if key not in data:
            raise ArtifactError(f"manifest.json has no {key!r}")
    if not isinstance(data["signatures"], dict):
        raise ArtifactError("manifest.json: signatures must be an object (signature name -> inputs, outputs)")
    for name, signature in data["signatures"].items():
        _check_signature(name, signature)
    for signature, roles in spec["signatures"].items():
        if signature not in data["signatures"]:
            raise ArtifactError(f"manifest.json describes no {signature!r} signature")
        for side, allowed in roles.items():
            for tensor in data["signatures"][signature][side]:
                if tensor["role"] not in allowed:
                    raise ArtifactError(
                        f"manifest.json: {signature} {side[:-1]} {tensor['name']!r} has role "
                        f"{_short(repr(tensor['role']))}; expected one of {sorted(allowed)}"
                    )
    if task == "translation":
        tokenizer_files(data["tokenizer"])
    elif task == "text_vae":
        if not isinstance(data["tokenizer"], dict):
            raise ArtifactError("manifest.json: tokenizer must be an object")
        _file_name("tokenizer.vocabulary", data["tokenizer"].get("vocabulary"))
    if "special_tokens" in spec["keys"]:
        if not isinstance(data["special_tokens"], dict):
            raise ArtifactError("manifest.json: special_tokens must be an object")
        for key in ("pad", "unk", "start", "end"):
            if not _is_int(data["special_tokens"][key]):
                raise ArtifactError(f"manifest.json: special_tokens.{key} must be an integer")
            if not 0 <= data["special_tokens"][key] < MAX_VOCABULARY:
                raise ArtifactError(f"manifest.json: special_tokens.{key} must be from 0 to {MAX_VOCABULARY - 1}")
    if "latent_dim" in spec["keys"]:
        _validate_latent(data, task)
    if task == "image_vae":
        _validate_image(data)
    if "decode_step" not in spec["signatures"]:
        return
    for key in ("max_target_length", "max_source_length"):
        if not _int_in(data.get(key), 1, MAX_LENGTH):
            raise ArtifactError(f"manifest.json: {key} must be an integer from 1 to {MAX_LENGTH}")
    (source,) = _only(data, "encode", "inputs", "source_tokens")
    if len(source["shape"]) != 2 or source["dtype"] not in ("int32", "int64"):
        raise ArtifactError("manifest.json: encode's source_tokens input must be an integer (batch, length) tensor")
    _validate_decode_signatures(data)
    decode_inputs = data["signatures"]["decode_step"]["inputs"]
    roles = [t["role"] for t in decode_inputs]
    if roles.count("token") != 1 or roles.count("step") != 1:
        raise ArtifactError("manifest.json: decode_step needs exactly one 'token' and one 'step' input")
    for t in decode_inputs:
        rank = {"token": 1, "step": 0}.get(t["role"])
        if rank is not None and (len(t["shape"]) != rank or t["dtype"] not in ("int32", "int64")):
            what = "(batch,) vector" if rank else "scalar"
            raise ArtifactError(f"manifest.json: decode_step's {t['role']} input must be an integer {what}")
    (logits,) = _only(data, "decode_step", "outputs", "logits")
    if len(logits["shape"]) != 2 or logits["dtype"] not in ("float32", "float16"):
        raise ArtifactError("manifest.json: decode_step's logits must be a float (batch, vocabulary) tensor")
    vocabulary = logits["shape"][1]
    if vocabulary > MAX_VOCABULARY:
        raise ArtifactError(f"manifest.json: the logits claim a {vocabulary}-token vocabulary; at most {MAX_VOCABULARY}")
    for key, token in data["special_tokens"].items() if vocabulary > 0 else ():
        if key in ("pad", "unk", "start", "end") and token >= vocabulary:
            raise ArtifactError(f"manifest.json: special_tokens.{key} = {token} is not below the logits' {vocabulary} tokens")
    init = spec["decoder_init"]
    init_outputs = {t["name"] for t in data["signatures"][init]["outputs"]}
    missing = sorted(
        t["name"]
        for t in decode_inputs
        if t["role"] in ("memory", "state") and t.get("update") != "append" and t["name"] not in init_outputs
    )
    if missing:
        raise ArtifactError(f"manifest.json: decode_step inputs {missing} are not produced by {init}")
    no_axis = sorted(
        t["name"] for t in decode_inputs if t["role"] in ("memory", "state") and not _is_int(t.get("batch_axis"))
    )
    if no_axis:
        raise ArtifactError(f"manifest.json: decode_step inputs {no_axis} have no 'batch_axis' (beam search needs it)")
    made = {t["name"]: t for t in data["signatures"][init]["outputs"]}
    differ = sorted(
        t["name"]
        for t in decode_inputs
        if t["name"] in made and (made[t["name"]].get("batch_axis"), made[t["name"]]["dtype"]) != (t.get("batch_axis"), t["dtype"])
    )
    if differ:
        raise ArtifactError(f"manifest.json: decode_step inputs {differ} differ from {init}'s outputs (dtype or batch_axis)")


def _check_signature(name, signature):
    """Structure and bounds of one signature's tensor descriptions."""
    if not isinstance(signature, dict):
        raise ArtifactError(f"manifest.json: signature {_short(repr(name))} is malformed (expected an object with inputs and outputs)")
    for side in ("inputs", "outputs"):
        tensors = signature.get(side)
        if not isinstance(tensors, list):
            raise ArtifactError(f"manifest.json: signature {name!r} is malformed (no {side} list)")
        names = set()
        for tensor in tensors:
            _check_tensor(f"manifest.json: {name} {side[:-1]}", tensor)
            if tensor["name"] in names:
                raise ArtifactError(f"manifest.json: {name} has two {side} named {tensor['name']!r}")
            names.add(tensor["name"])


def _check_tensor(where, t):
    if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"]:
        raise ArtifactError(f"{where} {_short(repr(t))} is malformed (needs name, dtype, shape, role)")
    where = f"{where} {_short(repr(t['name']))}"
    if not isinstance(t.get("role"), str):
        raise ArtifactError(f"{where} is malformed (role must be a string)")
    if not isinstance(t.get("dtype"), str) or t["dtype"] not in DTYPES:
        raise ArtifactError(f"{where} has dtype {_short(repr(t.get('dtype')))}; expected one of {', '.join(DTYPES)}")
    shape = t.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_RANK:
        raise ArtifactError(f"{where} is malformed (shape must be a list of at most {MAX_RANK} dimensions)")
    if t["role"] == "logits" and shape and _is_int(shape[-1]) and shape[-1] > MAX_VOCABULARY:
        raise ArtifactError(f"{where} claims a {shape[-1]}-token vocabulary; at most {MAX_VOCABULARY}")
    if not all(_is_int(d) and (d == -1 or 1 <= d <= MAX_ROW_ELEMENTS) for d in shape):
        raise ArtifactError(f"{where} has shape {_short(shape)}; dimensions must be -1 (dynamic) or 1 to {MAX_ROW_ELEMENTS}")
    for key in ("batch_axis", "time_axis"):
        axis = t.get(key)
        if axis is not None and not _int_in(axis, 0, len(shape) - 1):
            raise ArtifactError(f"{where} has {key} {_short(repr(axis))}, not an axis of its shape {shape}")
    row = 1
    for axis, d in enumerate(shape):
        if axis != t.get("batch_axis") and d > 0:
            row *= d
    if row > MAX_ROW_ELEMENTS:
        raise ArtifactError(f"{where} has shape {shape}: {row} elements per batch row; at most {MAX_ROW_ELEMENTS}")


def _only(data, signature, side, role):
    """The tensors of `role` on one side of a signature; exactly one is required."""
    found = [t for t in data["signatures"][signature][side] if t["role"] == role]
    if len(found) != 1:
        raise ArtifactError(f"manifest.json: {signature} needs exactly one {role!r} {side[:-1]} (has {len(found)})")
    return found


def _validate_latent(data, task):
    latent_dim = data["latent_dim"]
    if not _int_in(latent_dim, 1, MAX_LATENT_DIM):
        raise ArtifactError(f"manifest.json: latent_dim must be an integer from 1 to {MAX_LATENT_DIM}")
    decoder = "decode" if task == "image_vae" else "decode_init"
    tensors = [(decoder, t) for t in _only(data, decoder, "inputs", "latent")]
    tensors += [("encode", t) for role in sorted(LATENT_ROLES) for t in _only(data, "encode", "outputs", role)]
    for signature, t in tensors:
        if len(t["shape"]) != 2 or t["shape"][1] not in (-1, latent_dim) or not t["dtype"].startswith("float"):
            raise ArtifactError(
                f"manifest.json: {signature} {t['name']!r} is {t['dtype']} {t['shape']}; expected float (batch, {latent_dim}) (latent_dim)"
            )


def _validate_image(data):
    image = data["image"]
    if not isinstance(image, dict):
        raise ArtifactError("manifest.json: image must be an object (height, width, channels)")
    bounds = {"height": MAX_IMAGE_SIDE, "width": MAX_IMAGE_SIDE, "channels": MAX_CHANNELS}
    for key, high in bounds.items():
        if not _int_in(image.get(key), 1, high):
            raise ArtifactError(f"manifest.json: image.{key} must be an integer from 1 to {high}")
    if image.get("likelihood", "bernoulli") not in ("bernoulli", "gaussian"):
        raise ArtifactError("manifest.json: image.likelihood must be 'bernoulli' or 'gaussian'")
    sigma = image.get("gaussian_sigma", 0.1)
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not 0 < sigma < float("inf"):
        raise ArtifactError("manifest.json: image.gaussian_sigma must be a positive number")
    expected = [image["height"], image["width"], image["channels"]]
    for signature, side in (("encode", "inputs"), ("decode", "outputs")):
        for t in _only(data, signature, side, "image"):
            if len(t["shape"]) != 4 or any(d not in (-1, e) for d, e in zip(t["shape"][1:], expected)):
                raise ArtifactError(
                    f"manifest.json: {signature} {t['name']!r} has shape {t['shape']}; image says (batch, {', '.join(map(str, expected))})"
                )


def _validate_decode_signatures(data):
    """The state update rules and the `decode_step` variants agree; cache lengths are bounded and grow."""
    names = data.get("decode_signatures", ["decode_step"])
    if not isinstance(names, list) or not names or names[-1] != "decode_step":
        raise ArtifactError("manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'")
    reference, capacities = None, []
    reference_outputs = sorted((t["name"], t["role"]) for t in data["signatures"]["decode_step"]["outputs"])
    for name in names:
        if not isinstance(name, str) or name not in data["signatures"]:
            raise ArtifactError(f"manifest.json: decode signature {_short(repr(name))} is not described")
        if names.count(name) > 1:
            raise ArtifactError(f"manifest.json: decode signature {name!r} is listed twice")
        inputs = data["signatures"][name]["inputs"]
        lengths = set()
        for t in inputs:
            if t["role"] != "state":
                continue
            if t.get("update") not in ("replace", "append"):
                raise ArtifactError(f"manifest.json: {name} state {t['name']!r} needs update 'replace' or 'append'")
            if t["update"] == "replace" and t.get("time_axis") is not None:
                raise ArtifactError(f"manifest.json: {name} state {t['name']!r} is replaced but has a time_axis")
            if t["update"] == "append":
                axis = t.get("time_axis")
                if not _is_int(axis) or not 0 <= axis < len(t["shape"]) or axis == t.get("batch_axis"):
                    raise ArtifactError(f"manifest.json: {name} state {t['name']!r} has no valid time_axis")
                if not _is_int(t.get("batch_axis")):
                    raise ArtifactError(f"manifest.json: {name} state {t['name']!r} has no 'batch_axis'")
                length = t["shape"][axis]
                if not _int_in(length, 1, MAX_LENGTH):
                    raise ArtifactError(f"manifest.json: {name} cache {t['name']!r} length must be 1..{MAX_LENGTH}")
                if any(d < 1 for i, d in enumerate(t["shape"]) if i != t["batch_axis"]):
                    raise ArtifactError(f"manifest.json: {name} cache {t['name']!r} has a dynamic dimension besides batch: {t['shape']}")
                lengths.add(length)
        if len(lengths) > 1:
            raise ArtifactError(f"manifest.json: the caches of {name} have different lengths {sorted(lengths)}")
        capacities.append(lengths.pop() if lengths else None)
        described = sorted(
            (t["name"], t["role"], t.get("update"), t["dtype"], t.get("batch_axis"), t.get("time_axis"), _without_time(t))
            for t in inputs
        )
        if reference is not None and described != reference:
            raise ArtifactError(f"manifest.json: {name} does not have the same tensors as {names[0]}")
        reference = described
        if sorted((t["name"], t["role"]) for t in data["signatures"][name]["outputs"]) != reference_outputs:
            raise ArtifactError(f"manifest.json: {name} does not have the same outputs as decode_step")
    if capacities[-1] is not None:
        if any(b <= a for a, b in zip(capacities, capacities[1:])):
            raise ArtifactError(f"manifest.json: decode_signatures must go from the shortest cache to the longest, not {capacities}")
        if data["max_target_length"] > capacities[-1]:
            raise ArtifactError(
                f"manifest.json: max_target_length {data['max_target_length']} is longer than decode_step's cache ({capacities[-1]} positions)"
            )


def _without_time(tensor):
    """A tensor's shape with its time axis (a cache's length, which differs between variants) masked."""
    return [0 if axis == tensor.get("time_axis") else d for axis, d in enumerate(tensor["shape"])]


def load_manifest(directory, check_sha256=True):
    """Read and validate `directory/manifest.json`.

    Args:
        directory: str. A converted model directory.
        check_sha256: bool. Verify that `model_file` matches `model_sha256`.

    Returns:
        A `Manifest`.
    """
    path = os.path.join(directory, MANIFEST_FILE)
    if not os.path.isdir(directory):
        raise ArtifactError(f"{directory}: no such model directory")
    if not os.path.exists(path):
        raise ArtifactError(f"{directory}: no {MANIFEST_FILE} (not a converted model directory?)")
    try:
        if not os.path.isfile(path):
            raise ArtifactError(f"{path}: not a file")
        if os.path.getsize(path) > MAX_MANIFEST_BYTES:
            raise ArtifactError(f"{path}: {os.path.getsize(path)} bytes; a manifest has at most {MAX_MANIFEST_BYTES}")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # JSONDecodeError, too many digits, nesting
        raise ArtifactError(f"{path}: not valid JSON ({_short(e)})") from None
    except OSError as e:
        raise ArtifactError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    validate(data)
    manifest = Manifest(data, os.path.abspath(directory))
    model_path = manifest.path("model_file")
    if not os.path.isfile(model_path):
        raise ArtifactError(f"{directory}: {data['model_file']} is missing")
    if check_sha256 and data.get("model_sha256"):
        try:
            digest = sha256_file(model_path)
        except OSError as e:
            raise ArtifactError(f"{model_path}: cannot be read ({e.strerror or e})") from None
        if digest != data["model_sha256"]:
            raise ArtifactError(f"{model_path}: sha256 does not match manifest.json (file corrupted or replaced)")
    return manifest
