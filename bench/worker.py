"""One measurement in a fresh process: `python -m bench.worker SPEC.json RESULT.json`.

Each measurement runs in its own process (`bench.common.run_worker`),
which reports its own peak resident memory (`VmHWM`), so every figure
belongs to one decoder alone; a LiteRT measurement never imports
TensorFlow.

Spec kinds:
    `decode`: `decoder` (`litert` | `keras_cached` | `keras_tutorial` |
        `ctranslate2`), `path`, `compute_type`, `threads`, `sentences`
        (source id lists), `beams`, `batch_size`, `warmup`.
    `vae`: see `measure_vae`.
    `op_profile`: see `measure_op_profile`.
    `train`: see `bench.throughput.measure_training`.
"""

import json
import os
import sys
import time

import numpy as np

from ondevice.decoder_state import start_decoding


def _limit_threads(threads):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def _tensorflow(threads):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def make_decoder(spec):
    """The decoder a `decode` spec names (imports only what it needs)."""
    kind, threads = spec["decoder"], spec["threads"]
    if kind == "litert":
        from bench.baselines import LiteRTDecoder

        return LiteRTDecoder(spec["path"], threads=threads)
    if kind == "ctranslate2":
        from converters.ctranslate2_converter import CTranslate2Decoder

        return CTranslate2Decoder(
            spec["path"], compute_type=spec["compute_type"], threads=threads, max_decoding_length=spec["max_steps"]
        )
    _tensorflow(threads)
    from bench.baselines import KerasCachedDecoder, KerasTutorialDecoder
    from zoo.training import load_run

    model = load_run(spec["path"])[0]
    if kind == "keras_tutorial_eager":
        return KerasTutorialDecoder(model, compiled=False)
    return {"keras_cached": KerasCachedDecoder, "keras_tutorial": KerasTutorialDecoder}[kind](model)


class TimedStepModel:
    """A step model proxy that adds up the time spent encoding and in decode steps.

    Decoding goes through `start` (the model's own runtime-owned state where
    it has one), so the timings are those of the device runtime.
    """

    def __init__(self, model):
        self.model, self.decoder_tensors = model, model.decoder_tensors
        self.reset()

    def reset(self):
        self.encode_seconds, self.decode_seconds, self.decode_calls = 0.0, 0.0, 0

    def start(self, source_ids, max_steps):
        begin = time.perf_counter()
        state = start_decoding(self.model, source_ids, max_steps)
        self.encode_seconds += time.perf_counter() - begin
        return _TimedState(state, self)

    def encode(self, source_ids):
        begin = time.perf_counter()
        out = self.model.encode(source_ids)
        self.encode_seconds += time.perf_counter() - begin
        return out

    def decode_step(self, token, step, tensors):
        begin = time.perf_counter()
        out = self.model.decode_step(token, step, tensors)
        self.decode_seconds += time.perf_counter() - begin
        self.decode_calls += 1
        return out


class _TimedState:
    """A decoding state whose `step` calls are timed by a `TimedStepModel`."""

    def __init__(self, state, timer):
        self.state, self.timer = state, timer

    def step(self, token):
        begin = time.perf_counter()
        logits = self.state.step(token)
        self.timer.decode_seconds += time.perf_counter() - begin
        self.timer.decode_calls += 1
        return logits

    def select(self, rows, memory_rows=None):
        self.state.select(rows, memory_rows)

    def close(self):
        self.state.close()


def invoke_overhead(step_model, source_ids, calls=100):
    """Split one LiteRT decode step (batch 1) into the runtime's work and `Invoke`.

    Times a whole `LiteRTDecoderState.step` (write the token and step,
    invoke, write the new state rows into the input buffers, copy the
    logits out) against `Invoke` alone, at position 4 of a real sentence.
    """
    state = step_model.start(np.asarray(source_ids, np.int32), step_model.manifest.max_target_length)
    try:
        token = np.asarray([2], np.int32)
        for _ in range(4):  # a few real steps: a partly filled cache
            token = np.argmax(state.step(token), -1).astype(np.int32)
        start = time.perf_counter()
        for _ in range(calls):
            state.length = 4
            state.step(token)
        call_ms = 1000 * (time.perf_counter() - start) / calls
        start = time.perf_counter()
        for _ in range(calls):
            state.invoke()
        invoke_ms = 1000 * (time.perf_counter() - start) / calls
        moved, signature = state.step_bytes, state.signature
    finally:
        state.close()
    ops = step_model.manifest.data.get("ops", {}).get(signature, {})
    return {
        "call_ms": call_ms,
        "invoke_only_ms": invoke_ms,
        "bytes_copied_per_call": moved,
        "decode_step_ops": sum(ops.values()) if isinstance(ops, dict) else None,
        "signature": signature,
    }


