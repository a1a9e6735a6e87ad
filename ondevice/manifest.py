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
# Upper bounds on what a manifest may claim, checked before anything is allocated.
MAX_LENGTH = 4096
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
    """Check the structure of a manifest dict; raise `ArtifactError` if broken."""
    try:
        _validate(data)
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArtifactError(f"manifest.json is malformed ({type(e).__name__}: {e})") from None


def _validate(data):
    for key in ("format_version", "family", "signatures", "model_file"):
        if key not in data:
            raise ArtifactError(f"manifest.json has no {key!r}")
    if not isinstance(data["format_version"], int):
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
    if not isinstance(data["model_file"], str):
        raise ArtifactError("manifest.json: model_file must be a file name")
    task = data.get("task", "translation")
    if task not in TASKS:
        raise ArtifactError(f"manifest.json: unknown task {task!r}; this runtime knows {', '.join(TASKS)}")
    spec = TASKS[task]
    for key in spec["keys"]:
        if key not in data:
            raise ArtifactError(f"manifest.json has no {key!r}")
    for signature, roles in spec["signatures"].items():
        if signature not in data["signatures"]:
            raise ArtifactError(f"manifest.json describes no {signature!r} signature")
        for side, allowed in roles.items():
            for tensor in data["signatures"][signature].get(side, []):
                TensorInfo.from_dict(tensor)
                if not isinstance(tensor["name"], str) or not isinstance(tensor["shape"], list):
                    raise ArtifactError(f"manifest.json: {signature} {side[:-1]} {tensor['name']!r} is malformed")
                if tensor.get("role") not in allowed:
                    raise ArtifactError(
                        f"manifest.json: {signature} {side[:-1]} {tensor.get('name')!r} has role "
                        f"{tensor.get('role')!r}; expected one of {sorted(allowed)}"
                    )
    if task == "translation":
        tokenizer_files(data["tokenizer"])
    if "special_tokens" in spec["keys"]:
        for key in ("pad", "unk", "start", "end"):
            if not isinstance(data["special_tokens"][key], int):
                raise ArtifactError(f"manifest.json: special_tokens.{key} must be an integer")
    if "decode_step" not in spec["signatures"]:
        return
    for key in ("max_target_length",) + (("max_source_length",) if task == "translation" else ()):
        if not isinstance(data.get(key), int) or not 1 <= data[key] <= MAX_LENGTH:
            raise ArtifactError(f"manifest.json: {key} must be an integer from 1 to {MAX_LENGTH}")
    _validate_decode_signatures(data)
    decode_inputs = data["signatures"]["decode_step"]["inputs"]
    roles = [t["role"] for t in decode_inputs]
    if roles.count("token") != 1 or roles.count("step") != 1:
        raise ArtifactError("manifest.json: decode_step needs exactly one 'token' and one 'step' input")
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
        t["name"] for t in decode_inputs if t["role"] in ("memory", "state") and not isinstance(t.get("batch_axis"), int)
    )
    if no_axis:
        raise ArtifactError(f"manifest.json: decode_step inputs {no_axis} have no 'batch_axis' (beam search needs it)")


def _validate_decode_signatures(data):
    """The state update rules and the `decode_step` variants agree."""
    names = data.get("decode_signatures", ["decode_step"])
    if not isinstance(names, list) or not names or names[-1] != "decode_step":
        raise ArtifactError("manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'")
    reference = None
    for name in names:
        if not isinstance(name, str) or name not in data["signatures"]:
            raise ArtifactError(f"manifest.json: decode signature {name!r} is not described")
        inputs = data["signatures"][name]["inputs"]
        for t in inputs:
            if t["role"] != "state":
                continue
            if t.get("update") not in ("replace", "append"):
                raise ArtifactError(f"manifest.json: {name} state {t['name']!r} needs update 'replace' or 'append'")
            if t["update"] == "replace" and t.get("time_axis") is not None:
                raise ArtifactError(f"manifest.json: {name} state {t['name']!r} is replaced but has a time_axis")
            if t["update"] == "append":
                axis = t.get("time_axis")
                if not isinstance(axis, int) or not 0 <= axis < len(t["shape"]) or axis == t.get("batch_axis"):
                    raise ArtifactError(f"manifest.json: {name} state {t['name']!r} has no valid time_axis")
                length = t["shape"][axis]
                if not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
                    raise ArtifactError(f"manifest.json: {name} cache {t['name']!r} length must be 1..{MAX_LENGTH}")
        described = sorted((t["name"], t["role"], t.get("update")) for t in inputs)
        if reference is not None and described != reference:
            raise ArtifactError(f"manifest.json: {name} does not have the same tensors as {names[0]}")
        reference = described


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
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    validate(data)
    manifest = Manifest(data, os.path.abspath(directory))
    model_path = manifest.path("model_file")
    if not os.path.exists(model_path):
        raise ArtifactError(f"{directory}: {data['model_file']} is missing")
    if check_sha256 and data.get("model_sha256") and sha256_file(model_path) != data["model_sha256"]:
        raise ArtifactError(
            f"{model_path}: sha256 does not match manifest.json (file corrupted or replaced)"
        )
    return manifest
