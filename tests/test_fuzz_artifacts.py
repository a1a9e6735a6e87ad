"""Fuzzing converted artifacts: corrupted models and manifests never crash the runtime.

Two parts:

- **Corrupted `model.tflite`** (single bytes, runs of bytes, 32-bit words set
  to boundary values, truncations) in a copy of a real converted artifact of
  every family, with the manifest's sha256 updated to match (a file that
  passes the integrity check: a converter bug, a bad download re-hashed, a
  malicious file). Each one is run by the real command line (`zoo translate`,
  `zoo sample` / `zoo reconstruct`) in its own child process with a timeout;
  it must exit 0 or 2 with at most one line on stderr and no traceback, never
  die by a signal, never hang.
- **`manifest.json` fields** (hypothesis, in-process): any JSON value in any
  field makes `validate` / `load_manifest` raise `ArtifactError` or succeed.

Child processes are slow to start (Python + numpy + LiteRT: ~2 s), so a
*driver* (this file run as a script) imports the runtime once and forks one
child per corrupted artifact; each child runs `zoo.cli.main(argv)` exactly as
`python -m zoo.cli` would and exits, so a crash or a hang in one corrupted
model is seen as that child's signal or timeout. The driver itself starts
with nothing but the runtime imported (never TensorFlow, whose threads do not
survive a fork).

The default suite runs `DEFAULT_MUTATIONS` mutations per artifact; more with
`pytest tests/test_fuzz_artifacts.py --fuzz N` or `ZOO_FUZZ=N` (and
`--fuzz-seed S` / `ZOO_FUZZ_SEED=S` for other mutations). By hand, the driver
fuzzes any artifact directory:

    python tests/test_fuzz_artifacts.py fuzz ARTIFACT --n 500 [--seed 0] [--argv ...]
"""

import copy
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_MUTATIONS = 24
CHILD_TIMEOUT_S = 60.0  # one corrupted artifact, loaded and run (a good one takes < 1 s)
CHILD_MEMORY_BYTES = 6 << 30  # address-space limit of a child: a blow-up fails instead of swapping the machine
INT32_VALUES = (0, 1, -1, 0x7FFFFFFF, -0x80000000, 0xFFFF, 0x10000, 255, 256, 1 << 24)


# --- Mutations (pure functions of a seed: a failure names the one to replay) ---