def _percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _steps(outputs, max_steps):
    """Decode steps spent: generated tokens plus the end token when reached."""
    return sum(min(len(o) + 1, max_steps) for o in outputs)


def measure_decode(spec):
    """Latency per sentence (batch 1) and per token, and at a larger batch."""
    load_start = time.perf_counter()
    decoder = make_decoder(spec)
    sentences, max_steps = spec["sentences"], spec["max_steps"]
    result = {"load_seconds": time.perf_counter() - load_start, "beams": {}}
    timed = None
    if spec["decoder"] == "litert":
        timed = decoder.step_model = TimedStepModel(decoder.step_model)
    for beam in spec["beams"]:
        for ids in sentences[: spec["warmup"]]:  # first calls trace / allocate
            decoder.translate_ids([ids], beam_size=beam)
        seconds, outputs = [], []
        if timed:
            timed.reset()
        for ids in sentences:
            start = time.perf_counter()
            outputs += decoder.translate_ids([ids], beam_size=beam)
            seconds.append(time.perf_counter() - start)
            if spec.get("max_seconds") and len(seconds) >= 5 and sum(seconds) > spec["max_seconds"]:
                break  # a very slow decoder: the first sentences of the sample only
        if timed and beam == 1:
            total = sum(seconds)
            result["profile"] = {
                "decode_step_share": timed.decode_seconds / total,
                "encode_share": timed.encode_seconds / total,
                "search_share": 1 - (timed.decode_seconds + timed.encode_seconds) / total,
                "ms_per_decode_step": 1000 * timed.decode_seconds / max(1, timed.decode_calls),
            }
            try:
                result["profile"]["single_call"] = invoke_overhead(timed.model, [sentences[len(sentences) // 2]])
            except AttributeError as e:  # private interpreter API of another LiteRT version
                result["profile"]["single_call"] = {"error": str(e)}
        steps = _steps(outputs, max_steps)
        entry = {
            "sentences": len(seconds),
            "p50_ms": 1000 * _percentile(seconds, 50),
            "p95_ms": 1000 * _percentile(seconds, 95),
            "mean_ms": 1000 * sum(seconds) / len(seconds),
            "sentence_ms": [round(1000 * x, 3) for x in seconds],
            "ms_per_token": 1000 * sum(seconds) / steps,
            "steps": steps,
            "outputs": outputs,
        }
        if beam == 1 and spec.get("batch_size", 1) > 1 and len(seconds) == len(sentences):
            batch = spec["batch_size"]
            order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))  # as `Translator` batches
            decoder.translate_ids([sentences[i] for i in order[:batch]])  # warm up this batch shape
            start, batched = time.perf_counter(), []
            for first in range(0, len(order), batch):
                batched += decoder.translate_ids([sentences[i] for i in order[first : first + batch]])
            total = time.perf_counter() - start
            entry["batch"] = {
                "batch_size": batch,
                "ms_per_sentence": 1000 * total / len(sentences),
                "ms_per_token": 1000 * total / _steps(batched, max_steps),
            }
        result["beams"][str(beam)] = entry
    return result


# VAEs (numpy + LiteRT for `litert`; TensorFlow only for `keras`) ---------------


def _load_vae(spec):
    if spec["decoder"] == "litert":
        from ondevice.vae import ImageVAERunner, SentenceVAERunner

        cls = SentenceVAERunner if spec["task"] == "text_vae" else ImageVAERunner
        return cls.from_artifact(spec["path"], num_threads=spec["threads"], batch_size=spec["batch_size"])
    from zoo.vae_evaluation import load_vae

    vae = load_vae(spec["path"])[0]
    vae.batch_size = spec["batch_size"]
    return vae


def _vae_stats(seconds):
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "mean_ms": float(ms.mean())}


