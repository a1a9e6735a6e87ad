"""The converted model as a step model, run by the LiteRT interpreter.

`ai_edge_litert` is the runtime; the legacy `tflite_runtime` (frozen at
2.14, 2023) is tried only if LiteRT is not installed, and a clear error says
so when it cannot load a file from a current converter.
"""

import threading

import numpy as np

from ondevice.errors import ArtifactError


def load_interpreter(model_path=None, model_content=None, num_threads=None):
    """A LiteRT `Interpreter` for a `.tflite` file (or bytes).

    Args:
        model_path: str. Path of the `.tflite` file.
        model_content: bytes. The model itself (instead of a path).
        num_threads: int or None. CPU threads for the kernels.

    Returns:
        An `Interpreter` with its tensors allocated.
    """
    legacy = False
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter

            legacy = True
        except ImportError:
            raise ArtifactError(
                "no LiteRT runtime: install it with `pip install ai-edge-litert` "
                "(or `pip install .[edge]`)"
            ) from None
    try:
        interpreter = Interpreter(model_path=model_path, model_content=model_content, num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        where = model_path or "model bytes"
        hint = (
            " (tflite_runtime stopped at 2.14 and cannot run files from current converters; "
            "install ai-edge-litert)"
            if legacy
            else ""
        )
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArtifactError(f"{where}: not a loadable .tflite model: {first_line}{hint}") from None
    return interpreter


class LiteRTStepModel:
    """`encode` / `decode_step` signatures of a converted model, numpy in and out.

    Safe to share between threads (calls are serialized by a lock).

    Args:
        manifest: an `ondevice.manifest.Manifest`.
        num_threads: int or None. CPU threads.
        model_content: bytes or None. Use these bytes instead of the
            manifest's `model_file` (conversion-time verification).
    """

    def __init__(self, manifest, num_threads=None, model_content=None):
        self.manifest = manifest
        path = None if model_content is not None else manifest.path("model_file")
        self.interpreter = load_interpreter(path, model_content, num_threads)
        available = set(self.interpreter.get_signature_list())
        for name in ("encode", "decode_step"):
            if name not in available:
                raise ArtifactError(
                    f"model has no {name!r} signature (has {sorted(available)}); "
                    "convert it with `zoo convert`"
                )
        # One interpreter is not safe to call from several threads at once. Each
        # call runs under a lock (outputs are copies, so threads interleave at
        # step granularity); one interpreter per thread was not faster here
        # (README) and would hold the weights once per thread.
        self._lock = threading.Lock()
        self._encode = self.interpreter.get_signature_runner("encode")
        self._decode = self.interpreter.get_signature_runner("decode_step")
        self.decoder_tensors = manifest.decoder_tensors()
        inputs = manifest.tensors("decode_step", "inputs")
        self._token_name = next(t.name for t in inputs if t.role == "token")
        self._step_name = next(t.name for t in inputs if t.role == "step")
        self._source_name = next(t.name for t in manifest.tensors("encode", "inputs"))
        self._dtypes = {t.name: np.dtype(t.dtype) for t in inputs}
        expected = {t.name for t in inputs}
        actual = set(self._decode.get_input_details())
        if expected != actual:
            raise ArtifactError(
                f"decode_step inputs in the model {sorted(actual)} differ from manifest.json {sorted(expected)}"
            )

    @property
    def logits_size(self):
        """int or None. Last dimension of `decode_step`'s logits (the target vocabulary size)."""
        name = next((t.name for t in self.manifest.tensors("decode_step", "outputs") if t.role == "logits"), None)
        details = self._decode.get_output_details().get(name)
        if details is None:
            raise ArtifactError(f"decode_step has no logits output {name!r} (manifest.json and model.tflite disagree)")
        size = int(details["shape_signature"][-1]) if len(details["shape_signature"]) else -1
        return size if size > 0 else None

    def encode(self, source_ids):
        """Run `encode` on int32 (batch, src) ids; returns memory + initial state."""
        feeds = {self._source_name: np.asarray(source_ids, np.int32)}
        with self._lock:
            return self._encode(**feeds)

    def decode_step(self, token, step, tensors):
        """Run one `decode_step`; returns `logits` and the next state."""
        feeds = {t.name: tensors[t.name] for t in self.decoder_tensors}
        feeds[self._token_name] = np.asarray(token, np.int32)
        feeds[self._step_name] = np.asarray(step, self._dtypes[self._step_name])
        with self._lock:
            return self._decode(**feeds)


class LiteRTSignatures:
    """Every signature of a converted model, called by name with numpy arrays.

    Inputs are cast to the dtypes the manifest gives; outputs come back as a
    dict of arrays. The same `run(name, **inputs)` interface is offered for a
    Keras model by `zoo.keras_signatures.KerasSignatures`, so on-device code
    (`ondevice.vae`) runs unchanged on both.

    Args:
        manifest: an `ondevice.manifest.Manifest`.
        num_threads: int or None. CPU threads.
        model_content: bytes or None. Use these bytes instead of the
            manifest's `model_file`.
    """

    def __init__(self, manifest, num_threads=None, model_content=None):
        self.manifest = manifest
        path = None if model_content is not None else manifest.path("model_file")
        self.interpreter = load_interpreter(path, model_content, num_threads)
        available = set(self.interpreter.get_signature_list())
        self._runners, self._dtypes = {}, {}
        self._lock = threading.Lock()  # one interpreter's runners are not thread-safe
        for name in manifest.data["signatures"]:
            if name not in available:
                raise ArtifactError(f"model has no {name!r} signature (has {sorted(available)}); convert it with `zoo convert`")
            self._runners[name] = self.interpreter.get_signature_runner(name)
            self._dtypes[name] = {t.name: np.dtype(t.dtype) for t in manifest.tensors(name, "inputs")}
            actual = set(self._runners[name].get_input_details())
            if actual != set(self._dtypes[name]):
                raise ArtifactError(
                    f"{name} inputs in the model {sorted(actual)} differ from manifest.json {sorted(self._dtypes[name])}"
                )

    def run(self, name, **inputs):
        """Run signature `name`; returns its outputs by name."""
        dtypes = self._dtypes[name]
        with self._lock:
            return self._runners[name](**{k: np.asarray(v, dtypes[k]) for k, v in inputs.items()})
