"""The converted model as a step model, run by the LiteRT interpreter.

`ai_edge_litert` is the runtime; the legacy `tflite_runtime` (frozen at
2.14, 2023) is tried only if LiteRT is not installed, and a clear error says
so when it cannot load a file from a current converter.
"""

import contextlib
import re
import threading

import numpy as np

from ondevice.decoder_state import time_index
from ondevice.errors import ArtifactError, ZooError
from ondevice.native_logs import LITERT_INFO, filtered_stderr
from ondevice.signature_step_model import SignatureStepModel
from ondevice.tflite_check import check_model_values

# What a corrupted model (or one that does not match its manifest) raises
# from inside LiteRT or from the numpy code reading its outputs.
MODEL_FAILURES = (RuntimeError, ValueError, TypeError, KeyError, IndexError, OverflowError, SystemError, MemoryError)


# LiteRT joins the messages of one failure without separators
# ("...in XNNPACK delegateunsupported datatype...tensor 30Node number 102...").
_JOINED_MESSAGES = re.compile(r"(?<=[^\s;:(])(?=unsupported |failed to |Node number |AllocateTensors\(\)|tflite/)")


def error_text(e, limit=300):
    """A one-line, bounded description of a native error."""
    text = _JOINED_MESSAGES.sub("; ", " ".join(str(e).split())) or type(e).__name__
    return text if len(text) <= limit else text[:limit] + "..."


@contextlib.contextmanager
def signature_errors(where, signature):
    """Turn any failure while running `signature` into an `ArtifactError`
    naming the model (`where`) and the signature."""
    try:
        yield
    except ZooError:
        raise
    except MODEL_FAILURES as e:
        raise ArtifactError(f"{where}: signature {signature!r} failed: {error_text(e)}") from None


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
        with filtered_stderr(LITERT_INFO):  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            interpreter = Interpreter(model_path=model_path, model_content=model_content, num_threads=num_threads)
            # The file passed LiteRT's flatbuffer verifier; refuse the values its kernels crash on.
            check_model_values(model_path, model_content)
            interpreter.allocate_tensors()
    except MODEL_FAILURES as e:
        where = model_path or "model bytes"
        hint = (
            " (tflite_runtime stopped at 2.14 and cannot run files from current converters; "
            "install ai-edge-litert)"
            if legacy
            else ""
        )
        raise ArtifactError(f"{where}: not a loadable .tflite model: {error_text(e)}{hint}") from None
    return interpreter


def _describe(dtype, shape):
    return f"{np.dtype(dtype).name} {list(shape)}"


def check_model_signatures(interpreter, manifest, where):
    """The model's signatures are the manifest's: same names, and every
    input and output with the same name, dtype and shape (-1 = dynamic).

    The runtime sizes its buffers from the manifest, so this runs before
    any of them is allocated. Returns the signature runners by name.
    """
    try:
        available = set(interpreter.get_signature_list())
        for name in sorted(manifest.data["signatures"], key=lambda n: n != "decode_step"):  # the telling one first
            if name not in available:
                raise ArtifactError(
                    f"{where}: model has no {name!r} signature (has {sorted(available)}); convert it with `zoo convert`"
                )
        runners = {}
        for name in manifest.data["signatures"]:
            runners[name] = runner = interpreter.get_signature_runner(name)
            for side, details in (("inputs", runner.get_input_details()), ("outputs", runner.get_output_details())):
                described = {t.name: t for t in manifest.tensors(name, side)}
                if set(details) != set(described):
                    raise ArtifactError(
                        f"{where}: {name} {side} in the model {sorted(details)} differ from manifest.json {sorted(described)}"
                    )
                for tensor_name, d in details.items():
                    t = described[tensor_name]
                    actual = (np.dtype(d["dtype"]).name, [int(x) for x in d["shape_signature"]])
                    if actual != (t.dtype, list(t.shape)):
                        raise ArtifactError(
                            f"{where}: {name} {side[:-1]} {tensor_name!r} is {_describe(*actual)} in the model but "
                            f"{_describe(t.dtype, t.shape)} in manifest.json"
                        )
    except ZooError:
        raise
    except (*MODEL_FAILURES, UnicodeDecodeError) as e:  # e.g. signature names that are not UTF-8
        raise ArtifactError(f"{where}: the model's signatures cannot be read: {error_text(e)}") from None
    return runners


