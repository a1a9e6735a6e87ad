"""Load and run an untrusted artifact in a child process first.

LiteRT verifies the flatbuffer structure of a model file before building an
interpreter (`VerifyAndBuildFromFile`), and this runtime turns every error
LiteRT reports, and every output that does not match the manifest, into an
`ArtifactError`. But LiteRT's kernels trust the values inside a structurally
valid file (quantization parameters, shapes, indices, constant data):
fuzzing found values that crash the process in `allocate_tensors` (SIGSEGV),
which `ondevice.tflite_check` now refuses first; others may remain, and a
malicious file could also exhaust memory (README, "Bad input policy").

`check_artifact_in_subprocess(path)` loads the artifact and runs each of its
signatures in a child process (`python -m ondevice.isolation ARTIFACT`, which
exits 0, or 2 with a one-line error) and raises `ArtifactError` here if the
child fails, crashes with a signal or runs out of time, so an app can vet a
downloaded model once before loading it in its own process.
"""

import os
import signal
import subprocess
import sys

import numpy as np

from ondevice.errors import ArtifactError, ZooError

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def exercise(artifact_dir, num_threads=None):
    """Load `artifact_dir` and run every signature once (in this process).

    Translation: `encode` on two sentences of unknown tokens, then
    `max_target_length` steps (every `decode_step` variant), a beam reorder in
    place and a batch shrink (buffers re-allocated). Text VAE: `encode`,
    `decode_init` and `max_target_length` steps. Image VAE: `encode`, `decode`.

    Raises:
        ArtifactError: the artifact cannot be loaded or a signature fails.
    """
    from ondevice.decoder_state import start_decoding
    from ondevice.manifest import load_manifest

    manifest = load_manifest(artifact_dir)
    if manifest.task == "image_vae":
        from ondevice.vae import ImageVAERunner

        vae = ImageVAERunner.from_artifact(artifact_dir, num_threads=num_threads)
        vae.decode(vae.encode(np.full((2, *vae.image_shape), 0.5, np.float32))[0])
        return
    special = manifest.special_tokens
    if manifest.task == "text_vae":
        from ondevice.vae import SentenceVAERunner

        vae = SentenceVAERunner.from_artifact(artifact_dir, num_threads=num_threads)
        z_mean, _ = vae.encode_ids([[special["unk"]] * 3, [special["unk"]]])
        model, source = vae.step_model, z_mean
    else:
        from ondevice.translator import Translator

        model = Translator.from_artifact(artifact_dir, num_threads=num_threads).model
        source = np.full((2, min(3, manifest.max_source_length)), special["unk"], np.int32)
    steps = manifest.max_target_length
    state = start_decoding(model, source, steps)
    try:
        token = np.full((2,), special["start"], np.int32)
        for step in range(steps):
            logits = state.step(token[: state.batch_size])
            token = np.argmax(logits, axis=-1).astype(np.int32)
            if step == 0:
                state.select([1, 0])  # beam reorder (in place)
            elif step == 1:
                state.select([0])  # a sentence leaves (buffers shrink)
    finally:
        close = getattr(state, "close", None)
        if close is not None:
            close()


def check_artifact_in_subprocess(path, timeout=120.0, num_threads=1, memory_limit_bytes=None):
    """Load and run the artifact at `path` once in a child process.

    Args:
        path: str. A converted model directory.
        timeout: float. Seconds before the child is killed.
        num_threads: int or None. CPU threads of the child's interpreter.
        memory_limit_bytes: int or None. Address-space limit of the child
            (`RLIMIT_AS`, POSIX): a model that would exhaust memory fails there.

    Raises:
        ArtifactError: the child reported an error (its message), died by a
            signal (e.g. a segmentation fault inside LiteRT), exited otherwise
            than 0, or ran out of time.
    """
    command = [sys.executable, "-m", "ondevice.isolation", os.fspath(path)]
    if num_threads is not None:
        command += ["--threads", str(int(num_threads))]
    if memory_limit_bytes is not None:
        command += ["--memory-limit", str(int(memory_limit_bytes))]
    run_checked(command, os.fspath(path), timeout)


def run_checked(command, what, timeout):
    """Run `command` (a child that exits 0, or 2 with a one-line error); raise
    `ArtifactError` about `what` unless it exits 0."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ArtifactError(f"{what}: loading and running the model took more than {timeout:g} s (child killed)") from None
    except OSError as e:
        raise ArtifactError(f"{what}: could not start a process to check the model ({e})") from None
    if result.returncode == 0:
        return
    lines = [line.strip() for line in result.stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = f"signal {-result.returncode}"
        raise ArtifactError(f"{what}: the model crashed the process that loaded it ({name}); do not load it")
    prefix = "ondevice.isolation: error: "
    if result.returncode == 2 and last.startswith(prefix):
        raise ArtifactError(last[len(prefix) :])
    detail = f": {last[:300]}" if last else ""
    raise ArtifactError(f"{what}: checking the model failed (exit status {result.returncode}){detail}")


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ondevice.isolation", description="Load and run an artifact once.")
    parser.add_argument("artifact")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory-limit", type=int, default=None, help="address-space limit in bytes (RLIMIT_AS)")
    args = parser.parse_args(argv)
    if args.memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))
    try:
        exercise(args.artifact, num_threads=args.threads)
    except (ZooError, MemoryError) as e:
        message = str(e) if isinstance(e, ZooError) else f"{args.artifact}: out of memory loading or running the model"
        print(f"ondevice.isolation: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
