"""Bad input to `zoo translate` and bad model directories: one-line errors, exit code 2.

Policy (README): an empty or whitespace-only sentence argument, a sentence
longer than the model's `max_source_length` tokens, a stdin line that is not
UTF-8 or has no translatable characters are errors (exit 2, one line naming
the stdin line); blank stdin lines stay blank; control characters are
dropped by the tokenizer; characters never seen in training become `[UNK]`
and the sentence is still translated.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ondevice.errors import ArtifactError, InputError
from ondevice.manifest import load_manifest, sha256_file
from ondevice.translator import Translator

ZOO = [sys.executable, "-m", "zoo.cli"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def translate(artifact, *args, stdin=b"", timeout=120):
    return subprocess.run([*ZOO, "translate", str(artifact), *args], input=stdin, capture_output=True, env=ENV, timeout=timeout)


def assert_one_line_error(result, *fragments):
    stderr = result.stderr.decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("INFO:")]
    assert result.returncode == 2, stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("zoo translate: error:"), stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def artifact(convert_tiny):
    return convert_tiny("float32")


@pytest.fixture(scope="module")
def translator(artifact):
    return Translator.from_artifact(artifact)


# --- Text ---


def test_bad_text_through_the_cli(artifact, translator):
    assert_one_line_error(translate(artifact, ""), "empty input")
    assert_one_line_error(translate(artifact, "  \t "), "empty input")
    too_long = " ".join(["cat"] * (translator.max_source_length + 1))
    assert_one_line_error(translate(artifact, too_long), f"at most {translator.max_source_length}")
    assert_one_line_error(translate(artifact, "\x07\x1b\x7f"), "no translatable characters")

    # stdin: blank and whitespace-only lines stay blank, CR LF is accepted, empty stdin prints nothing.
    result = translate(artifact, stdin=b"I am hungry.\r\n\n   \nGood night.\n")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    lines = result.stdout.decode().split("\n")
    assert lines[1] == "" and lines[2] == "" and lines[0] and lines[3] and len(lines) == 5
    assert translate(artifact, stdin=b"").stdout == b""

    error = assert_one_line_error(translate(artifact, stdin=b"Hello.\nbad \xff\xfe byte\n"), "stdin line 2", "UTF-8")
    assert "byte 5" in error
    assert_one_line_error(translate(artifact, stdin=b"Hello.\n\x00\x07\n"), "stdin line 2", "no translatable")
    assert_one_line_error(translate(artifact, stdin=(too_long + "\n").encode()), "stdin line 1", "at most")


def test_control_characters_and_unseen_scripts(translator):
    plain = translator.translate(["I am hungry."])[0]
    # Control and format characters are dropped like spaces (the training tokenizer does the same).
    assert translator.translate(["I\x07 am\u200b hungry.\x1b"])[0] == plain
    assert translator.source_tokenizer.tokenize("I am\x00 hungry.") == translator.source_tokenizer.tokenize("I am")
    # Never seen in training: unknown tokens, still translated.
    unk = translator.special["unk"]
    for text in ["😀🚀", "Привет мир", "你好世界", "مرحبا", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "e\u0301\u0301\u0301"]:
        ids = translator.encode_text(text)
        assert unk in ids
        assert isinstance(translator.translate([text])[0], str)
    assert isinstance(translator.translate(["a" * 10_000])[0], str)  # one huge word -> [UNK]


def test_many_stdin_lines_are_streamed_in_bounded_memory(artifact):
    code = (
        "import sys\nfrom zoo.cli import main\nrc = main(sys.argv[1:])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print('maxrss_kb', hwm, file=sys.stderr)\nsys.exit(rc)\n"
    )  # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's peak over fork + exec)
    peaks = {}
    for count in (1_000, 50_000):
        stdin = b"hi.\n" * count
        result = subprocess.run(
            [sys.executable, "-c", code, "translate", artifact, "--batch-size", "256"],
            input=stdin, capture_output=True, env=ENV, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        assert result.stdout.count(b"\n") == count
        peaks[count] = int(result.stderr.decode().split("maxrss_kb")[-1])
    # 50x the input, about the same peak memory (streamed in chunks of 256 lines).
    print("peak RSS (KiB) by stdin lines:", peaks)
    assert peaks[50_000] < peaks[1_000] + 20_000, peaks

    # Output starts before stdin is closed: chunks are translated as they arrive.
    process = subprocess.Popen([*ZOO, "translate", artifact], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=ENV)
    try:
        process.stdin.write(b"Hello.\n" * 256)
        process.stdin.flush()
        first = process.stdout.readline()  # blocks forever if nothing is streamed (timeout below)
        assert first.strip()
    finally:
        process.kill()
        process.wait(timeout=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_fuzz_tokenizer_and_runtime_never_crash(translator, text):
    ids = translator.source_tokenizer.tokenize(text)
    assert all(0 <= i < translator.source_tokenizer.vocabulary_size for i in ids)
    try:
        out = translator.translate([text], beam_size=2)
    except InputError:
        assert not ids or len(ids) > translator.max_source_length or not text.strip()
    else:
        assert len(out) == 1 and isinstance(out[0], str)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_stdin_bytes_never_crash(data):
    from ondevice.cli import _decoded_lines

    try:
        for number, line in _decoded_lines(iter(data.splitlines(keepends=True))):
            assert isinstance(line, str) and "\n" not in line and number >= 1
    except InputError as e:
        assert "not valid UTF-8" in str(e)


# --- Models ---


def _copy(artifact, tmp_path, name="bad"):
    bad = tmp_path / name
    shutil.copytree(artifact, bad)
    return bad


def _edit_manifest(directory, edit):
    manifest = json.loads((directory / "manifest.json").read_text())
    edit(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _replace_model(directory, content):
    (directory / "model.tflite").write_bytes(content)

    def update(m):
        m["model_sha256"] = sha256_file(directory / "model.tflite")
        m["model_bytes"] = len(content)

    _edit_manifest(directory, update)


def _other_family_tflite(path):
    """A .tflite with other signatures (an image-VAE-like `encode(image)`, `decode(z)`)."""
    import tensorflow as tf

    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 1], tf.float32)])
        def encode(self, image):
            return {"z_mean": tf.reduce_mean(image, axis=[1, 2])}

        @tf.function(input_signature=[tf.TensorSpec([1, 1], tf.float32)])
        def decode(self, z):
            return {"image": tf.tile(z[:, None, None, :], [1, 8, 8, 1])}

    module = Other()
    tf.saved_model.save(module, str(path), signatures={"encode": module.encode, "decode": module.decode})
    return tf.lite.TFLiteConverter.from_saved_model(str(path), signature_keys=["encode", "decode"]).convert()


def _rename_state(manifest):
    """Describe a decoder state the model does not have (as another model's manifest would)."""
    state = next(t for t in manifest["signatures"]["decode_step"]["inputs"] if t["role"] == "state")
    sides = [manifest["signatures"]["encode"]["outputs"]]
    sides += [manifest["signatures"][name]["inputs"] for name in manifest["decode_signatures"]]
    for side in sides:
        for tensor in side:
            if tensor["name"] == state["name"]:
                tensor["name"] = "z_latent"


BAD_MODELS = {
    "missing manifest": (lambda d, tmp: os.remove(d / "manifest.json"), "no manifest.json"),
    "manifest not JSON": (lambda d, tmp: (d / "manifest.json").write_text("{nope"), "not valid JSON"),
    "missing model file": (lambda d, tmp: os.remove(d / "model.tflite"), "model.tflite is missing"),
    "random bytes .tflite": (lambda d, tmp: _replace_model(d, os.urandom(4096)), "not a loadable .tflite"),
    "empty .tflite": (lambda d, tmp: _replace_model(d, b""), "not a loadable .tflite"),
    "truncated .tflite": (
        lambda d, tmp: _replace_model(d, (d / "model.tflite").read_bytes()[: (d / "model.tflite").stat().st_size // 2]),
        "not a loadable .tflite",
    ),
    "sha256 mismatch": (
        lambda d, tmp: _edit_manifest(d, lambda m: m.update(model_sha256="0" * 64)),
        "sha256 does not match",
    ),
    "other task": (
        lambda d, tmp: _edit_manifest(d, lambda m: m.update(family="image_vae", task="generation")),
        "task 'generation'",
    ),
    "other family's model file": (
        lambda d, tmp: _replace_model(d, _other_family_tflite(tmp / "other_sm")),
        "no 'decode_step' signature",
    ),
    "manifest signature missing": (
        lambda d, tmp: _edit_manifest(d, lambda m: m["signatures"].pop("decode_step")),
        "no 'decode_step' signature",
    ),
    "manifest tensors of another model": (lambda d, tmp: _edit_manifest(d, _rename_state), "differ from manifest.json"),
    "manifest malformed": (
        lambda d, tmp: _edit_manifest(d, lambda m: m["signatures"].update(encode=["not", "a", "dict"])),
        "malformed",
    ),
    "manifest wrong types": (
        lambda d, tmp: _edit_manifest(d, lambda m: m.update(max_source_length="24")),
        "max_source_length",
    ),
    "special token missing": (
        lambda d, tmp: _edit_manifest(d, lambda m: m["special_tokens"].pop("end")),
        "malformed",
    ),
    "newer format": (lambda d, tmp: _edit_manifest(d, lambda m: m.update(format_version=99)), "newer"),
    "target vocabulary size differs from logits": (
        lambda d, tmp: (d / "target_vocab.txt").write_text(
            (d / "target_vocab.txt").read_text(encoding="utf-8") + "extra1\nextra2\n", encoding="utf-8"
        ),
        "logits",
    ),
    "vocabulary missing": (lambda d, tmp: os.remove(d / "source_vocab.txt"), "tokenizer files not usable"),
    "vocabulary not UTF-8": (lambda d, tmp: (d / "source_vocab.txt").write_bytes(b"\xff\xfe\n"), "tokenizer files not usable"),
}


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_bad_model_is_a_clear_error(artifact, tmp_path, case):
    damage, message = BAD_MODELS[case]
    bad = _copy(artifact, tmp_path)
    damage(bad, tmp_path)
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(")):
        Translator.from_artifact(str(bad))


def test_bad_models_through_the_cli(artifact, tmp_path):
    for case in ("random bytes .tflite", "truncated .tflite", "sha256 mismatch", "other task", "missing manifest"):
        damage, message = BAD_MODELS[case]
        bad = _copy(artifact, tmp_path, case.replace(" ", "_"))
        damage(bad, tmp_path)
        assert_one_line_error(translate(bad, "I am hungry."), message)


def test_good_artifact_still_loads(artifact):
    load_manifest(artifact)


# --- Concurrency ---


def test_one_translator_from_eight_threads_matches_serial(translator):
    from concurrent.futures import ThreadPoolExecutor

    sentences = ["I am hungry.", "Where is the cat?", "Tom likes to read books.", "It is raining today.",
                 "Can you help me?", "She has two brothers.", "The train leaves at noon.", "We are friends."]  # fmt: skip
    jobs = [(sentences[i:] + sentences[:i], 1 + i % 3) for i in range(16)]  # varied batches and beam sizes
    serial = [translator.translate(s, beam_size=b) for s, b in jobs]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda job: translator.translate(job[0], beam_size=job[1]), jobs))
    assert threaded == serial


# --- Loading safety ---


def test_no_pickle_and_keras_files_load_in_safe_mode(tiny_run, tmp_path):
    import pathlib
    import re

    import keras

    from zoo.training import load_run

    root = pathlib.Path(__file__).resolve().parent.parent
    unsafe = re.compile(r"\b(import pickle|from pickle|pickle\.|cPickle|dill|joblib|marshal\.loads|allow_pickle\s*=\s*True|safe_mode\s*=\s*False)")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in ("zoo", "converters", "ondevice")
        for path in sorted((root / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if unsafe.search(line)
    ]
    assert offenders == []

    # A .keras file whose config holds Python code (a Lambda layer) is refused.
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    inputs = keras.Input((4,))
    unsafe_model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    unsafe_model.save(run_dir / "model.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        load_run(str(run_dir))