CHECKED_ROLES = ("logits", "latent_mean", "latent_log_var", "image")
"""Output roles that must hold finite numbers (memory and state may hold -inf masks)."""


def check_outputs(where, signature, tensors, outputs, batch):
    """One run's outputs are what the manifest describes: every tensor, with
    its rank, its static dimensions and `batch` rows; outputs of
    `CHECKED_ROLES` finite. Raises `ArtifactError` naming the signature."""
    for t in tensors:
        value = outputs.get(t.name)
        if value is None:
            raise ArtifactError(f"{where}: signature {signature!r} did not produce {t.name!r}")
        shape = np.shape(value)
        if (
            len(shape) != len(t.shape)
            or any(d not in (-1, v) for d, v in zip(t.shape, shape))
            or (t.batch_axis is not None and shape[t.batch_axis] != batch)
        ):
            raise ArtifactError(
                f"{where}: signature {signature!r} produced {t.name!r} shaped {list(shape)}; "
                f"manifest.json says {list(t.shape)} with {batch} rows"
            )
        if t.role in CHECKED_ROLES:
            check_finite(where, signature, t.name, np.asarray(value))


def check_finite(where, signature, name, values):
    """Raise `ArtifactError` if a float output holds NaN or infinity (a corrupted
    or numerically broken model; the searches and image writers need numbers)."""
    if values.dtype.kind == "f" and values.size and not np.isfinite(values).all():
        raise ArtifactError(f"{where}: signature {signature!r} produced non-finite values (NaN or inf) in {name!r}")


class LiteRTSignatures:
    """Every signature of a converted model, called by name with numpy arrays:
    the one LiteRT adapter, behind every task's runtime.

    Loads the model, checks its signatures against the manifest, and runs
    them through LiteRT's signature runners: inputs are cast to the dtypes
    the manifest gives, outputs come back as a dict of arrays, checked. The
    same `run(name, **inputs)` / `tensors(name, side)` interface is offered
    for a Keras model by `zoo.keras_step_model.KerasSignatures`, so on-device
    code (`ondevice.vae`, the searches through `SignatureStepModel`) runs
    unchanged on both. `LiteRTStepModel` decodes over one of these.

    Args:
        manifest: an `ondevice.manifest.Manifest`.
        num_threads: int or None. CPU threads.
        model_content: bytes or None. Use these bytes instead of the
            manifest's `model_file` (conversion-time verification).
    """

    def __init__(self, manifest, num_threads=None, model_content=None):
        self.manifest = manifest
        path = None if model_content is not None else manifest.path("model_file")
        self.where = path or "model bytes"
        self.interpreter = load_interpreter(path, model_content, num_threads)
        self.runners = check_model_signatures(self.interpreter, manifest, self.where)
        # One interpreter runs one call at a time; a `LiteRTDecoderState`
        # holds the lock from `start` to `close` (hence re-entrant).
        self.lock = threading.RLock()
        self._tensors = {(name, side): manifest.tensors(name, side) for name in self.runners for side in ("inputs", "outputs")}

    def tensors(self, name, side):
        """The manifest's `TensorInfo`s of signature `name` (`inputs`/`outputs`)."""
        return list(self._tensors[name, side])

    def run(self, name, **inputs):
        """Run signature `name`; returns its outputs by name.

        Args:
            name: str. A signature of the manifest.
            **inputs: array-likes by input name.

        Raises:
            ArtifactError: naming the model and the signature, if LiteRT
                fails, or if the outputs are not what the manifest
                describes (shape, rows, NaN or infinity in logits, latents
                or images).
        """
        described = {t.name: t for t in self._tensors[name, "inputs"]}
        with signature_errors(self.where, name):
            feeds = {k: np.asarray(v, np.dtype(described[k].dtype)) for k, v in inputs.items()}
            rows = [feeds[t.name].shape[t.batch_axis] for t in described.values() if t.batch_axis is not None and t.name in feeds]
            with self.lock:
                outputs = self.runners[name](**feeds)
        check_outputs(self.where, name, self._tensors[name, "outputs"], outputs, rows[0] if rows else None)
        return outputs