def make_mutations(size, n, seed):
    """`n` mutation specs for a file of `size` bytes, reproducible from `seed`.

    A spec is a JSON list: `["byte", offset, value]`, `["run", offset, hex]`,
    `["int32", offset, value]` (a little-endian word, 4-aligned: flatbuffer
    offsets, lengths, shapes, indices) or `["truncate", length]`.
    """
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        kind = ("byte", "int32", "run", "byte", "int32", "truncate")[i % 6]
        if kind == "byte":
            specs.append(["byte", rng.randrange(size), rng.randrange(256)])
        elif kind == "int32":
            specs.append(["int32", rng.randrange(size // 4) * 4, rng.choice(INT32_VALUES)])
        elif kind == "run":
            length = rng.randint(2, 64)
            specs.append(["run", rng.randrange(size), rng.randbytes(length).hex()])
        else:
            specs.append(["truncate", rng.randrange(size)])
    return specs


def apply_mutation(data, spec):
    """The bytes of a model file after one mutation spec (see `make_mutations`)."""
    data = bytearray(data)
    kind = spec[0]
    if kind == "byte":
        offset, value = spec[1], spec[2]
        data[offset] = value if value != data[offset] else value ^ 0xFF
    elif kind == "int32":
        data[spec[1] : spec[1] + 4] = (spec[2] & 0xFFFFFFFF).to_bytes(4, "little")
    elif kind == "run":
        patch = bytes.fromhex(spec[2])
        data[spec[1] : spec[1] + len(patch)] = patch
    elif kind == "truncate":
        del data[spec[1] :]
    else:
        raise ValueError(f"unknown mutation {spec!r}")
    return bytes(data)


def write_mutated_artifact(base, out, spec):
    """Copy artifact `base` to `out` with `model.tflite` mutated and its sha256/size in the manifest updated."""
    import hashlib

    shutil.copytree(base, out)
    manifest_path = os.path.join(out, "manifest.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    model_path = os.path.join(out, manifest["model_file"])
    with open(model_path, "rb") as f:
        data = apply_mutation(f.read(), spec) if spec is not None else f.read()
    with open(model_path, "wb") as f:
        f.write(data)
    manifest["model_sha256"] = hashlib.sha256(data).hexdigest()
    manifest["model_bytes"] = len(data)
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f)


# --- The driver: one forked child per case ---


def _run_child(argv, stderr_path, memory_bytes):
    """In the forked child: run the CLI like `python -m zoo.cli`, then `_exit`."""
    code = 1
    try:
        if memory_bytes:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        if argv[0] == "isolation":  # `python -m ondevice.isolation ARTIFACT`: every signature and buffer path
            from ondevice.isolation import main
        elif argv[0] == "__signal__":  # self-tests of the driver
            os.kill(os.getpid(), signal.SIGSEGV)
        elif argv[0] == "__sleep__":
            time.sleep(3600)
        else:
            from zoo.cli import main
        code = main(argv[1:] if argv[0] == "isolation" else argv)
        code = 0 if code is None else code
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported the way Python would, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def run_forked(argv, workdir, timeout, memory_bytes=CHILD_MEMORY_BYTES):
    """Run `zoo.cli.main(argv)` in a forked child; returns a result dict:
    `outcome` (`exit`, `signal`, `timeout`), `code` (exit status or signal
    number), `stderr`, `seconds`."""
    stderr_path = os.path.join(workdir, "stderr.txt")
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _run_child(argv, stderr_path, memory_bytes)
    deadline, delay = started + timeout, 0.002
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, _, usage = os.wait4(pid, 0)
            status = None
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    seconds = time.monotonic() - started
    try:
        with open(stderr_path, "rb") as f:
            stderr = f.read(20000).decode("utf-8", errors="replace")
    except OSError:
        stderr = ""
    if status is None:
        outcome, code = "timeout", None
    elif os.WIFSIGNALED(status):
        outcome, code = "signal", os.WTERMSIG(status)
    else:
        outcome, code = "exit", os.WEXITSTATUS(status)
    peak_mb = round(usage.ru_maxrss / 1024)  # kilobytes on Linux
    return {"outcome": outcome, "code": code, "stderr": stderr, "seconds": round(seconds, 3), "peak_mb": peak_mb}


def drive(jobs, out):
    """Run the cases of `jobs` (see `run_driver`), writing one JSON line per case to `out`."""
    for job in jobs:
        for case in job["cases"]:
            workdir = tempfile.mkdtemp(prefix="case_", dir=job["work"])
            try:
                artifact = os.path.join(workdir, "artifact")
                write_mutated_artifact(job["artifact"], artifact, case.get("mutation"))
                argv = [a.replace("{artifact}", artifact).replace("{work}", workdir) for a in case["argv"]]
                result = run_forked(argv, workdir, job.get("timeout", CHILD_TIMEOUT_S), job.get("memory_bytes", CHILD_MEMORY_BYTES))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            result.update(artifact=job["artifact"], mutation=case.get("mutation"), argv=case["argv"])
            out.write(json.dumps(result) + "\n")
            out.flush()


def _warm_imports():
    """Import what the children run once, in the driver (never TensorFlow)."""
    import numpy  # noqa: F401

    import ondevice.cli  # noqa: F401
    import ondevice.isolation  # noqa: F401
    import ondevice.vae_cli  # noqa: F401
    import zoo.cli  # noqa: F401

    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        pass
    assert "tensorflow" not in sys.modules, "the fuzz driver must not import TensorFlow (its threads do not survive fork)"


def driver_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_driver(jobs, timeout):
    """Run `jobs` in a fresh driver process; returns the list of case results.

    Each job: `artifact` (the good artifact), `work` (a scratch directory),
    `cases`: a list of `{"mutation": spec or None, "argv": [...]}` with
    `{artifact}` / `{work}` placeholders in argv.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(jobs, f)
        jobs_path = f.name
    try:
        proc = subprocess.run(
            [sys.executable, str(pathlib.Path(__file__).resolve()), "drive", jobs_path],
            capture_output=True,
            env=driver_env(),
            timeout=timeout,
            cwd=str(REPO_ROOT),
        )
    finally:
        os.remove(jobs_path)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.startswith("{")]


# --- What a good outcome is ---


def problem(result):
    """None if `result` is acceptable (exit 0 or 2, at most one stderr line, no traceback), else why not."""
    stderr = result["stderr"]
    lines = [line for line in stderr.splitlines() if line.strip()]
    if result["outcome"] == "signal":
        return f"killed by signal {result['code']} ({signal.Signals(result['code']).name})"
    if result["outcome"] == "timeout":
        return "timed out"
    if result["code"] not in (0, 2):
        return f"exit status {result['code']}"
    if "Traceback" in stderr:
        return "traceback on stderr"
    if result["code"] == 2 and (len(lines) != 1 or ": error: " not in lines[0]):
        return f"{len(lines)} stderr lines for an error (expected one `zoo CMD: error: ...` line)"
    if result["code"] == 0 and lines:
        return f"{len(lines)} stderr lines on success"
    return None


def summarize(results):
    """Counts of each outcome: exit 0, exit 2, other exit, signal, timeout."""
    counts = {"exit 0": 0, "exit 2": 0, "other exit": 0, "signal": 0, "timeout": 0}
    for r in results:
        if r["outcome"] == "exit":
            counts[{0: "exit 0", 2: "exit 2"}.get(r["code"], "other exit")] += 1
        else:
            counts[r["outcome"]] += 1
    return counts


# --- The command lines per task ---


def task_argvs(task):
    """CLI argvs that load and run every signature of an artifact of `task`
    (cycled over the mutations)."""
    if task == "translation":
        sentences = ["I am hungry.", "Where is the cat?", "Tom likes to read books every day."]
        return [
            ["translate", "{artifact}", *sentences],
            ["translate", "{artifact}", *sentences, "--beam", "3"],
            ["isolation", "{artifact}"],
        ]
    if task == "text_vae":
        return [
            ["sample", "{artifact}", "--n", "3", "--seed", "1"],
            ["reconstruct", "{artifact}", "I am hungry.", "Where is the cat?", "--method", "beam", "--beam", "2"],
            ["isolation", "{artifact}"],
        ]
    if task == "image_vae":
        return [
            ["sample", "{artifact}", "--n", "3", "--seed", "1", "--out", "{work}/samples.png"],
            ["reconstruct", "{artifact}", "{work}/../image.npy", "--out", "{work}/reconstruction.png"],
            ["isolation", "{artifact}"],
        ]
    raise ValueError(task)


def fuzz_job(artifact, work, n, seed, argvs=None):
    """A driver job: `n` mutations of `artifact`'s model, cycling over the task's command lines."""
    with open(os.path.join(artifact, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    task = manifest.get("task", "translation")
    if task == "image_vae":  # an input image for `reconstruct`, next to the cases' directories
        import numpy as np

        image = manifest["image"]
        grid = np.linspace(0.0, 1.0, image["height"] * image["width"] * image["channels"], dtype=np.float32)
        np.save(os.path.join(work, "image.npy"), grid.reshape(1, image["height"], image["width"], image["channels"]))
    argvs = argvs or task_argvs(task)
    size = os.path.getsize(os.path.join(artifact, manifest["model_file"]))
    cases = [{"mutation": spec, "argv": argvs[i % len(argvs)]} for i, spec in enumerate(make_mutations(size, n, seed))]
    return {"artifact": str(artifact), "work": str(work), "cases": cases}


# --- The tests ---

# Artifacts of every family (the int8 recipe quantizes per channel: the
# issue's XNNPACK zero-point failure), by test id.
ARTIFACTS = {
    "transformer_int8": lambda convert_tiny, convert_vae: convert_tiny("int8"),
    "transformer_dynamic_int8": lambda convert_tiny, convert_vae: convert_tiny("dynamic_int8"),
    "lstm_int8": lambda convert_tiny, convert_vae: convert_tiny("int8", "lstm"),
    "text_vae_int8": lambda convert_tiny, convert_vae: convert_vae("text", "int8"),
    "image_vae_int8": lambda convert_tiny, convert_vae: convert_vae("image", "int8"),
}


def _option(config, name, env):
    value = config.getoption(name, default=None)
    return int(value if value is not None else os.environ.get(env, -1))


@pytest.fixture(scope="module")
def fuzz_settings(request):
    """(mutations per artifact, seed) from `--fuzz` / `ZOO_FUZZ`, `--fuzz-seed` / `ZOO_FUZZ_SEED`."""
    n, seed = _option(request.config, "--fuzz", "ZOO_FUZZ"), _option(request.config, "--fuzz-seed", "ZOO_FUZZ_SEED")
    return (n if n >= 0 else DEFAULT_MUTATIONS), (seed if seed >= 0 else 0)


def _report(bad):
    return "\n".join(
        f"{why}: mutation {json.dumps(r['mutation'])} of {r['artifact']} with {r['argv'][0]}\n{r['stderr'].strip()[-1500:]}"
        for why, r in bad[:5]
    )


@pytest.mark.parametrize("name", list(ARTIFACTS))
def test_corrupted_model_files_exit_0_or_2(name, convert_tiny, convert_vae, fuzz_settings, tmp_path):
    n, seed = fuzz_settings
    artifact = ARTIFACTS[name](convert_tiny, convert_vae)
    job = fuzz_job(artifact, tmp_path, n, seed * 1000 + list(ARTIFACTS).index(name))
    results = run_driver([job], timeout=n * (CHILD_TIMEOUT_S + 5) + 120)
    assert len(results) == n
    bad = [(problem(r), r) for r in results if problem(r)]
    assert not bad, f"{len(bad)} of {n} corrupted models: {summarize(results)}\n{_report(bad)}"


def test_driver_reports_what_the_real_command_does(convert_tiny, tmp_path):
    artifact = convert_tiny("int8")
    argv = ["translate", "{artifact}", "I am hungry."]
    jobs = [
        {
            "artifact": artifact,
            "work": str(tmp_path),
            "cases": [
                {"mutation": None, "argv": argv},
                {"mutation": ["truncate", 100], "argv": argv},
                {"mutation": None, "argv": ["__signal__"]},
            ],
        },
        {"artifact": artifact, "work": str(tmp_path), "cases": [{"mutation": None, "argv": ["__sleep__"]}], "timeout": 1.0},
    ]
    good, truncated, crashed, hung = run_driver(jobs, timeout=300)
    assert (good["outcome"], good["code"], good["stderr"]) == ("exit", 0, "") and problem(good) is None
    assert truncated["code"] == 2 and problem(truncated) is None and "not a loadable .tflite model" in truncated["stderr"]
    assert crashed["outcome"] == "signal" and "SIGSEGV" in problem(crashed)
    assert hung["outcome"] == "timeout" and problem(hung) == "timed out"
    # The same truncated artifact through `python -m zoo.cli` itself: the same one line.
    bad = tmp_path / "bad"
    write_mutated_artifact(artifact, bad, ["truncate", 100])
    real = subprocess.run([sys.executable, "-m", "zoo.cli", *[a.replace("{artifact}", str(bad)) for a in argv]],
                          capture_output=True, env=driver_env(), timeout=300, cwd=str(REPO_ROOT))  # fmt: skip
    assert real.returncode == 2
    tail = truncated["stderr"].split("/model.tflite:", 1)[1]
    assert real.stderr.decode() == f"zoo translate: error: {bad}/model.tflite:{tail}"


def set_zero_point(model_bytes, signature, value):
    """`model_bytes` with one per-channel zero point of `signature`'s subgraph
    set to `value`: a valid flatbuffer that XNNPACK refuses when it prepares
    that subgraph, i.e. when the signature first runs (issue 16: "unsupported
    zero-point value (-301989888) in channel 5 of INT8 tensor 50")."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    index = next(d.subgraphIndex for d in model.signatureDefs if d.signatureKey.decode() == signature)
    tensor = next(  # a per-channel INT32 bias: -301989888 fits its type, so only XNNPACK objects
        t
        for t in model.subgraphs[index].tensors
        if t.type == schema.TensorType.INT32 and t.quantization is not None and t.quantization.zeroPoint is not None
        and len(t.quantization.zeroPoint) > 1
    )
    zero_points = np.array(tensor.quantization.zeroPoint)
    zero_points[len(zero_points) // 2] = value
    tensor.quantization.zeroPoint = zero_points
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _with_model(artifact, out, content):
    import hashlib

    shutil.copytree(artifact, out)
    (out / "model.tflite").write_bytes(content)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["model_sha256"] = hashlib.sha256(content).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.mark.parametrize(
    "name, signature, argv",
    [
        ("transformer_int8", "encode", ["translate", "{artifact}", "I am hungry."]),
        ("transformer_int8", "decode_step_16", ["translate", "{artifact}", "I am hungry.", "--beam", "2"]),
        ("text_vae_int8", "decode_step", ["sample", "{artifact}", "--n", "2"]),
        ("image_vae_int8", "encode", ["reconstruct", "{artifact}", "{work}/image.npy", "--out", "{work}/out.png"]),
    ],
)
def test_a_signature_failing_on_first_run_is_a_one_line_error(name, signature, argv, convert_tiny, convert_vae, tmp_path):
    """Issue 16: the model loads, then LiteRT refuses a subgraph when it first runs."""
    import numpy as np

    from ondevice.errors import ArtifactError
    from ondevice.isolation import check_artifact_in_subprocess, exercise
    from ondevice.manifest import load_manifest
    from ondevice.translator import Translator
    from ondevice.vae import ImageVAERunner, SentenceVAERunner

    artifact = ARTIFACTS[name](convert_tiny, convert_vae)
    content = set_zero_point((pathlib.Path(artifact) / "model.tflite").read_bytes(), signature, -301989888)
    bad = _with_model(artifact, tmp_path / "bad", content)
    manifest = load_manifest(str(bad))
    {"translation": Translator, "text_vae": SentenceVAERunner, "image_vae": ImageVAERunner}[manifest.task].from_artifact(str(bad))  # loads
    message = f"{bad}/model.tflite: signature '{signature}' failed: unsupported zero-point value (-301989888)"
    with pytest.raises(ArtifactError) as error:
        exercise(str(bad))
    assert str(error.value).startswith(message)
    if manifest.task == "image_vae":
        image = manifest.data["image"]
        np.save(tmp_path / "image.npy", np.full((1, image["height"], image["width"], image["channels"]), 0.5, np.float32))
    result = run_driver([{"artifact": str(bad), "work": str(tmp_path), "cases": [{"mutation": None, "argv": [a.replace("{work}", str(tmp_path)) for a in argv]}]}], timeout=300)[0]
    assert problem(result) is None and result["code"] == 2, result
    assert f"signature '{signature}' failed: unsupported zero-point value (-301989888)" in result["stderr"]
    with pytest.raises(ArtifactError, match=f"signature '{signature}' failed"):
        check_artifact_in_subprocess(str(bad))


def crashing_value(model_bytes, kind):
    """`model_bytes` with a value that crashed LiteRT 2.3 (SIGSEGV) in the
    fuzzing: a QUANTIZE output's `scale` negative or its `zero_point` out of
    the INT8 range, a STRIDED_SLICE's `strides` absent, a SPLIT's `num_splits`
    not its number of outputs, a BATCH_MATMUL's output given constant data."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    wanted = {"strides": "STRIDED_SLICE", "split": "SPLIT", "constant_output": "BATCH_MATMUL"}.get(kind, "QUANTIZE")
    code = getattr(schema.BuiltinOperator, wanted)
    subgraph, op = next((g, op) for g in model.subgraphs for op in g.operators if codes[op.opcodeIndex] == code)
    output = subgraph.tensors[op.outputs[0]]
    if kind == "strides":
        op.inputs = np.array([*op.inputs[:3], -1], np.int32)
    elif kind == "split":
        op.builtinOptions.numSplits = 419430403
    elif kind == "constant_output":  # data of the right size: LiteRT maps it read-only, then the op writes it
        buffer = schema.BufferT()
        buffer.data = np.zeros(4 * int(np.prod(output.shape)), np.uint8)
        model.buffers.append(buffer)
        output.buffer = len(model.buffers) - 1
    elif kind == "scale":
        output.quantization.scale = np.array([-9.292099e-12], np.float32)
    else:
        output.quantization.zeroPoint = np.array([2197815300], np.int64)
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize(
    "kind, message",
    [
        ("scale", "quantization scales that are not positive normal numbers"),
        ("zero_point", "zero point outside the INT8 range"),
        ("strides", "(STRIDED_SLICE) lacks required input 3"),
        ("split", "(SPLIT) says 419430403 outputs but has"),
        ("constant_output", "writes into constant tensor"),
    ],
)
def test_values_that_crash_litert_are_refused_before_allocation(kind, message, convert_tiny, tmp_path):
    from ondevice.errors import ArtifactError
    from ondevice.tflite_check import check_model_values

    artifact = convert_tiny("int8")
    content = crashing_value((pathlib.Path(artifact) / "model.tflite").read_bytes(), kind)
    with pytest.raises(ArtifactError, match=re.escape(message)):
        check_model_values(model_content=content)  # pure Python: safe in this process
    bad = _with_model(artifact, tmp_path / "bad", content)
    cases = [{"mutation": None, "argv": argv} for argv in (["translate", "{artifact}", "I am hungry."], ["isolation", "{artifact}"])]
    for result in run_driver([{"artifact": str(bad), "work": str(tmp_path), "cases": cases}], timeout=300):
        assert problem(result) is None and result["code"] == 2 and message in result["stderr"], result


def test_check_artifact_in_subprocess(convert_tiny, tmp_path):
    from ondevice.errors import ArtifactError
    from ondevice.isolation import check_artifact_in_subprocess, run_checked

    good = convert_tiny("int8")
    check_artifact_in_subprocess(good)
    check_artifact_in_subprocess(good, memory_limit_bytes=CHILD_MEMORY_BYTES, num_threads=None)
    bad = tmp_path / "bad"
    write_mutated_artifact(good, bad, ["truncate", 1000])
    with pytest.raises(ArtifactError, match=r"model.tflite: not a loadable .tflite model"):
        check_artifact_in_subprocess(str(bad))
    with pytest.raises(ArtifactError, match="took more than 0.01 s"):
        check_artifact_in_subprocess(good, timeout=0.01)
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    with pytest.raises(ArtifactError, match=r"crashed the process that loaded it \(SIGSEGV\)"):
        run_checked(crash, "x", 60)
    with pytest.raises(ArtifactError, match=r"exit status 3\): boom"):
        run_checked([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"], "x", 60)


# --- What a manifest claims, checked before anything is allocated from it ---


def _tensors(manifest, name):
    for signature in manifest["signatures"].values():
        for side in ("inputs", "outputs"):
            for t in signature[side]:
                if t["name"] == name:
                    yield t


def _set_cache_length(manifest, length, signature="decode_step"):
    if signature == "decode_step":
        manifest["max_target_length"] = length
    for t in manifest["signatures"][signature]["inputs"]:
        if t.get("time_axis") is not None:
            t["shape"][t["time_axis"]] = length


CLAIMS = {
    "transformer_int8": [
        ("max_target_length 10^9", lambda m: m.update(max_target_length=10**9), "max_target_length must be an integer from 1 to 4096"),
        ("a 10^9-token vocabulary", lambda m: [t["shape"].__setitem__(1, 10**9) for t in _tensors(m, "logits")], "claims a 1000000000-token vocabulary"),
        ("max_target_length over the cache", lambda m: m.update(max_target_length=100), "longer than decode_step's cache"),
        ("caches the model does not have", lambda m: _set_cache_length(m, 4096), "in the model but float32"),
        ("another token dtype", lambda m: [t.update(dtype="int64") for t in _tensors(m, "token")], "is int32 [-1] in the model but int64 [-1]"),
        ("another logits width", lambda m: [t["shape"].__setitem__(1, 300) for t in _tensors(m, "logits")], "in the model but float32 [-1, 300]"),
        ("a batch axis out of range", lambda m: [t.update(batch_axis=7) for t in _tensors(m, "source_bias")], "batch_axis 7"),
        ("a cache over the row bound", lambda m: [t["shape"].__setitem__(1, 10**6) for t in _tensors(m, "self_key_0")], "elements per batch row"),
        ("an unknown dtype", lambda m: [t.update(dtype="complex128") for t in _tensors(m, "token")], "dtype 'complex128'"),
        ("a model file outside", lambda m: m.update(model_file="../model.tflite"), "model_file must be a file name"),
        ("an absolute model file", lambda m: m.update(model_file="/etc/passwd"), "model_file must be a file name"),
        ("a special token past 10^6", lambda m: m["special_tokens"].update(end=10**9), "special_tokens.end must be from 0"),
        ("a special token past the logits", lambda m: m["special_tokens"].update(end=100000), "not below the logits"),
        ("caches out of order", lambda m: _set_cache_length(m, 30, "decode_step_16"), "from the shortest cache to the longest"),
    ],
    "lstm_int8": [
        ("max_source_length over the encoder's input", lambda m: m.update(max_source_length=100), "longer than the encoder's fixed input"),
    ],
    "text_vae_int8": [
        ("a vocabulary outside", lambda m: m["tokenizer"].update(vocabulary="../../vocab.txt"), "tokenizer.vocabulary must be a file name"),
        ("another latent_dim", lambda m: m.update(latent_dim=9), "latent_dim"),
    ],
    "image_vae_int8": [
        ("a 10^6-pixel-high image", lambda m: m["image"].update(height=10**6), "image.height must be an integer from 1 to 4096"),
        ("another image size", lambda m: m["image"].update(height=16), "image says"),
        ("a negative sigma", lambda m: m["image"].update(gaussian_sigma=-1), "gaussian_sigma"),
    ],
}


@pytest.mark.parametrize("name, claim", [(n, c[0]) for n, cases in CLAIMS.items() for c in cases])
def test_manifest_claims_are_checked_before_allocation(name, claim, convert_tiny, convert_vae, tmp_path):
    from ondevice.errors import ArtifactError
    from ondevice.isolation import exercise

    edit, message = next((e, m) for c, e, m in CLAIMS[name] if c == claim)
    bad = tmp_path / "bad"
    shutil.copytree(ARTIFACTS[name](convert_tiny, convert_vae), bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    edit(manifest)
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=re.escape(message)):
        exercise(str(bad))


def test_an_oversized_manifest_is_refused_unread(tmp_path):
    from ondevice.errors import ArtifactError
    from ondevice.manifest import MAX_MANIFEST_BYTES, load_manifest

    (tmp_path / "manifest.json").write_bytes(b"{" + b" " * MAX_MANIFEST_BYTES + b"}")
    with pytest.raises(ArtifactError, match="a manifest has at most"):
        load_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text('{"format_version": ' + "9" * 5000 + "}")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_manifest(str(tmp_path))


# --- Hypothesis: any JSON value in any manifest field ---

BOUNDARY_INTS = [0, 1, -1, 2, 3, 7, 8, 16, 24, 4096, 4097, 2**20, 2**24 + 1, 2**31, 2**63, -(2**63), 10**9, 10**30]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.sampled_from(BOUNDARY_INTS) | st.integers() | st.floats()
    | st.sampled_from(["", "..", "../vocab.txt", "/etc/passwd", "model.tflite", "float32", "int32", "append", "replace",
                       "state", "memory", "logits", "token", "step", "decode_step", "encode", "wordpiece"])  # fmt: skip
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
SKIPPED = ("ops", "xnnpack", "model_config", "parity", "languages", "quantization")  # not read by the runtime


def _paths(value, prefix=()):
    """Every path (keys / indices) into a JSON value, the root included."""
    yield prefix
    if prefix and prefix[0] in SKIPPED:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, prefix + (i,))


def _mutate(manifest, data):
    """1 to 3 edits: a value replaced by any JSON value, a key or item removed, a key added."""
    manifest = copy.deepcopy(manifest)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(list(_paths(manifest))), label="path")
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]), label="action")
        if not path:
            if action == "replace":
                return data.draw(JSON_VALUES, label="manifest")
            continue
        parent = manifest
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace":
            parent[path[-1]] = data.draw(JSON_VALUES, label="value")
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][data.draw(st.text(max_size=12), label="key")] = data.draw(JSON_VALUES, label="value")
        elif isinstance(parent[path[-1]], list):
            parent[path[-1]].append(data.draw(JSON_VALUES, label="value"))
    return manifest


@pytest.fixture(scope="module")
def fuzz_bases(convert_tiny, convert_vae, tmp_path_factory):
    """name -> (a copy of the artifact to rewrite manifests in, its manifest dict)."""
    bases = {}
    for name in ("transformer_int8", "lstm_int8", "text_vae_int8", "image_vae_int8"):
        directory = tmp_path_factory.mktemp("manifest_fuzz") / name
        shutil.copytree(ARTIFACTS[name](convert_tiny, convert_vae), directory)
        bases[name] = (directory, json.loads((directory / "manifest.json").read_text()))
    return bases


def _use(manifest):
    """What the runtime reads from a validated manifest, read: it must not fail."""
    for name in manifest.data["signatures"]:
        for side in ("inputs", "outputs"):
            manifest.tensors(name, side)
    manifest.path("model_file")
    if manifest.task != "image_vae":
        manifest.decoder_tensors()
        assert manifest.decode_signatures[-1] == "decode_step"
        assert 1 <= manifest.max_source_length and 1 <= manifest.max_target_length
        assert manifest.special_tokens["end"] >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_json_in_any_manifest_field_validates_or_is_an_artifact_error(fuzz_bases, data):
    from ondevice.errors import ArtifactError
    from ondevice.manifest import Manifest, validate

    _, base = fuzz_bases[data.draw(st.sampled_from(sorted(fuzz_bases)), label="artifact")]
    manifest = _mutate(base, data)
    try:
        validate(manifest)
    except ArtifactError:
        return
    _use(Manifest(manifest, "/nonexistent"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_mutated_manifests_load_and_run_or_are_artifact_errors(fuzz_bases, data):
    """`load_manifest` and then the runtime (every signature, in this process)
    on a mutated manifest next to the real model: `ArtifactError` or success."""
    from ondevice.errors import ArtifactError
    from ondevice.isolation import exercise
    from ondevice.manifest import load_manifest

    directory, base = fuzz_bases[data.draw(st.sampled_from(sorted(fuzz_bases)), label="artifact")]
    manifest = _mutate(base, data)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    try:
        _use(load_manifest(str(directory)))
        exercise(str(directory))
    except ArtifactError:
        pass


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_manifest_json_are_an_artifact_error(fuzz_bases, content):
    from ondevice.errors import ArtifactError
    from ondevice.manifest import load_manifest

    directory, _ = fuzz_bases["image_vae_int8"]
    (directory / "manifest.json").write_bytes(content)
    with pytest.raises(ArtifactError):
        load_manifest(str(directory))


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("drive", help="(internal) run a jobs file, one JSON result per line on stdout")
    p.add_argument("jobs")
    p = sub.add_parser("fuzz", help="fuzz artifact directories by hand and print outcome counts")
    p.add_argument("artifacts", nargs="+")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=CHILD_TIMEOUT_S)
    p.add_argument("--log", help="write every result as a JSON line here")
    args = parser.parse_args(argv)
    if args.command == "drive":
        sys.path.insert(0, str(REPO_ROOT))
        _warm_imports()
        with open(args.jobs, encoding="utf-8") as f:
            drive(json.load(f), sys.stdout)
        return 0
    log = open(args.log, "w", encoding="utf-8") if args.log else None
    for artifact in args.artifacts:
        with tempfile.TemporaryDirectory(prefix="fuzz_") as work:
            job = fuzz_job(artifact, work, args.n, args.seed)
            job["timeout"] = args.timeout
            started = time.monotonic()
            results = run_driver([job], timeout=args.n * (args.timeout + 5) + 60)
        for r in results:
            if log:
                log.write(json.dumps(r) + "\n")
            why = problem(r)
            if why:
                print(f"  {why}: mutation {json.dumps(r['mutation'])} argv {r['argv'][0]}\n    {r['stderr'].strip()[-1500:]}")
        print(f"{artifact}: {len(results)} mutations in {time.monotonic() - started:.0f} s: {summarize(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