def measure_vae(spec):
    """Latency of one VAE decoder: encode and round trip at batch 1, and batched.

    Text: the round trip is encode + greedy decode from the posterior mean,
    also reported per decode step. Images: encode + decode of one image.
    """
    from zoo.vae_evaluation import load_examples

    start = time.perf_counter()
    vae = _load_vae(spec)
    result = {"load_seconds": time.perf_counter() - start}
    examples = load_examples(spec["task"], spec["data"], "test", spec["count"])[0]
    text = spec["task"] == "text_vae"
    if text:
        vae.step_model = timed = TimedStepModel(vae.step_model)
    for x in examples[: spec["warmup"]]:  # first calls trace / allocate
        vae.reconstruct([x] if text else x[None])
    encode, roundtrip = [], []
    if text:
        timed.reset()
    for x in examples:
        batch = [x] if text else x[None]
        t0 = time.perf_counter()
        z = vae.encode(batch)[0]
        t1 = time.perf_counter()
        vae.decode(z)
        t2 = time.perf_counter()
        encode.append(t1 - t0)
        roundtrip.append(t2 - t0)
    result.update(examples=len(examples), encode=_vae_stats(encode), roundtrip=_vae_stats(roundtrip))
    if text:
        result["ms_per_decode_step"] = 1000 * timed.decode_seconds / max(1, timed.decode_calls)
        result["decode_steps_per_sentence"] = timed.decode_calls / len(examples)
    batch_input = list(examples) if text else np.asarray(examples)
    vae.reconstruct(batch_input[: spec["batch_size"]])  # warm up the batch shape
    start = time.perf_counter()
    vae.reconstruct(batch_input)
    result["batch"] = {"batch_size": spec["batch_size"], "ms_per_example": 1000 * (time.perf_counter() - start) / len(examples)}
    return result


def measure_op_profile(spec):
    """Per-operator times of signatures of a `.tflite` file (`bench.op_profile`).

    Spec: `path` (the `.tflite` file), `threads`, `runs`, and `cases`: a list
    of `{"signature", "batch", "seq_len"}`; placeholder inputs (token 1,
    step 0, zero memory and caches) of that batch and source length.

    Returns:
        `{"cases": [...]}`, each case with `total_ms`, `invoke_ms`,
        `profiled_ms`, `unattributed_ms` and `by_op` (op type, source, ms,
        count), slowest first.
    """
    from bench.op_profile import default_inputs, profile_signature, signature_input_details

    cases = []
    for case in spec["cases"]:
        details = signature_input_details(spec["path"], case["signature"])
        inputs = default_inputs(details, batch=case["batch"], seq_len=case["seq_len"])
        result = profile_signature(spec["path"], case["signature"], inputs, runs=spec["runs"], num_threads=spec["threads"])
        keys = ("total_ms", "total_ms_median", "invoke_ms", "profiled_ms", "unattributed_ms")
        cases.append(
            {
                **case,
                **{k: result.get(k) for k in keys},
                "by_op": [{k: r.get(k) for k in ("op", "source", "ms", "count")} for r in result["by_op"]],
            }
        )
    return {"cases": cases}


def peak_rss_mb():
    """This process's peak resident set size (`VmHWM`), in MiB.

    Read in the worker itself: `ru_maxrss` of a forked child also counts the
    parent's pages at fork time, so it would report TensorFlow's memory
    for every worker.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _error_line(error):
    """The informative line of an exception (TF errors start with a generic one)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = next((x for x in lines if "XLA" in x), None) or (lines[0] if lines else "")
    return f"{type(error).__name__}: {line[:300]}"


def main(argv=None):
    from zoo import atomic

    spec_path, result_path = (argv or sys.argv[1:])[:2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    _limit_threads(spec.get("threads", 1))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if spec["kind"] == "decode":
            result = measure_decode(spec)
        elif spec["kind"] == "op_profile":
            result = measure_op_profile(spec)
        elif spec["kind"] == "vae":
            if spec["decoder"] == "keras":
                _tensorflow(spec.get("threads", 1))
            result = measure_vae(spec)
        else:
            _tensorflow(spec.get("threads", 1))
            from bench.throughput import measure_training

            result = measure_training(spec)
    except Exception as e:
        atomic.write_json(result_path, {"error": _error_line(e)})
        raise
    result["tensorflow_imported"] = "tensorflow" in sys.modules
    result["peak_rss_mb"] = peak_rss_mb()
    atomic.write_json(result_path, result)


if __name__ == "__main__":
    main()
