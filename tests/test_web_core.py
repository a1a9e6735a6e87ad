"""The browser demo's JavaScript core (`web_demo/core/`) against the Python runtime.

`node --test web_demo/core/test/` runs the core's own tests on the goldens the Kotlin core
uses (`android_demo/core/src/test/resources/goldens/`): WordPiece ids, words and
detokenization of `tokens.json`, every recorded greedy and beam decode replayed call for call,
manifest validation. Here, besides running them: the core's Unicode table is regenerated from
`ondevice/tokenizer.py` and compared, and a list of broken manifests is validated by both
`ondevice/manifest.py` and the JS core, which must give the same verdicts and messages, so
that neither side can drift alone. Node (>= 20) is the only requirement; no npm packages.
"""

import copy
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from ondevice.errors import ArtifactError
from ondevice.manifest import validate

ROOT = pathlib.Path(__file__).resolve().parent.parent
WEB = ROOT / "web_demo"
GOLDEN_MANIFEST = ROOT / "android_demo/core/src/test/resources/goldens/manifest.json"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (>= 20) is not installed: the JS core's tests need it")


def _node_major():
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return int(out.lstrip("v").split(".")[0])


@needs_node
def test_js_core_node_tests():
    if _node_major() < 20:
        pytest.skip(f"node {_node_major()} is too old for the JS core's tests (needs >= 20: node:test)")
    result = subprocess.run(
        [NODE, "--test", "web_demo/core/test/"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "# fail 0" in result.stdout, output[-8000:]


def test_unicode_table_is_current():
    result = subprocess.run(
        [sys.executable, str(WEB / "tools/make_unicode_table.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --- Manifest validation: the same verdicts and messages on both sides. ---


def _golden():
    with open(GOLDEN_MANIFEST, encoding="utf-8") as f:
        return json.load(f)


def _text_vae():
    """A text VAE manifest built from the golden translation one (decode_init makes the memory)."""
    data = _golden()
    data.update(task="text_vae", latent_dim=8, tokenizer={"kind": "wordpiece", "vocabulary": "vocab.txt"})
    signatures = data["signatures"]
    memory = signatures["encode"]["outputs"]
    latent = {"dtype": "float32", "shape": [-1, 8], "batch_axis": 0}
    signatures["encode"]["outputs"] = [
        {"name": "mean", "role": "latent_mean", **latent},
        {"name": "log_var", "role": "latent_log_var", **latent},
    ]
    signatures["decode_init"] = {"inputs": [{"name": "z", "role": "latent", **latent}], "outputs": memory}
    return data


def _image_vae():
    image = {"dtype": "float32", "shape": [-1, 28, 28, 1], "role": "image", "batch_axis": 0}
    latent = {"dtype": "float32", "shape": [-1, 8], "batch_axis": 0}
    return {
        "format_version": 2,
        "family": "conv_vae",
        "task": "image_vae",
        "model_file": "model.tflite",
        "latent_dim": 8,
        "image": {"height": 28, "width": 28, "channels": 1, "likelihood": "bernoulli"},
        "signatures": {
            "encode": {
                "inputs": [{"name": "image", **image}],
                "outputs": [
                    {"name": "mean", "role": "latent_mean", **latent},
                    {"name": "log_var", "role": "latent_log_var", **latent},
                ],
            },
            "decode": {"inputs": [{"name": "z", "role": "latent", **latent}], "outputs": [{"name": "image", **image}]},
        },
    }


def _inputs(d, signature="decode_step"):
    return d["signatures"][signature]["inputs"]


def _tensor(d, signature, side, name):
    return next(t for t in d["signatures"][signature][side] if t["name"] == name)


def _cache(d, signature="decode_step"):
    return next(t for t in _inputs(d, signature) if t.get("update") == "append")


def _both(d, edit):
    for signature in ("decode_step_16", "decode_step"):
        edit(d, signature)


def _set(path, value):
    """An edit setting `d[path[0]][path[1]]... = value` (a missing last key is created)."""

    def edit(d):
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return edit


def _delete(*path):
    def edit(d):
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]

    return edit


def _filter(signature, side, keep):
    def edit(d):
        d["signatures"][signature][side] = [t for t in d["signatures"][signature][side] if keep(t)]

    return edit


def _swap_variants(d):
    d["signatures"]["decode_step_24"] = d["signatures"]["decode_step"]
    d["signatures"]["decode_step"] = d["signatures"]["decode_step_16"]
    d["decode_signatures"] = ["decode_step_24", "decode_step"]
    d["max_target_length"] = 16


def _add_token2(d, signature):
    token = next(t for t in _inputs(d, signature) if t["role"] == "token")
    _inputs(d, signature).append(dict(token, name="token2"))


def _cache_length(length):
    def edit(d):
        c = _cache(d)
        c["shape"][c["time_axis"]] = length

    return edit


def _replace_caches(d):
    def edit(d, signature):
        c = _cache(d, signature)
        c["update"] = "replace"
        del c["time_axis"]

    _both(d, edit)


TRANSLATION = [
    ("valid", lambda d: None),
    *[(f"no {key}", _delete(key)) for key in ("format_version", "family", "signatures", "model_file", "special_tokens", "tokenizer")],
    ("format 3", _set(["format_version"], 3)),
    ("format 1", _set(["format_version"], 1)),
    ("format 2.0", _set(["format_version"], 2.0)),
    ("format True", _set(["format_version"], True)),
    ("format '2'", _set(["format_version"], "2")),
    ("format 10**30", _set(["format_version"], 10**30)),
    ("family int", _set(["family"], 5)),
    ("model_file path", _set(["model_file"], "../model.tflite")),
    ("model_file empty", _set(["model_file"], "")),
    ("model_file dot", _set(["model_file"], ".")),
    ("model_file NUL", _set(["model_file"], "a\0b")),
    ("model_file int", _set(["model_file"], 7)),
    ("model_file long", _set(["model_file"], "x/" + "é" * 300)),
    ("sha256 int", _set(["model_sha256"], 5)),
    ("sha256 None", _set(["model_sha256"], None)),
    ("task poetry", _set(["task"], "poetry")),
    ("task list", _set(["task"], ["x", 1.5, None, True])),
    ("task None", _set(["task"], None)),
    ("task text_vae", _set(["task"], "text_vae")),
    ("signatures list", _set(["signatures"], [1])),
    ("signature int", _set(["signatures", "encode"], 5)),
    ("signature odd name", _set(["signatures", "d\u00e9code\u200b'\""], [])),
    ("signature no inputs", _delete("signatures", "encode", "inputs")),
    ("tensor not a dict", _set(["signatures", "encode", "outputs", 2], [1, "x"])),
    ("tensor name empty", _set(["signatures", "encode", "outputs", 2, "name"], "")),
    ("tensor name int", _set(["signatures", "encode", "outputs", 2], {"name": 7, "dtype": 2.5})),
    ("tensor role int", _set(["signatures", "encode", "outputs", 2, "role"], 5)),
    ("tensor dtype", _set(["signatures", "encode", "outputs", 2, "dtype"], "complex64")),
    ("tensor no dtype", _delete("signatures", "encode", "outputs", 2, "dtype")),
    ("tensor shape str", _set(["signatures", "encode", "outputs", 2, "shape"], "x")),
    ("tensor rank 9", _set(["signatures", "encode", "outputs", 2, "shape"], [1] * 9)),
    ("tensor dim 0", _set(["signatures", "encode", "outputs", 2, "shape"], [-1, 1, 1, 0])),
    ("tensor dim float", _set(["signatures", "encode", "outputs", 2, "shape"], [-1, 1, 1, 2.0])),
    ("tensor dim bool", _set(["signatures", "encode", "outputs", 2, "shape"], [-1, True, 1, 1])),
    ("tensor dim huge", _set(["signatures", "encode", "outputs", 2, "shape"], [-1, 1, 1, 10**20])),
    ("tensor big row", _set(["signatures", "encode", "outputs", 2, "shape"], [-1, 4096, 4096, 2])),
    ("tensor huge row", _set(["signatures", "encode", "outputs", 2, "shape"], [1 << 24] * 8)),
    ("batch_axis 5", _set(["signatures", "encode", "outputs", 2, "batch_axis"], 5)),
    ("batch_axis -1", _set(["signatures", "encode", "outputs", 2, "batch_axis"], -1)),
    ("batch_axis 1.0", _set(["signatures", "encode", "outputs", 2, "batch_axis"], 1.0)),
    ("time_axis str", _set(["signatures", "encode", "outputs", 2, "time_axis"], "x")),
    ("duplicate name", _set(["signatures", "encode", "outputs", 2, "name"], "cross_key_0")),
    ("no encode", _delete("signatures", "encode")),
    ("wrong role", _set(["signatures", "encode", "outputs", 2, "role"], "logits")),
    ("odd role", _set(["signatures", "encode", "outputs", 2, "role"], "r\u00f4le\n")),
    ("tokenizer no kind", _delete("tokenizer", "kind")),
    ("tokenizer list", _set(["tokenizer"], ["wordpiece"])),
    ("tokenizer kind list", _set(["tokenizer", "kind"], ["wordpiece"])),
    ("tokenizer path", _set(["tokenizer", "target_vocabulary"], "a/b.txt")),
    ("tokenizer dotdot", _set(["tokenizer", "source_vocabulary"], "..")),
    ("tokenizer sentencepiece", _set(["tokenizer", "kind"], "sentencepiece")),
    ("special list", _set(["special_tokens"], [0, 1, 2, 3])),
    ("special no pad", _delete("special_tokens", "pad")),
    ("special pad 1.5", _set(["special_tokens", "pad"], 1.5)),
    ("special pad True", _set(["special_tokens", "pad"], True)),
    ("special pad -1", _set(["special_tokens", "pad"], -1)),
    ("special pad 2**20", _set(["special_tokens", "pad"], 2**20)),
    ("special end 600", _set(["special_tokens", "end"], 600)),
    ("special end None", _set(["special_tokens", "end"], None)),
    ("special extra big", _set(["special_tokens", "mask"], 10**6)),
    ("max_target 0", _set(["max_target_length"], 0)),
    ("max_target 4097", _set(["max_target_length"], 4097)),
    ("max_target str", _set(["max_target_length"], "24")),
    ("max_source float", _set(["max_source_length"], 24.0)),
    ("max_source missing", _delete("max_source_length")),
    ("two sources", lambda d: _inputs(d, "encode").append(dict(_inputs(d, "encode")[0], name="ids2"))),
    ("no source", _filter("encode", "inputs", lambda t: False)),
    ("source float", _set(["signatures", "encode", "inputs", 0, "dtype"], "float32")),
    ("source rank 1", _set(["signatures", "encode", "inputs", 0, "shape"], [-1])),
    ("decode_signatures str", _set(["decode_signatures"], "decode_step")),
    ("decode_signatures empty", _set(["decode_signatures"], [])),
    ("decode_signatures order", _set(["decode_signatures"], ["decode_step", "decode_step_16"])),
    ("decode_signatures unknown", _set(["decode_signatures"], ["decode_step_8", "decode_step"])),
    ("decode_signatures int", _set(["decode_signatures"], [8, "decode_step"])),
    ("decode_signatures twice", _set(["decode_signatures"], ["decode_step", "decode_step"])),
    ("decode_signatures absent", _delete("decode_signatures")),
    ("variant tensors", _filter("decode_step_16", "inputs", lambda t: t["role"] != "memory")),
    ("variant outputs", _filter("decode_step_16", "outputs", lambda t: t["role"] != "state")),
    ("variant order", _swap_variants),
    ("max_target beyond cache", lambda d: [_set(["max_target_length"], 30)(d), _cache_length(30)(d)][0]),
    ("update missing", lambda d: _cache(d).pop("update")),
    ("update odd", lambda d: _cache(d).update(update=["append"])),
    ("replace with time_axis", lambda d: _cache(d).update(update="replace")),
    ("time_axis missing", lambda d: _cache(d, "decode_step_16").pop("time_axis")),
    ("time_axis = batch_axis", lambda d: _cache(d).update(time_axis=_cache(d)["batch_axis"])),
    ("time_axis out of shape", lambda d: _cache(d).update(time_axis=len(_cache(d)["shape"]))),
    ("cache no batch_axis", lambda d: _cache(d, "decode_step_16").pop("batch_axis")),
    ("cache length -1", _cache_length(-1)),
    ("cache length 5000", _cache_length(5000)),
    ("cache dynamic dim", lambda d: _cache(d)["shape"].__setitem__(1, -1)),
    ("caches differ", lambda d: _tensor(d, "decode_step", "inputs", "self_value_0")["shape"].__setitem__(2, 23)),
    ("replace caches", _replace_caches),
    ("variant cache dtype", lambda d: _cache(d, "decode_step_16").update(dtype="float16")),
    ("variant memory shape", lambda d: _tensor(d, "decode_step_16", "inputs", "cross_key_0").update(shape=[-1, 2, 8, -1])),
    ("variant memory batch_axis", lambda d: _tensor(d, "decode_step_16", "inputs", "cross_key_0").update(batch_axis=1)),
    ("memory dtype vs encode", lambda d: _tensor(d, "encode", "outputs", "cross_key_0").update(dtype="float16")),
    ("memory batch_axis vs encode", lambda d: _tensor(d, "encode", "outputs", "cross_key_0").update(batch_axis=1)),
    ("no step", lambda d: _both(d, lambda d, s: _filter(s, "inputs", lambda t: t["role"] != "step")(d))),
    ("two tokens", lambda d: _both(d, _add_token2)),
    ("step missing in one", _filter("decode_step", "inputs", lambda t: t["role"] != "step")),
    ("token rank 0", lambda d: _both(d, lambda d, s: _tensor(d, s, "inputs", "token").update(shape=[]))),
    ("step rank 1", lambda d: _both(d, lambda d, s: _tensor(d, s, "inputs", "step").update(shape=[1]))),
    ("token float", lambda d: _both(d, lambda d, s: _tensor(d, s, "inputs", "token").update(dtype="float32"))),
    ("no logits", lambda d: _both(d, lambda d, s: _filter(s, "outputs", lambda t: t["role"] != "logits")(d))),
    ("logits rank 1", lambda d: _both(d, lambda d, s: _tensor(d, s, "outputs", "logits").update(shape=[-1]))),
    ("logits int", lambda d: _both(d, lambda d, s: _tensor(d, s, "outputs", "logits").update(dtype="int32"))),
    ("logits huge", lambda d: _both(d, lambda d, s: _tensor(d, s, "outputs", "logits").update(shape=[-1, 1 << 21]))),
    ("logits dynamic", lambda d: _both(d, lambda d, s: _tensor(d, s, "outputs", "logits").update(shape=[-1, -1]))),
    ("state unfed", lambda d: _both(d, lambda d, s: _filter(s, "outputs", lambda t: t["name"] != "self_key_0")(d))),
    ("encode output missing", _filter("encode", "outputs", lambda t: t["name"] != "source_bias")),
    ("memory no batch_axis", lambda d: _both(d, lambda d, s: _tensor(d, s, "inputs", "cross_key_0").pop("batch_axis"))),
    ("not an object", lambda d: [1, 2]),
]

TEXT_VAE = [
    ("valid", lambda d: None),
    ("latent_dim 0", _set(["latent_dim"], 0)),
    ("latent_dim big", _set(["latent_dim"], 2**17)),
    ("latent_dim str", _set(["latent_dim"], "8")),
    ("no latent_dim", _delete("latent_dim")),
    ("tokenizer list", _set(["tokenizer"], [])),
    ("vocabulary path", _set(["tokenizer", "vocabulary"], "../v.txt")),
    ("latent 9", lambda d: _tensor(d, "decode_init", "inputs", "z").update(shape=[-1, 9])),
    ("mean int", lambda d: _tensor(d, "encode", "outputs", "mean").update(dtype="int32")),
    ("no decode_init", _delete("signatures", "decode_init")),
    ("two means", lambda d: d["signatures"]["encode"]["outputs"].append(dict(_tensor(d, "encode", "outputs", "mean"), name="m2"))),
    ("memory from encode", lambda d: d["signatures"]["decode_init"].update(outputs=[])),
]

IMAGE_VAE = [
    ("valid", lambda d: None),
    ("image list", _set(["image"], [28, 28, 1])),
    ("height 0", _set(["image", "height"], 0)),
    ("channels 5", _set(["image", "channels"], 5)),
    ("likelihood", _set(["image", "likelihood"], "poisson")),
    ("gaussian", _set(["image", "likelihood"], "gaussian")),
    ("sigma 0", _set(["image", "gaussian_sigma"], 0)),
    ("sigma -1.5", _set(["image", "gaussian_sigma"], -1.5)),
    ("sigma str", _set(["image", "gaussian_sigma"], "0.1")),
    ("sigma bool", _set(["image", "gaussian_sigma"], True)),
    ("sigma nan", _set(["image", "gaussian_sigma"], float("nan"))),
    ("sigma inf", _set(["image", "gaussian_sigma"], float("inf"))),
    ("sigma 1e-300", _set(["image", "gaussian_sigma"], 1e-300)),
    ("encode image shape", lambda d: _tensor(d, "encode", "inputs", "image").update(shape=[-1, 28, 27, 1])),
    ("decode image rank", lambda d: _tensor(d, "decode", "outputs", "image").update(shape=[-1, 784])),
    ("no decode image", _filter("decode", "outputs", lambda t: False)),
    ("latent_dim mismatch", _set(["latent_dim"], 16)),
    ("no decode", _delete("signatures", "decode")),
    ("extra signature", _set(["signatures", "decode_step"], {"inputs": [], "outputs": []})),
]


def _cases():
    cases = []
    for base_name, base, mutations in (
        ("translation", _golden, TRANSLATION),
        ("text_vae", _text_vae, TEXT_VAE),
        ("image_vae", _image_vae, IMAGE_VAE),
    ):
        for label, edit in mutations:
            data = copy.deepcopy(base())
            replaced = edit(data)
            if isinstance(replaced, list) and label == "not an object":
                data = replaced
            try:
                validate(data)
                expected = None
            except ArtifactError as e:
                expected = str(e)
            cases.append({"label": f"{base_name}: {label}", "text": json.dumps(data), "expected": expected})
    return cases


@needs_node
def test_manifest_messages_match_python(tmp_path):
    cases = _cases()
    assert [c["expected"] for c in cases if c["label"].endswith(": valid")] == [None, None, None]
    assert sum(c["expected"] is not None for c in cases) > 100
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    result = subprocess.run(
        [NODE, str(WEB / "core/testing/check_manifest_cases.js"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    outcomes = json.loads(result.stdout)
    mismatches = [
        f"{c['label']}:\n  python: {c['expected']}\n  js:     {js}" for c, js in zip(cases, outcomes) if js != c["expected"]
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches)