class _Subgraph:
    """One signature's subgraph driven directly, with zero-copy numpy views of
    its input and output tensors.

    The public `SignatureRunner.__call__` resizes, re-allocates and copies
    every input and output on every call; a decoder that owns its caches must
    instead write into the interpreter's input buffers and read only the new
    rows. LiteRT's public Python API has no per-subgraph tensor view, so this
    class is the only place that uses the interpreter wrapper's private
    methods (`ResizeInputTensor`, `AllocateTensors`, `Invoke`, `tensor`, all
    taking a subgraph index); `tests/test_litert_private_api.py` fails
    loudly if they move.

    Input views stay valid until the next `allocate` of this subgraph
    (graph inputs are never overwritten by the arena planner). Outputs are
    read with `output(name)` after each invoke: an output whose shape the
    converter could not infer statically is (re)allocated during invoke.
    """

    def __init__(self, interpreter, signature):
        runner = interpreter.get_signature_runner(signature)
        self.name = signature
        self._wrapper = interpreter._interpreter  # noqa: SLF001 (see class docstring)
        self._index = runner._subgraph_index  # noqa: SLF001
        self.inputs = {name: d["index"] for name, d in runner.get_input_details().items()}
        self.outputs = {name: d["index"] for name, d in runner.get_output_details().items()}
        self.input_views = {}

    def allocate(self, shapes):
        """Resize the inputs to `shapes` (name -> tuple), allocate, refresh the views."""
        self.input_views = {}
        for name, shape in shapes.items():
            self._wrapper.ResizeInputTensor(self.inputs[name], np.asarray(shape, np.int32), False, self._index)
        self._wrapper.AllocateTensors(self._index)
        self.input_views = {name: self._view(i) for name, i in self.inputs.items() if len(shapes.get(name, (0,)))}

    def set(self, name, value):
        """Copy `value` into input `name` (for scalars, which have no view)."""
        self._wrapper.SetTensor(self.inputs[name], value, self._index)

    def output(self, name):
        """A view of output `name`, valid until the next invoke."""
        return self._view(self.outputs[name])

    def _view(self, tensor_index):
        return self._wrapper.tensor(self._wrapper, tensor_index, self._index)

    def invoke(self):
        """Run the subgraph; raises `ArtifactError` if it moved its inputs.

        A graph with shapes that are only known while it runs may re-plan
        its memory during the invoke, which would leave the views pointing
        at freed memory; converted zoo models have static step shapes, so
        this only trips on a foreign or corrupted file.
        """
        self._wrapper.Invoke(self._index)
        if self.input_views:
            name, view = next(iter(self.input_views.items()))
            if self._view(self.inputs[name]).__array_interface__["data"][0] != view.__array_interface__["data"][0]:
                self.input_views = {}
                raise ArtifactError(f"{self.name}: the model re-allocated its inputs while running (dynamic shapes)")


def _rows(axis, rows, ndim):
    index = [slice(None)] * ndim
    index[axis] = rows
    return tuple(index)


class LiteRTStepModel(SignatureStepModel):
    """A converted encoder-decoder, decoded with runtime-owned state.

    `start(source_ids, max_steps)` runs the init signature and returns a
    `LiteRTDecoderState` (the interface of `ondevice.decoder_state`) whose
    memory and state live in the interpreter's own input buffers: a step
    writes the token, invokes, copies out the logits and writes only the new
    state (an LSTM's h/c, or one K/V row per layer at index `step`). It
    decodes step `t` with the shortest `decode_step` variant whose cache
    holds `t + 1` positions (manifest `decode_signatures`).

    The step-model methods `encode` / `decode_step(token, step, tensors)`
    (`SignatureStepModel`, over `LiteRTSignatures.run`) are kept for
    reference decoding with numpy-held tensors (slow: every call copies
    every tensor).

    Safe to share between threads: a decoding state holds the lock from
    `start` until it is closed or garbage-collected, so one interpreter
    decodes one batch at a time.

    Args:
        manifest: an `ondevice.manifest.Manifest`.
        num_threads: int or None. CPU threads.
        model_content: bytes or None. Use these bytes instead of the
            manifest's `model_file` (conversion-time verification).
        init_signature: str. The signature that makes the decoder's memory
            and state (`encode`; a text VAE's `decode_init`).
        signatures: `LiteRTSignatures` or None. The loaded model to decode
            with (shared with other signature calls, e.g. a VAE's
            `encode`); default: load `manifest`'s.
    """

    def __init__(self, manifest, num_threads=None, model_content=None, init_signature="encode", signatures=None):
        for name in (init_signature, "decode_step", *manifest.decode_signatures):
            if name not in manifest.data["signatures"]:
                raise ArtifactError(f"manifest.json describes no {name!r} signature")
        if signatures is None:
            signatures = LiteRTSignatures(manifest, num_threads, model_content)
        super().__init__(signatures, init_signature)
        self.manifest = manifest
        self.where = signatures.where
        self.interpreter = signatures.interpreter
        self._lock = signatures.lock
        self._active = False  # a LiteRTDecoderState owns the decode inputs
        made = {t.name for t in manifest.tensors("decode_step", "outputs")}
        unfed = sorted(t.name for t in self.decoder_tensors if t.role == "state" and t.name not in made)
        if unfed:
            raise ArtifactError(f"{self.where}: decode_step states {unfed} are not among its outputs")
        self.logits_name = next(t.name for t in manifest.tensors("decode_step", "outputs") if t.role == "logits")
        init_input = manifest.tensors(init_signature, "inputs")[0]
        self._source_length = init_input.shape[1] if len(init_input.shape) > 1 and init_input.shape[1] > 0 else None
        fixed = self._source_length
        if init_signature == "encode" and fixed is not None and manifest.max_source_length > fixed:
            raise ArtifactError(
                f"{self.where}: max_source_length {manifest.max_source_length} is longer than the encoder's "
                f"fixed input ({self._source_length} tokens)"
            )
        logits = next(t for t in manifest.tensors("decode_step", "outputs") if t.name == self.logits_name)
        self.logits_width = logits.shape[-1]  # -1: dynamic
        self.step_dtype = next(np.dtype(t.dtype) for t in manifest.tensors("decode_step", "inputs") if t.name == self.step_name)
        self.variants = []  # (cache length or None, _Subgraph), shortest first
        for name in manifest.decode_signatures:
            with signature_errors(self.where, name):
                subgraph = _Subgraph(self.interpreter, name)
            appended = [t for t in manifest.tensors(name, "inputs") if t.role == "state" and t.time_axis is not None]
            self.variants.append((appended[0].shape[appended[0].time_axis] if appended else None, subgraph))

    @property
    def logits_size(self):
        """int or None. Last dimension of `decode_step`'s logits (the target vocabulary size)."""
        name = next((t.name for t in self.manifest.tensors("decode_step", "outputs") if t.role == "logits"), None)
        details = self.signatures.runners["decode_step"].get_output_details().get(name)
        if details is None:
            raise ArtifactError(f"decode_step has no logits output {name!r} (manifest.json and model.tflite disagree)")
        size = int(details["shape_signature"][-1]) if len(details["shape_signature"]) else -1
        return size if size > 0 else None

    def encode(self, source_ids):
        """Run the init signature; returns memory + initial replace states.

        A model whose encoder has a fixed source length (the LSTM's
        unrolled encoder) gets its input padded to it here, so the
        interpreter is never re-planned for a new length."""
        source = np.asarray(source_ids)
        if self._source_length is not None and source.shape[1] < self._source_length:
            pad = np.zeros((source.shape[0], self._source_length - source.shape[1]), source.dtype)
            source = np.concatenate([source, pad], axis=1)
        return super().encode(source)

    def decode_step(self, token, step, tensors):
        """Reference step with numpy-held tensors (copies everything)."""
        if self._active:
            raise RuntimeError("a decoding state is open on this model; its buffers are the inputs this call would overwrite")
        return super().decode_step(token, step, tensors)

    def start(self, source_ids, max_steps=None):
        """Encode `source_ids` and return a `LiteRTDecoderState` over them."""
        return LiteRTDecoderState(self, source_ids)


class LiteRTDecoderState:
    """Decoding state in the interpreter's input buffers (see
    `ondevice.decoder_state` for the interface).

    The batch of the buffers (the *physical* batch) can be larger than the
    number of rows still decoded: rows that leave are compacted to the
    front, and the buffers are re-allocated for fewer rows only when that
    saves at least 4 rows or half of them (re-allocation re-plans the
    subgraph and copies the memory).
    """

    def __init__(self, model, source_ids):
        self.model = model
        self.length = 0
        model._lock.acquire()  # released by close()
        model._active, self._closed = True, False
        try:
            encoded = model.encode(source_ids)
            self.batch_size = int(np.asarray(source_ids).shape[0])
            values = {}
            for t in model.decoder_tensors:
                if t.role == "memory" or t.time_axis is None:
                    values[t.name] = encoded[t.name]
            self._variant = 0
            self._bind(0, self.batch_size, values)
        except BaseException:
            self.close()
            raise

    def close(self):
        """Release the model for other decodes (idempotent)."""
        if not self._closed:
            self._closed, self.model._active = True, False
            self.model._lock.release()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    @property
    def capacity(self):
        """int or None. Positions the current variant's cache holds."""
        return self.model.variants[self._variant][0]

    @property
    def signature(self):
        """str. The `decode_step` variant the next step runs."""
        return self._subgraph.name

    @property
    def step_bytes(self):
        """int. Bytes a step copies: token, step, and every output of the last invoke."""
        subgraph = self._subgraph
        return self.batch_size * 4 + 4 + sum(subgraph.output(name).nbytes for name in subgraph.outputs)

    def invoke(self):
        """Run the current variant on its buffers as they stand, nothing
        written or read (profiling: LiteRT's `Invoke` alone, vs `step`)."""
        self._subgraph.invoke()

    def _bind(self, variant, batch, values):
        """Allocate `variant`'s buffers for `batch` rows and write `values`
        (memory, replace states, and the filled prefix of append states)."""
        with signature_errors(self.model.where, self.model.variants[variant][1].name):
            self._bind_unchecked(variant, batch, values)

    def _bind_unchecked(self, variant, batch, values):
        self._variant = variant
        self._physical = batch
        subgraph = self.model.variants[variant][1]
        shapes = {self.model.token_name: (batch,), self.model.step_name: ()}
        tensors = self.model.manifest.tensors(subgraph.name, "inputs")
        for t in tensors:
            if t.role == "state" and t.time_axis is not None:
                shape = list(t.shape)
                shape[t.batch_axis] = batch
                shapes[t.name] = tuple(shape)
            elif t.name in values:
                shapes[t.name] = values[t.name].shape
        subgraph.allocate(shapes)
        self._subgraph = subgraph
        self._append = [t for t in tensors if t.role == "state" and t.time_axis is not None]
        self._replace = [t for t in tensors if t.role == "state" and t.time_axis is None]
        self._memory = [t for t in tensors if t.role == "memory"]
        views = subgraph.input_views
        for t in self._append:
            views[t.name].fill(0)  # fresh arena memory may hold NaN bit patterns
            if t.name in values:
                views[t.name][time_index(t, slice(0, self.length), views[t.name].ndim)] = values[t.name]
        for t in self._memory + self._replace:
            views[t.name][...] = values[t.name]

    def _snapshot(self, rows, memory_rows):
        """Copies of the used part of every buffer, rows selected."""
        views, values = self._subgraph.input_views, {}
        for t in self._memory:
            values[t.name] = np.take(views[t.name], memory_rows, axis=t.batch_axis)
        for t in self._replace:
            values[t.name] = np.take(views[t.name], rows, axis=t.batch_axis)
        for t in self._append:
            used = views[t.name][time_index(t, slice(0, self.length), views[t.name].ndim)]
            values[t.name] = np.take(used, rows, axis=t.batch_axis)
        return values

    def step(self, token):
        """Decode position `length`; returns logits (batch, vocab)."""
        if self.capacity is not None and self.length >= self.capacity:
            if self._variant + 1 >= len(self.model.variants):
                raise ValueError(f"the model decodes at most {self.capacity} positions")
            rows = np.arange(self.batch_size)
            with signature_errors(self.model.where, self._subgraph.name):
                values = self._snapshot(rows, rows)
            self._bind(self._variant + 1, self.batch_size, values)
        views, subgraph = self._subgraph.input_views, self._subgraph
        n = self.batch_size
        token_view = views[self.model.token_name]
        token_view[:n] = token
        token_view[n:] = 0
        where = self.model.where
        with signature_errors(where, subgraph.name):
            subgraph.set(self.model.step_name, np.asarray(self.length, self.model.step_dtype))
            self._subgraph.invoke()
            logits = subgraph.output(self.model.logits_name)
            width = self.model.logits_width
            if logits.ndim != 2 or logits.shape[0] != self._physical or (width > 0 and logits.shape[1] != width):
                raise ArtifactError(
                    f"{where}: signature {subgraph.name!r} produced logits shaped {list(logits.shape)}; "
                    f"expected [{self._physical}, {width}]"
                )
            logits = np.array(logits[:n])
            check_finite(where, subgraph.name, self.model.logits_name, logits)
            for t in self._replace:
                views[t.name][...] = subgraph.output(t.name)
            for t in self._append:
                view = views[t.name]
                view[time_index(t, self.length, view.ndim)] = subgraph.output(t.name)
        self.length += 1
        return logits

    def select(self, rows, memory_rows=None):
        """Keep `rows` of every state and `memory_rows` (default `rows`) of memory."""
        with signature_errors(self.model.where, self._subgraph.name):  # buffers shaped as the manifest says
            self._select(rows, memory_rows)

    def _select(self, rows, memory_rows):
        rows = np.asarray(rows, np.int64)
        memory_rows = rows if memory_rows is None else np.asarray(memory_rows, np.int64)
        n = len(rows)
        if n == self.batch_size and np.array_equal(rows, np.arange(n)) and np.array_equal(memory_rows, rows):
            return
        # Re-allocating re-plans the subgraph and copies the memory, so it is
        # done only when it saves at least 4 rows (XNNPACK's matmul kernels
        # compute rows in tiles of 4 on x86 and Arm) or half of them.
        if n > self._physical or 0 < n <= self._physical - min(4, self._physical // 2):
            self._bind(self._variant, n, self._snapshot(rows, memory_rows))
        else:
            # In place: only the rows that change are copied (beam search
            # mostly keeps a beam where it is), the filled part of caches only.
            views = self._subgraph.input_views
            moved = np.flatnonzero(memory_rows != np.arange(n))
            for t in self._memory if moved.size else ():
                view = views[t.name]
                view[_rows(t.batch_axis, moved, view.ndim)] = view[_rows(t.batch_axis, memory_rows[moved], view.ndim)]
            moved = np.flatnonzero(rows != np.arange(n))
            if moved.size:
                sources = rows[moved]
                for t in self._replace:
                    view = views[t.name]
                    view[_rows(t.batch_axis, moved, view.ndim)] = view[_rows(t.batch_axis, sources, view.ndim)]
                for t in self._append:
                    view = views[t.name]
                    used = list(time_index(t, slice(0, self.length), view.ndim))
                    target, source = list(used), used
                    target[t.batch_axis], source[t.batch_axis] = moved, sources
                    view[tuple(target)] = view[tuple(source)]  # the right side is a copy: overlaps are safe
        self.batch_size = n
