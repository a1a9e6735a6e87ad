"""Per-operator CPU (XNNPACK) time profile of one signature of a `.tflite` model.

The Python `ai_edge_litert` API exposes no profiler, but the shared library
it ships (`ai_edge_litert/libLiteRt.so`) exports LiteRT's C API, profiler
included. This module drives that C API directly through `ctypes` (no
TensorFlow, no pybind wrapper):

1. `LiteRtCreateEnvironment` / `LiteRtCreateModelFromFile`, then the model's
   signature table (`LiteRtGetModelSignature`, ...) for input/output names,
   element types and shapes (-1 marks a dynamic dimension).
2. `LiteRtCreateOptions` with the CPU accelerator and two opaque options,
   each a TOML string as LiteRT's own option builders serialise them:
   `"xnnpack"` -> `num_threads = N` (the XNNPACK delegate's options) and
   `"runtime_options_string"` -> `enable_profiling = true`. With profiling on,
   `LiteRtCreateCompiledModel` attaches a profiler to the TFLite interpreter
   *before* it applies the XNNPACK delegate, so the delegate builds its
   runtime with `XNN_FLAG_BASIC_PROFILING` and, after each invoke, reports
   every XNNPACK operator it ran (`DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT`,
   tag = XNNPACK operator name such as `"Fully Connected (NC, F32)"`, time
   in whole microseconds) next to the interpreter's own per-node events
   for the ops left to the builtin kernels (`OPERATOR_INVOKE_EVENT`, tag =
   builtin op name such as `"GATHER"`).
3. Dynamic inputs are resized to the given arrays
   (`LiteRtCompiledModelResizeInputTensor`), output shapes are read back
   (`LiteRtGetCompiledModelOutputTensorLayouts`; if the signature has
   dynamic outputs, also from one reference run of
   `ai_edge_litert.interpreter.Interpreter`, since data-dependent shapes
   are only known after running and LiteRT writes past a too-small output
   buffer), and every tensor is bound to 64-byte aligned numpy memory
   (`LiteRtCreateTensorBufferFromHostMemory`).
4. A few warm-up runs, then `LiteRtStartProfiler` on the compiled model's
   profiler (`LiteRtCompiledModelGetProfiler`), `runs` timed
   `LiteRtRunCompiledModel` calls, and `LiteRtGetProfilerEvents` /
   `LiteRtGetProfileSummary`.

Events are attributed by type and buffer order (see `_attribute_run`):
builtin nodes give one row each; XNNPACK logs no event for its delegate
node (it sets `kTfLiteDelegateFlagsPerOperatorProfiling`), only its
operators, grouped here into partitions `xnn0`, `xnn1`, ... Runtime events
(`Invoke`, `LiteRT::Run[...]`) are kept apart in `runtime_events`; the
outermost `Invoke` encloses every op, and `Invoke - sum(ops)` is reported as
`unattributed_ms`.

Limitation: XNNPACK reports each operator's time as whole microseconds,
truncated (`(t_end - t_start)_ns / 1000`). Operators faster than 1 us (most
elementwise/reshape ops of a batch-1 decoder step) read 0 and every op
loses up to 1 us, so the op rows under-count; the loss ends up in
`unattributed_ms` (with the interpreter's per-node overhead). LiteRT's own
summary (`summary`) shows the same truncated figures.

The `ctypes` layer (`_Api`) mirrors LiteRT's C headers at the 2.3 release
(google-ai-edge/LiteRT commit 19a1585ff "Bump LiteRT SDK versions to 2.3.0";
the headers used are unchanged from v2.2.0 to then). The profiler API and the
runtime-options payload format are not part of the stable Python API and may
change between releases; the structure sizes are asserted at import.

Usage::

    python -m bench.op_profile MODEL.tflite SIGNATURE [--runs N] [--seq-len L]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import statistics
import sys
import time
from typing import Any, Mapping

import numpy as np

# --------------------------------------------------------------------------
# ctypes layer: the LiteRT C API, as declared in the 2.3 release's headers.
# --------------------------------------------------------------------------

# litert/c/litert_layout.h
_LITERT_TENSOR_MAX_RANK = 8
# litert/c/litert_tensor_buffer_types.h: host buffers must be this aligned.
_LITERT_HOST_MEMORY_BUFFER_ALIGNMENT = 64
# litert/c/litert_common.h: LiteRtHwAccelerators
_K_LITERT_HW_ACCELERATOR_CPU = 1 << 0
# litert/c/litert_common.h: LiteRtErrorReporterMode
_K_LITERT_ERROR_REPORTER_MODE_BUFFER = 2
# litert/c/options/litert_cpu_options.cc: LrtGetCpuOptionsIdentifier()
_CPU_OPTIONS_ID = b"xnnpack"
# litert/c/options/litert_runtime_options.cc: LrtGetRuntimeOptionsIdentifier()
_RUNTIME_OPTIONS_ID = b"runtime_options_string"

# litert/c/litert_common.h: LiteRtStatus (LiteRtGetStatusString is not
# exported by the Python wheel's libLiteRt.so, hence this copy).
_STATUS_NAMES = {
    0: "kLiteRtStatusOk",
    1: "kLiteRtStatusErrorInvalidArgument",
    2: "kLiteRtStatusErrorMemoryAllocationFailure",
    3: "kLiteRtStatusErrorRuntimeFailure",
    4: "kLiteRtStatusErrorMissingInputTensor",
    5: "kLiteRtStatusErrorUnsupported",
    6: "kLiteRtStatusErrorNotFound",
    7: "kLiteRtStatusErrorTimeoutExpired",
    8: "kLiteRtStatusErrorWrongVersion",
    9: "kLiteRtStatusErrorUnknown",
    10: "kLiteRtStatusErrorAlreadyExists",
    100: "kLiteRtStatusCancelled",
    500: "kLiteRtStatusErrorFileIO",
    501: "kLiteRtStatusErrorInvalidFlatbuffer",
    502: "kLiteRtStatusErrorDynamicLoading",
    503: "kLiteRtStatusErrorSerialization",
    504: "kLiteRtStatusErrorCompilation",
    1000: "kLiteRtStatusErrorIndexOOB",
    1001: "kLiteRtStatusErrorInvalidIrType",
    1002: "kLiteRtStatusErrorInvalidGraphInvariant",
    1003: "kLiteRtStatusErrorGraphModification",
}

# litert/c/litert_model_types.h: LiteRtElementType -> numpy dtype
_ELEMENT_DTYPES = {
    1: np.dtype(np.float32),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
    10: np.dtype(np.float16),
    11: np.dtype(np.float64),
    13: np.dtype(np.uint64),
    16: np.dtype(np.uint32),
    17: np.dtype(np.uint16),
}
_DTYPE_ELEMENTS = {dt: code for code, dt in _ELEMENT_DTYPES.items()}

# litert/c/litert_profiler_event.h: LiteRtProfilerEventType
_EV_DEFAULT = 1
_EV_OPERATOR_INVOKE = 1 << 1
_EV_DELEGATE_OPERATOR_INVOKE = 1 << 2
_EV_DELEGATE_PROFILED_OPERATOR_INVOKE = 1 << 3
_EV_GENERAL_RUNTIME_INSTRUMENTATION = 1 << 4
_DELEGATE_EVENT_TYPES = (_EV_DELEGATE_OPERATOR_INVOKE, _EV_DELEGATE_PROFILED_OPERATOR_INVOKE)

_c_void_p_p = ctypes.POINTER(ctypes.c_void_p)
_c_char_p_p = ctypes.POINTER(ctypes.c_char_p)
_size_t_p = ctypes.POINTER(ctypes.c_size_t)


class _LiteRtLayout(ctypes.Structure):
    """`LiteRtLayout` (litert/c/litert_layout.h): 68 bytes."""

    _fields_ = [
        ("rank", ctypes.c_uint32, 7),
        ("has_strides", ctypes.c_uint32, 1),
        ("dimensions", ctypes.c_int32 * _LITERT_TENSOR_MAX_RANK),
        ("strides", ctypes.c_uint32 * _LITERT_TENSOR_MAX_RANK),
    ]


class _LiteRtRankedTensorType(ctypes.Structure):
    """`LiteRtRankedTensorType` (litert/c/litert_model_types.h): 72 bytes."""

    _fields_ = [("element_type", ctypes.c_int), ("layout", _LiteRtLayout)]


class _LiteRtMemoryUsage(ctypes.Structure):
    """`LiteRtMemoryUsage` (litert/c/litert_profiler_event.h)."""

    _fields_ = [
        ("total_allocated_bytes", ctypes.c_size_t),
        ("in_use_allocated_bytes", ctypes.c_size_t),
        ("private_footprint_bytes", ctypes.c_size_t),
    ]


class _ProfiledEventData(ctypes.Structure):
    """`ProfiledEventData` (litert/c/litert_profiler_event.h): 104 bytes.

    `tag` points into the profiler's buffer: valid until the next
    `LiteRtResetProfiler` / `LiteRtStartProfiler`, so it is copied at once.
    """

    _fields_ = [
        ("tag", ctypes.c_char_p),
        ("event_type", ctypes.c_int),  # LiteRtProfilerEventType
        ("start_timestamp_us", ctypes.c_uint64),
        ("elapsed_time_us", ctypes.c_uint64),
        ("begin_mem_usage", _LiteRtMemoryUsage),
        ("end_mem_usage", _LiteRtMemoryUsage),
        ("event_metadata1", ctypes.c_uint64),
        ("event_metadata2", ctypes.c_uint64),
        ("event_source", ctypes.c_int),  # ProfiledEventSource
    ]


# The headers static_assert the first two sizes on 64-bit targets; the third
# follows from the declared field types. A mismatch here would mean the
# ctypes mirror (not the library) is wrong.
for _struct, _size in ((_LiteRtLayout, 68), (_LiteRtRankedTensorType, 72),
                       (_ProfiledEventData, 104)):
    if ctypes.sizeof(_struct) != _size:
        raise ImportError(f"{_struct.__name__} is {ctypes.sizeof(_struct)} bytes, expected {_size}")


class LiteRtError(RuntimeError):
    """A LiteRT C API call returned a status other than `kLiteRtStatusOk`.

    Attributes:
        call: Name of the failing C function.
        status: The `LiteRtStatus` code it returned.
    """

    def __init__(self, call: str, status: int, detail: str = ""):
        self.call, self.status = call, status
        name = _STATUS_NAMES.get(status, "unknown status")
        msg = f"{call} failed with LiteRtStatus {status} ({name})"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class ProfilerUnavailableError(RuntimeError):
    """The installed LiteRT library lacks the C API this module needs."""


# (name, restype, argtypes); restype `int` means a LiteRtStatus. Grouped by
# the header that declares each function in the LiteRT 2.3 sources.
_S = ctypes.c_int  # LiteRtStatus
_P = ctypes.c_void_p  # any opaque LiteRt* handle
_SIGNATURES = [
    # litert/c/litert_environment.h
    ("LiteRtCreateEnvironment", _S, [ctypes.c_int, _P, _c_void_p_p]),
    ("LiteRtDestroyEnvironment", None, [_P]),
    # litert/c/litert_model.h
    ("LiteRtCreateModelFromFile", _S, [_P, ctypes.c_char_p, _c_void_p_p]),
    ("LiteRtDestroyModel", None, [_P]),
    ("LiteRtGetNumModelSignatures", _S, [_P, _size_t_p]),
    ("LiteRtGetModelSignature", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetSignatureKey", _S, [_P, _c_char_p_p]),
    ("LiteRtGetNumSignatureInputs", _S, [_P, _size_t_p]),
    ("LiteRtGetSignatureInputName", _S, [_P, ctypes.c_size_t, _c_char_p_p]),
    ("LiteRtGetSignatureInputTensorByIndex", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetNumSignatureOutputs", _S, [_P, _size_t_p]),
    ("LiteRtGetSignatureOutputName", _S, [_P, ctypes.c_size_t, _c_char_p_p]),
    ("LiteRtGetSignatureOutputTensorByIndex", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetRankedTensorType", _S, [_P, ctypes.POINTER(_LiteRtRankedTensorType)]),
    ("LiteRtGetModelSubgraph", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetNumSubgraphOps", _S, [_P, _size_t_p]),
    ("LiteRtGetSubgraphOp", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetNumOpOutputs", _S, [_P, _size_t_p]),
    ("LiteRtGetOpOutput", _S, [_P, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetTensorName", _S, [_P, _c_char_p_p]),
    # litert/c/litert_options.h
    ("LiteRtCreateOptions", _S, [_c_void_p_p]),
    ("LiteRtDestroyOptions", None, [_P]),
    ("LiteRtSetOptionsHardwareAccelerators", _S, [_P, ctypes.c_int]),
    ("LiteRtAddOpaqueOptions", _S, [_P, _P]),
    # litert/c/litert_opaque_options.h
    ("LiteRtCreateOpaqueOptions", _S, [ctypes.c_char_p, _P, _P, _c_void_p_p]),
    ("LiteRtDestroyOpaqueOptions", None, [_P]),
    # litert/c/litert_compiled_model.h
    ("LiteRtCreateCompiledModel", _S, [_P, _P, _P, _c_void_p_p]),
    ("LiteRtDestroyCompiledModel", None, [_P]),
    ("LiteRtCompiledModelResizeInputTensor", _S,
     [_P, ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int), ctypes.c_size_t]),
    ("LiteRtGetCompiledModelOutputTensorLayouts", _S,
     [_P, ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(_LiteRtLayout), ctypes.c_bool]),
    ("LiteRtGetCompiledModelInputBufferRequirements", _S,
     [_P, ctypes.c_size_t, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtGetCompiledModelOutputBufferRequirements", _S,
     [_P, ctypes.c_size_t, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtRunCompiledModel", _S,
     [_P, ctypes.c_size_t, ctypes.c_size_t, _c_void_p_p, ctypes.c_size_t, _c_void_p_p]),
    ("LiteRtCompiledModelGetProfiler", _S, [_P, _c_void_p_p]),
    ("LiteRtCompiledModelGetErrorMessages", _S, [_P, _c_void_p_p]),
    ("LiteRtCompiledModelClearErrors", _S, [_P]),
    # litert/c/litert_tensor_buffer_requirements.h
    ("LiteRtGetTensorBufferRequirementsBufferSize", _S, [_P, _size_t_p]),
    # litert/c/litert_tensor_buffer.h
    ("LiteRtCreateTensorBufferFromHostMemory", _S,
     [ctypes.POINTER(_LiteRtRankedTensorType), _P, ctypes.c_size_t, _P, _c_void_p_p]),
    ("LiteRtDestroyTensorBuffer", None, [_P]),
    # litert/c/litert_profiler.h
    ("LiteRtStartProfiler", _S, [_P]),
    ("LiteRtStopProfiler", _S, [_P]),
    ("LiteRtResetProfiler", _S, [_P]),
    ("LiteRtGetNumProfilerEvents", _S, [_P, ctypes.POINTER(ctypes.c_int)]),
    ("LiteRtGetProfilerEvents", _S, [_P, ctypes.c_int, ctypes.POINTER(_ProfiledEventData)]),
    ("LiteRtGetProfileSummary", _S, [_P, _P, _c_void_p_p]),
]


def _default_library_path() -> str:
    """Path of `libLiteRt.so` inside the installed `ai_edge_litert` package.

    Uses `importlib.util.find_spec`, which locates the package without
    importing it.
    """
    spec = importlib.util.find_spec("ai_edge_litert")
    if spec is None or not spec.submodule_search_locations:
        raise ProfilerUnavailableError("the ai_edge_litert package is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "libLiteRt.so")


class _Api:
    """The loaded `libLiteRt.so` with typed C functions, plus libc helpers.

    Args:
        library_path: Path of `libLiteRt.so`; default: the one in the
            installed `ai_edge_litert` package (override with `$LITERT_LIB`).

    Raises:
        ProfilerUnavailableError: The library cannot be loaded or lacks one of
            the functions in `_SIGNATURES` (e.g. a build without the profiler).
    """

    def __init__(self, library_path: str | None = None):
        path = library_path or os.environ.get("LITERT_LIB") or _default_library_path()
        try:
            self.lib = ctypes.CDLL(path)
        except OSError as e:
            raise ProfilerUnavailableError(f"cannot load LiteRT C library {path}: {e}") from e
        missing = []
        for name, restype, argtypes in _SIGNATURES:
            try:
                fn = getattr(self.lib, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name, fn)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise ProfilerUnavailableError(
                f"{path} does not export the LiteRT C API this profiler needs "
                f"(missing: {shown}); a newer or older ai-edge-litert?"
            )
        self.path = path
        self.libc = ctypes.CDLL(None)
        self.libc.strdup.restype, self.libc.strdup.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        self.libc.free.restype, self.libc.free.argtypes = None, [ctypes.c_void_p]
        # `free` as a C function pointer: the destructor LiteRT calls on the
        # strdup'ed opaque-option payloads it owns.
        self.free_ptr = ctypes.cast(self.libc.free, ctypes.c_void_p)

    def check(self, status: int, call: str, detail: str = "") -> None:
        """Raises `LiteRtError` unless `status` is `kLiteRtStatusOk`.

        Args:
            status: The `LiteRtStatus` a C call returned.
            call: The C function's name, for the message.
            detail: Extra context for the message.
        """
        if status != 0:
            raise LiteRtError(call, status, detail)

    def call(self, name: str, *args: Any, detail: str = "") -> None:
        """Calls the C function `name` and checks its `LiteRtStatus`.

        Args:
            name: C function name (must be in `_SIGNATURES`).
            *args: Its arguments.
            detail: Extra context for an error message.
        """
        self.check(getattr(self, name)(*args), name, detail)

    def take_c_string(self, ptr: int | None) -> str | None:
        """Copies a malloc'ed C string into Python and frees it.

        Args:
            ptr: Address of the string (LiteRT hands ownership to the caller).
        """
        if not ptr:
            return None
        try:
            return ctypes.string_at(ptr).decode("utf-8", "replace")
        finally:
            self.libc.free(ptr)


# --------------------------------------------------------------------------
# Helpers over the C API
# --------------------------------------------------------------------------


def _aligned_empty(nbytes: int) -> np.ndarray:
    """A zeroed uint8 array whose data is `_LITERT_HOST_MEMORY_BUFFER_ALIGNMENT` aligned.

    Args:
        nbytes: Size in bytes (at least one byte is allocated).
    """
    align = _LITERT_HOST_MEMORY_BUFFER_ALIGNMENT
    raw = np.zeros(max(nbytes, 1) + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + max(nbytes, 1)]


def _nbytes(shape: tuple[int, ...] | list[int], dtype: np.dtype) -> int:
    """Bytes of a dense tensor.

    Args:
        shape: Concrete shape.
        dtype: Element type.
    """
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def _reference_output_shapes(
    model_path: str, signature_key: str, inputs: dict[str, np.ndarray], num_threads: int
) -> dict[str, tuple[int, ...]]:
    """Output shapes of one run of the signature with `ai_edge_litert.interpreter`.

    Needed for outputs whose shape is only known after running (computed by
    SHAPE-like ops), which the compiled model's layouts cannot predict.

    Args:
        model_path: Path of the `.tflite` file.
        signature_key: Signature to run.
        inputs: Name -> array, as the signature expects.
        num_threads: Interpreter threads.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ProfilerUnavailableError(f"ai_edge_litert.interpreter unavailable: {e}") from e
    interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
    try:
        outputs = interpreter.get_signature_runner(signature_key)(**inputs)
        return {name: tuple(np.shape(v)) for name, v in outputs.items()}
    finally:
        del interpreter


def _tensor_type(tensor_type: _LiteRtRankedTensorType) -> tuple[np.dtype, list[int]]:
    """(numpy dtype, shape with -1 for dynamic dims) of a ranked tensor type.

    Args:
        tensor_type: As filled by `LiteRtGetRankedTensorType`.
    """
    code = tensor_type.element_type
    if code not in _ELEMENT_DTYPES:
        raise NotImplementedError(f"LiteRtElementType {code} is not supported here")
    layout = tensor_type.layout
    return _ELEMENT_DTYPES[code], [int(layout.dimensions[i]) for i in range(layout.rank)]


def _ranked_type(dtype: np.dtype, shape: tuple[int, ...]) -> _LiteRtRankedTensorType:
    """Builds a `LiteRtRankedTensorType` for a concrete dtype and shape.

    Args:
        dtype: Numpy element type.
        shape: Concrete shape (rank <= 8).
    """
    if len(shape) > _LITERT_TENSOR_MAX_RANK:
        raise ValueError(f"rank {len(shape)} exceeds LiteRT's maximum {_LITERT_TENSOR_MAX_RANK}")
    t = _LiteRtRankedTensorType()
    t.element_type = _DTYPE_ELEMENTS[np.dtype(dtype)]
    t.layout.rank = len(shape)
    t.layout.has_strides = 0
    for i, d in enumerate(shape):
        t.layout.dimensions[i] = int(d)
    return t


class _Model:
    """A LiteRT environment + model, and the signature table read from it.

    Args:
        api: The loaded C API.
        model_path: Path of the `.tflite` file.
    """

    def __init__(self, api: _Api, model_path: str):
        self.api = api
        self.env = ctypes.c_void_p()
        self.model = ctypes.c_void_p()
        self._num_ops: dict[int, int | None] = {}
        self._node_names: dict[tuple[int, int], str | None] = {}
        api.call("LiteRtCreateEnvironment", 0, None, ctypes.byref(self.env))
        try:
            api.call("LiteRtCreateModelFromFile", self.env, os.fsencode(model_path),
                     ctypes.byref(self.model), detail=model_path)
        except Exception:
            api.LiteRtDestroyEnvironment(self.env)
            raise

    def close(self) -> None:
        """Destroys the model, then the environment."""
        if self.model:
            self.api.LiteRtDestroyModel(self.model)
            self.model = ctypes.c_void_p()
        if self.env:
            self.api.LiteRtDestroyEnvironment(self.env)
            self.env = ctypes.c_void_p()

    def signature_keys(self) -> list[str]:
        """Signature keys, in signature-index order."""
        api, n = self.api, ctypes.c_size_t()
        api.call("LiteRtGetNumModelSignatures", self.model, ctypes.byref(n))
        keys = []
        for i in range(n.value):
            sig, key = ctypes.c_void_p(), ctypes.c_char_p()
            api.call("LiteRtGetModelSignature", self.model, i, ctypes.byref(sig))
            api.call("LiteRtGetSignatureKey", sig, ctypes.byref(key))
            keys.append(key.value.decode())
        return keys

    def signature(self, key: str) -> dict[str, Any]:
        """Index, inputs and outputs of one signature.

        Args:
            key: Signature key.

        Returns:
            `{"index": int, "inputs": [...], "outputs": [...]}`, each tensor as
            `{"name", "dtype", "shape"}` in the signature's order (the order
            `LiteRtRunCompiledModel` takes buffers in); -1 marks a dynamic dim.
        """
        keys = self.signature_keys()
        if key not in keys:
            raise KeyError(f"signature {key!r} not in model (has {keys})")
        api, index = self.api, keys.index(key)
        sig = ctypes.c_void_p()
        api.call("LiteRtGetModelSignature", self.model, index, ctypes.byref(sig))

        def tensors(kind: str) -> list[dict[str, Any]]:
            n = ctypes.c_size_t()
            api.call(f"LiteRtGetNumSignature{kind}s", sig, ctypes.byref(n))
            out = []
            for i in range(n.value):
                name, tensor = ctypes.c_char_p(), ctypes.c_void_p()
                api.call(f"LiteRtGetSignature{kind}Name", sig, i, ctypes.byref(name))
                api.call(f"LiteRtGetSignature{kind}TensorByIndex", sig, i, ctypes.byref(tensor))
                ttype = _LiteRtRankedTensorType()
                api.call("LiteRtGetRankedTensorType", tensor, ctypes.byref(ttype),
                         detail=f"{kind.lower()} {name.value!r} (unranked tensors are unsupported)")
                dtype, shape = _tensor_type(ttype)
                out.append({"name": name.value.decode(), "dtype": dtype, "shape": shape})
            return out

        return {"index": index, "inputs": tensors("Input"), "outputs": tensors("Output")}

    def num_ops(self, subgraph_index: int) -> int | None:
        """Number of ops of a flatbuffer subgraph (None if there is no such subgraph).

        Args:
            subgraph_index: Subgraph index.
        """
        if subgraph_index not in self._num_ops:
            api, sub, n = self.api, ctypes.c_void_p(), ctypes.c_size_t()
            try:
                api.call("LiteRtGetModelSubgraph", self.model, subgraph_index, ctypes.byref(sub))
                api.call("LiteRtGetNumSubgraphOps", sub, ctypes.byref(n))
                self._num_ops[subgraph_index] = n.value
            except LiteRtError:
                self._num_ops[subgraph_index] = None
        return self._num_ops[subgraph_index]

    def node_name(self, subgraph_index: int, node_index: int) -> str | None:
        """Name of a node's first output tensor (TFLite's usual node label), cached.

        Args:
            subgraph_index: Interpreter subgraph index (event metadata 2).
            node_index: Interpreter node index (event metadata 1).
        """
        key = (subgraph_index, node_index)
        if key not in self._node_names:
            self._node_names[key] = self._node_name(subgraph_index, node_index)
        return self._node_names[key]

    def _node_name(self, subgraph_index: int, node_index: int) -> str | None:
        """Name of a node's first output tensor (TFLite's usual node label).

        Best effort: the profiler's node/subgraph indices are the
        interpreter's, which match the flatbuffer's for non-delegated nodes.

        Args:
            subgraph_index: Interpreter subgraph index (event metadata 2).
            node_index: Interpreter node index (event metadata 1).
        """
        api = self.api
        try:
            sub, n_ops = ctypes.c_void_p(), ctypes.c_size_t()
            api.call("LiteRtGetModelSubgraph", self.model, subgraph_index, ctypes.byref(sub))
            api.call("LiteRtGetNumSubgraphOps", sub, ctypes.byref(n_ops))
            if not 0 <= node_index < n_ops.value:
                return None
            op, n_out = ctypes.c_void_p(), ctypes.c_size_t()
            api.call("LiteRtGetSubgraphOp", sub, node_index, ctypes.byref(op))
            api.call("LiteRtGetNumOpOutputs", op, ctypes.byref(n_out))
            if n_out.value == 0:
                return None
            tensor, name = ctypes.c_void_p(), ctypes.c_char_p()
            api.call("LiteRtGetOpOutput", op, 0, ctypes.byref(tensor))
            api.call("LiteRtGetTensorName", tensor, ctypes.byref(name))
            return name.value.decode() if name.value else None
        except LiteRtError:
            return None


def _opaque_toml_option(api: _Api, identifier: bytes, toml: str) -> ctypes.c_void_p:
    """Creates a LiteRtOpaqueOptions whose payload is a TOML string.

    This is the payload `LrtGetOpaqueCpuOptionsData` /
    `LrtGetOpaqueRuntimeOptionsData` produce (those builders are not exported
    by the wheel's library). LiteRT owns the strdup'ed payload and frees it
    with libc `free` when the options are destroyed.

    Args:
        api: The loaded C API.
        identifier: Payload identifier (e.g. `b"xnnpack"`).
        toml: `key = value` lines.
    """
    payload = api.libc.strdup(toml.encode())
    if not payload:
        raise MemoryError("strdup failed")
    handle = ctypes.c_void_p()
    status = api.LiteRtCreateOpaqueOptions(identifier, payload, api.free_ptr, ctypes.byref(handle))
    if status != 0:
        api.libc.free(payload)
        raise LiteRtError("LiteRtCreateOpaqueOptions", status, identifier.decode())
    return handle


def _compiled_model_errors(api: _Api, compiled: ctypes.c_void_p) -> str:
    """Messages the compiled model's buffer error reporter collected ('' if none).

    Args:
        api: The loaded C API.
        compiled: LiteRtCompiledModel handle.
    """
    ptr = ctypes.c_void_p()
    if api.LiteRtCompiledModelGetErrorMessages(compiled, ctypes.byref(ptr)) != 0:
        return ""
    return (api.take_c_string(ptr.value) or "").strip()


def _prepare_inputs(
    spec: list[dict[str, Any]], inputs: Mapping[str, Any], signature_key: str
) -> list[np.ndarray]:
    """Checks and orders the caller's inputs against the signature.

    Args:
        spec: The signature's inputs (from `_Model.signature`).
        inputs: Name -> array-like.
        signature_key: For error messages.

    Returns:
        C-contiguous arrays of the signature's dtypes, in signature order.
    """
    names = [t["name"] for t in spec]
    missing, extra = set(names) - set(inputs), set(inputs) - set(names)
    if missing or extra:
        raise ValueError(
            f"inputs for {signature_key!r} must be exactly {names}; "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    arrays = []
    for t in spec:
        value = np.asarray(inputs[t["name"]])
        if value.dtype != t["dtype"] and not np.can_cast(value.dtype, t["dtype"], "same_kind"):
            raise ValueError(f"input {t['name']!r}: dtype {value.dtype}, model wants {t['dtype']}")
        value = np.array(value, dtype=t["dtype"], order="C")  # keeps rank 0
        want = t["shape"]
        if value.ndim != len(want) or any(w not in (-1, g) for w, g in zip(want, value.shape)):
            raise ValueError(f"input {t['name']!r}: shape {value.shape}, model wants {want} (-1 = any)")
        arrays.append(value)
    return arrays


# --------------------------------------------------------------------------
# Event attribution
# --------------------------------------------------------------------------


def _signed(value: int) -> int:
    """Event metadata travel as uint64 but are int64 in TFLite (-1 = none)."""
    return ctypes.c_int64(value).value


def _attribute_run(events: list[tuple], model: _Model) -> dict[str, Any]:
    """Splits one run's profiler events into ops, partitions and runtime events.

    Interpreter node events (`OPERATOR_INVOKE_EVENT`) carry the node index
    (metadata 1) and subgraph index (metadata 2). A node index at or past
    the subgraph's flatbuffer op count is a delegate kernel node (TFLite
    appends those). XNNPACK sets `kTfLiteDelegateFlagsPerOperatorProfiling`,
    so its kernel node logs no event of its own: its operators arrive as a
    run of `DELEGATE_*` events whose metadata 1 restarts at 0 for each
    partition. A delegate without that flag logs its kernel node, followed by
    its operators (if it reports any); that node's time then becomes the
    partition's `container_us` instead of an op row.

    Args:
        events: `(tag, event_type, elapsed_us, meta1, meta2)` in buffer order.
        model: For op counts and node names of the flatbuffer subgraphs.

    Returns:
        `{"ops": [((source, op, node), us)], "partitions": [dict],
        "runtime": [(tag, us)], "invoke_us": int | None}`.
    """
    ops: list[tuple] = []
    partitions: list[dict[str, Any]] = []
    runtime: list[tuple] = []
    invoke_us = None
    group: dict[str, Any] | None = None
    for i, (tag, etype, us, m1, m2) in enumerate(events):
        m1, m2 = _signed(m1), _signed(m2)
        if etype in _DELEGATE_EVENT_TYPES:
            if group is None or (m1 == 0 and group["n"] > 0):
                # This module only enables the CPU accelerator, whose only
                # delegate is XNNPACK.
                group = {"node": f"xnn{sum(p['container'] is None for p in partitions)}",
                         "container": None, "container_us": None, "source": "xnnpack",
                         "ops_us": 0, "n": 0}
                partitions.append(group)
            ops.append(((group["source"], tag, f"{group['node']}/{m1}"), us))
            group["ops_us"] += us
            group["n"] += 1
            continue
        group = None
        if etype == _EV_OPERATOR_INVOKE:
            n_ops = model.num_ops(m2)
            label = f"sg{m2}#{m1}"
            if n_ops is not None and m1 >= n_ops:  # a delegate kernel node
                next_type = events[i + 1][1] if i + 1 < len(events) else None
                source = "xnnpack" if "xnnpack" in tag.lower() else "delegate"
                if next_type in _DELEGATE_EVENT_TYPES:
                    group = {"node": label, "container": tag, "container_us": us,
                             "source": source, "ops_us": 0, "n": 0}
                    partitions.append(group)
                else:  # opaque partition: only its total is known
                    ops.append(((source, tag, label), us))
            else:
                name = model.node_name(m2, m1)
                ops.append((("builtin", tag, f"{label} {name}" if name else label), us))
        elif etype == _EV_DEFAULT:
            runtime.append((tag, us))
            if tag == "Invoke" and invoke_us is None:  # the outermost subgraph invoke
                invoke_us = us
        # Other types (runtime instrumentation, telemetry) carry status codes
        # in their "elapsed" field, not times: skipped.
    return {"ops": ops, "partitions": partitions, "runtime": runtime, "invoke_us": invoke_us}


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def signature_input_details(model_path: str, signature_key: str) -> list[dict[str, Any]]:
    """Input names, dtypes and shapes (-1 = dynamic) of one signature.

    Args:
        model_path: Path of the `.tflite` file.
        signature_key: Signature key.

    Returns:
        `[{"name": str, "dtype": numpy.dtype, "shape": list[int]}, ...]` in
        the signature's order.
    """
    api = _Api()
    model = _Model(api, model_path)
    try:
        return model.signature(signature_key)["inputs"]
    finally:
        model.close()


def default_inputs(
    details: list[dict[str, Any]], batch: int = 1, seq_len: int = 16, int_value: int = 1
) -> dict[str, np.ndarray]:
    """Valid placeholder inputs: zeros for floats, small ints for ints.

    A dynamic first dimension becomes `batch`, any other dynamic dimension
    `seq_len` (so related dynamic dims, e.g. a source length shared by
    several tensors, agree). Integer tensors are filled with `int_value`
    (a valid non-special token id), except rank-0 integer tensors (a step
    counter), which are 0.

    Args:
        details: From `signature_input_details`.
        batch: Size of a dynamic leading dimension.
        seq_len: Size of any other dynamic dimension.
        int_value: Fill value of integer tensors of rank >= 1.
    """
    out = {}
    for t in details:
        shape = [(batch if i == 0 else seq_len) if d < 0 else d for i, d in enumerate(t["shape"])]
        dtype = t["dtype"]
        if np.issubdtype(dtype, np.integer):
            out[t["name"]] = np.full(shape, 0 if not shape else int_value, dtype=dtype)
        else:
            out[t["name"]] = np.zeros(shape, dtype=dtype)
    return out


def profile_signature(
    model_path: str,
    signature_key: str,
    inputs: Mapping[str, Any],
    runs: int = 50,
    num_threads: int = 1,
    warmup: int = 5,
    return_outputs: bool = False,
) -> dict[str, Any]:
    """Profiles one signature on CPU (XNNPACK delegate) with LiteRT's profiler.

    Args:
        model_path: Path of the `.tflite` file.
        signature_key: Signature to run.
        inputs: Input name -> numpy array, exactly the signature's inputs
            (dtypes castable within kind; dynamic dims set by the arrays).
        runs: Profiled runs; times are means over them.
        num_threads: XNNPACK / interpreter threads.
        warmup: Unprofiled runs before profiling (at least one is made).
        return_outputs: Also return the last run's outputs (`outputs`).

    Returns:
        A dict with:

        - `rows`: one per operator instance in execution order:
          `{"op", "node", "source", "ms", "count"}`: `op` the profiler's tag
          (XNNPACK operator name like `"Fully Connected (NC, F32) GEMM"`, or
          a builtin op name like `"GATHER"`), `node` a locator (`sg0#5
          GatherV2` = subgraph 0, node 5, first output tensor name, for
          builtin nodes; `xnn0/15` = 16th XNNPACK operator of the first
          XNNPACK partition), `source` `"xnnpack"` / `"builtin"` (/
          `"delegate"` for any other delegate), `ms` mean milliseconds per
          run, `count` occurrences per run.
        - `by_op`: rows aggregated by `(source, op)`, slowest first, with
          `pct` of `total_ms`.
        - `partitions`: each delegate partition: `node`, `ops` (operators
          per run), `ops_ms` (sum of its rows), and `ms`, the partition
          node's own time, when the delegate logs one (XNNPACK does not:
          None).
        - `runtime_events`: LiteRT/interpreter bookkeeping events (`Invoke`,
          `LiteRT::Run[buffer registration]`, `LiteRT::Run[Buffer sync]`),
          mean ms per run; `Invoke` encloses all ops.
        - `total_ms`: mean wall time of `LiteRtRunCompiledModel` per run
          (also `total_ms_median`); `profiled_ms`: sum of `rows`;
          `invoke_ms`: the outermost `Invoke` event; `unattributed_ms`:
          `invoke_ms - profiled_ms` (XNNPACK's truncation of each op time
          to whole microseconds, its per-invoke setup, interpreter
          overhead).
        - `summary`: `LiteRtGetProfileSummary`'s text (None if unavailable).
        - `input_shapes`, `output_shapes`, `runs`, `num_threads`,
          `signature`, `model`, `library`, `runtime_errors`, and
          `outputs` (name -> array) if `return_outputs`.

    Raises:
        ProfilerUnavailableError: The library lacks the profiler C API, or the
            compiled model has no profiler.
        LiteRtError: A LiteRT call failed (message has the status code).
        ValueError: `inputs` do not match the signature.
    """
    if runs < 1:
        raise ValueError("runs must be >= 1")
    api = _Api()
    model = _Model(api, model_path)
    options = ctypes.c_void_p()
    compiled = ctypes.c_void_p()
    buffers: list[ctypes.c_void_p] = []
    try:
        sig = model.signature(signature_key)
        sig_index = sig["index"]
        arrays = _prepare_inputs(sig["inputs"], inputs, signature_key)
        ref_shapes = None
        if any(d < 0 for t in sig["outputs"] for d in t["shape"]):
            ref_shapes = _reference_output_shapes(
                model_path, signature_key, {t["name"]: a for t, a in zip(sig["inputs"], arrays)},
                num_threads)

        # Options: CPU accelerator (XNNPACK delegate), thread count, profiling.
        api.call("LiteRtCreateOptions", ctypes.byref(options))
        api.call("LiteRtSetOptionsHardwareAccelerators", options, _K_LITERT_HW_ACCELERATOR_CPU)
        for ident, toml in (
            (_CPU_OPTIONS_ID, f"num_threads = {int(num_threads)}\n"),
            (_RUNTIME_OPTIONS_ID,
             f"enable_profiling = true\nerror_reporter_mode = {_K_LITERT_ERROR_REPORTER_MODE_BUFFER}\n"),
        ):
            opaque = _opaque_toml_option(api, ident, toml)
            status = api.LiteRtAddOpaqueOptions(options, opaque)
            if status != 0:  # not appended: still ours to free
                api.LiteRtDestroyOpaqueOptions(opaque)
                api.check(status, "LiteRtAddOpaqueOptions")
        api.call("LiteRtCreateCompiledModel", model.env, model.model, options,
                 ctypes.byref(compiled), detail=model_path)

        profiler = ctypes.c_void_p()
        status = api.LiteRtCompiledModelGetProfiler(compiled, ctypes.byref(profiler))
        if status != 0 or not profiler:
            raise ProfilerUnavailableError(
                f"LiteRtCompiledModelGetProfiler returned status {status} "
                f"({_STATUS_NAMES.get(status, '?')}): the runtime option "
                "'enable_profiling = true' was not honoured by this LiteRT build"
            )

        # Shapes: resize dynamic inputs to the given arrays, read outputs back.
        for i, (t, a) in enumerate(zip(sig["inputs"], arrays)):
            if any(d < 0 for d in t["shape"]):
                dims = (ctypes.c_int * max(a.ndim, 1))(*a.shape)
                api.call("LiteRtCompiledModelResizeInputTensor", compiled, sig_index, i, dims,
                         a.ndim, detail=f"input {t['name']!r} to {a.shape}")
        n_out = len(sig["outputs"])

        def output_shapes(update_allocation: bool) -> list[tuple[int, ...]]:
            layouts = (_LiteRtLayout * max(n_out, 1))()
            api.call("LiteRtGetCompiledModelOutputTensorLayouts", compiled, sig_index, n_out,
                     layouts, update_allocation)
            return [tuple(int(layouts[i].dimensions[j]) for j in range(layouts[i].rank))
                    for i in range(n_out)]

        out_shapes = output_shapes(True)
        if ref_shapes is not None:
            # A data-dependent output is only sized during the run: LiteRT
            # then writes past a buffer sized from the layouts above (seen
            # as a segfault), so buffers are sized from the reference run.
            # (The larger of the two, in case they ever disagree.)
            for i, t in enumerate(sig["outputs"]):
                ref = ref_shapes.get(t["name"], out_shapes[i])
                if _nbytes(ref, t["dtype"]) >= _nbytes(out_shapes[i], t["dtype"]):
                    out_shapes[i] = ref

        # Tensor buffers over aligned host memory (kept alive in `keep`).
        keep: list[np.ndarray] = []

        sizes: list[int] = []

        def make_buffer(kind: str, index: int, dtype: np.dtype, shape: tuple,
                        data: np.ndarray | None) -> ctypes.c_void_p:
            nbytes = _nbytes(shape, dtype)
            req, req_size = ctypes.c_void_p(), ctypes.c_size_t(0)
            if getattr(api, f"LiteRtGetCompiledModel{kind}BufferRequirements")(
                    compiled, sig_index, index, ctypes.byref(req)) == 0 and req:
                api.LiteRtGetTensorBufferRequirementsBufferSize(req, ctypes.byref(req_size))
            size = max(nbytes, req_size.value)
            sizes.append(size)
            mem = _aligned_empty(size + _LITERT_HOST_MEMORY_BUFFER_ALIGNMENT)
            if data is not None:
                mem[:nbytes] = data.reshape(-1).view(np.uint8)
            keep.append(mem)
            ttype = _ranked_type(dtype, shape)
            buf = ctypes.c_void_p()
            api.call("LiteRtCreateTensorBufferFromHostMemory", ctypes.byref(ttype),
                     ctypes.c_void_p(mem.ctypes.data), size, None, ctypes.byref(buf),
                     detail=f"{kind.lower()} {index}")
            buffers.append(buf)
            return buf

        in_bufs = [make_buffer("Input", i, a.dtype, a.shape, a) for i, a in enumerate(arrays)]
        out_bufs = [make_buffer("Output", i, t["dtype"], out_shapes[i], None)
                    for i, t in enumerate(sig["outputs"])]
        out_sizes = sizes[len(in_bufs):]
        out_mems = keep[len(in_bufs):]
        in_arr = (ctypes.c_void_p * max(len(in_bufs), 1))(*in_bufs)
        out_arr = (ctypes.c_void_p * max(len(out_bufs), 1))(*out_bufs)
        run_fn = api.LiteRtRunCompiledModel

        def run_once() -> None:
            status = run_fn(compiled, sig_index, len(in_bufs), in_arr, len(out_bufs), out_arr)
            if status != 0:
                raise LiteRtError("LiteRtRunCompiledModel", status,
                                  _compiled_model_errors(api, compiled))

        # First run: check that no output outgrew its buffer (an unexpected
        # data-dependent shape); LiteRT itself does not check.
        run_once()
        out_shapes = output_shapes(False)
        for t, shape, size in zip(sig["outputs"], out_shapes, out_sizes):
            if _nbytes(shape, t["dtype"]) > size:
                raise RuntimeError(
                    f"output {t['name']!r} of {signature_key!r} grew to {shape} during the run, "
                    f"past its {size}-byte buffer: its shape is data-dependent and the "
                    "reference run did not predict it")
        for _ in range(warmup - 1):
            run_once()

        def drain() -> list[tuple]:
            n = ctypes.c_int()
            api.call("LiteRtGetNumProfilerEvents", profiler, ctypes.byref(n))
            if n.value == 0:
                return []
            raw = (_ProfiledEventData * n.value)()
            api.call("LiteRtGetProfilerEvents", profiler, n.value, raw)
            return [((e.tag or b"").decode("utf-8", "replace"), e.event_type,
                     int(e.elapsed_time_us), int(e.event_metadata1), int(e.event_metadata2))
                    for e in raw]

        # Profiled runs. Events are fetched after every run: the buffer's tag
        # pointers die at the next reset, and per-run slices make counting
        # exact. LiteRtResetProfiler keeps the summarizer's accumulated state,
        # so LiteRtGetProfileSummary must digest each run before the reset.
        api.call("LiteRtCompiledModelClearErrors", compiled)
        summary_ptr = ctypes.c_void_p()
        summary: str | None = None
        wall_ms: list[float] = []
        per_run: list[list[tuple]] = []
        api.call("LiteRtStartProfiler", profiler)
        try:
            for _ in range(runs):
                t0 = time.perf_counter_ns()
                run_once()
                wall_ms.append((time.perf_counter_ns() - t0) / 1e6)
                api.call("LiteRtStopProfiler", profiler)
                per_run.append(drain())
                if api.LiteRtGetProfileSummary(profiler, compiled, ctypes.byref(summary_ptr)) == 0:
                    summary = api.take_c_string(summary_ptr.value)
                    summary_ptr = ctypes.c_void_p()
                api.call("LiteRtResetProfiler", profiler)
                api.call("LiteRtStartProfiler", profiler)
        finally:
            api.LiteRtStopProfiler(profiler)
        runtime_errors = _compiled_model_errors(api, compiled)

        # Aggregate: sums over runs, then means per run.
        op_acc: dict[tuple, list] = {}
        part_acc: dict[str, dict[str, Any]] = {}
        rt_acc: dict[str, list] = {}
        invoke_us: list[int] = []
        for events in per_run:
            run = _attribute_run(events, model)
            for key, us in run["ops"]:
                acc = op_acc.setdefault(key, [0, 0])
                acc[0] += us
                acc[1] += 1
            for p in run["partitions"]:
                acc = part_acc.setdefault(p["node"], {"op": p["container"], "source": p["source"],
                                                      "container_us": 0, "ops_us": 0, "n": 0,
                                                      "seen": 0})
                acc["container_us"] += p["container_us"] or 0
                acc["ops_us"] += p["ops_us"]
                acc["n"] += p["n"]
                acc["seen"] += 1
            for tag, us in run["runtime"]:
                acc = rt_acc.setdefault(tag, [0, 0])
                acc[0] += us
                acc[1] += 1
            if run["invoke_us"] is not None:
                invoke_us.append(run["invoke_us"])

        total_ms = statistics.fmean(wall_ms)
        rows = [{"op": op, "node": node, "source": src, "ms": us / runs / 1e3, "count": n / runs}
                for (src, op, node), (us, n) in op_acc.items()]
        profiled_ms = sum(r["ms"] for r in rows)
        by_op_acc: dict[tuple, list] = {}
        for r in rows:
            acc = by_op_acc.setdefault((r["source"], r["op"]), [0.0, 0.0])
            acc[0] += r["ms"]
            acc[1] += r["count"]
        by_op = sorted(
            ({"op": op, "source": src, "ms": ms, "count": n,
              "pct": 100.0 * ms / total_ms if total_ms else 0.0}
             for (src, op), (ms, n) in by_op_acc.items()),
            key=lambda r: -r["ms"],
        )
        partitions = [{"node": node, "op": p["op"], "source": p["source"],
                       "ms": p["container_us"] / runs / 1e3 if p["op"] else None,
                       "ops_ms": p["ops_us"] / runs / 1e3, "ops": p["n"] / runs,
                       "count": p["seen"] / runs}
                      for node, p in part_acc.items()]
        runtime_events = sorted(
            ({"tag": tag, "ms": us / runs / 1e3, "count": n / runs}
             for tag, (us, n) in rt_acc.items()),
            key=lambda r: -r["ms"],
        )
        invoke_ms = statistics.fmean(invoke_us) / 1e3 if len(invoke_us) == runs else None
        return {
            "model": os.path.abspath(model_path),
            "signature": signature_key,
            "library": api.path,
            "runs": runs,
            "num_threads": num_threads,
            "input_shapes": {t["name"]: list(a.shape) for t, a in zip(sig["inputs"], arrays)},
            "output_shapes": {t["name"]: list(s) for t, s in zip(sig["outputs"], out_shapes)},
            "total_ms": total_ms,
            "total_ms_median": statistics.median(wall_ms),
            "invoke_ms": invoke_ms,
            "profiled_ms": profiled_ms,
            "unattributed_ms": invoke_ms - profiled_ms if invoke_ms is not None else None,
            "rows": rows,
            "by_op": by_op,
            "partitions": partitions,
            "runtime_events": runtime_events,
            "summary": summary,
            "runtime_errors": runtime_errors or None,
            **({"outputs": {
                t["name"]: mem[:_nbytes(shape, t["dtype"])].view(t["dtype"]).reshape(shape).copy()
                for t, shape, mem in zip(sig["outputs"], out_shapes, out_mems)}}
               if return_outputs else {}),
        }
    finally:
        for buf in buffers:
            api.LiteRtDestroyTensorBuffer(buf)
        if compiled:
            api.LiteRtDestroyCompiledModel(compiled)
        if options:
            api.LiteRtDestroyOptions(options)  # also destroys the opaque options
        model.close()


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def format_by_op(result: dict[str, Any], top: int | None = None) -> str:
    """The by-op-type table and the time accounting, as text.

    Args:
        result: From `profile_signature`.
        top: Show only the `top` slowest op types (None: all).
    """
    total = result["total_ms"]

    def pct(ms: float) -> str:
        return f"{100 * ms / total:5.1f}%" if total else "  n/a"

    lines = [f"{result['signature']} of {result['model']}: {result['runs']} runs, "
             f"{result['num_threads']} thread(s)",
             f"{'op type':<44} {'source':<8} {'ms/run':>8} {'count':>6} {'%total':>7}"]
    shown = result["by_op"][:top] if top else result["by_op"]
    for r in shown:
        lines.append(f"{r['op'][:44]:<44} {r['source']:<8} {r['ms']:8.4f} "
                     f"{r['count']:6.0f} {pct(r['ms']):>7}")
    if top and len(result["by_op"]) > top:
        rest = result["by_op"][top:]
        rest_ms = sum(r["ms"] for r in rest)
        lines.append(f"{f'({len(rest)} more op types)':<44} {'':<8} {rest_ms:8.4f} "
                     f"{sum(r['count'] for r in rest):6.0f} {pct(rest_ms):>7}")
    prof = result["profiled_ms"]
    lines += ["",
              f"total: wall time of LiteRtRunCompiledModel  {total:8.4f} ms/run "
              f"(median {result['total_ms_median']:.4f})",
              f"profiled: sum of the op rows              {prof:8.4f} ms/run = {pct(prof)} of total"]
    if result["invoke_ms"] is not None:
        lines += [f"interpreter Invoke (encloses all ops)     {result['invoke_ms']:8.4f} ms/run = "
                  f"{pct(result['invoke_ms'])} of total",
                  f"  of which unattributed (Invoke - ops)    {result['unattributed_ms']:8.4f} ms/run = "
                  f"{pct(result['unattributed_ms'])} of total"]
    for p in result["partitions"]:
        outer = f", partition node {p['ms']:.4f} ms" if p["ms"] is not None else ""
        lines.append(f"{p['source']} partition {p['node']}: {p['ops']:.0f} ops, "
                     f"{p['ops_ms']:.4f} ms/run{outer}")
    for e in result["runtime_events"]:
        if e["tag"] != "Invoke":
            lines.append(f"runtime event {e['tag']}: {e['ms']:.4f} ms/run")
    if result.get("runtime_errors"):
        lines.append(f"runtime errors: {result['runtime_errors']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: profile a signature with placeholder inputs.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).
    """
    p = argparse.ArgumentParser(prog="python -m bench.op_profile", description=__doc__.split("\n")[0])
    p.add_argument("model", help="path of the .tflite model")
    p.add_argument("signature", help="signature key")
    p.add_argument("--runs", type=int, default=50, help="profiled runs (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up runs (default 5)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    p.add_argument("--batch", type=int, default=1, help="size of a dynamic leading dim (default 1)")
    p.add_argument("--seq-len", type=int, default=16,
                   help="size of other dynamic dims, e.g. source length (default 16)")
    p.add_argument("--top", type=int, default=0, help="show only the N slowest op types")
    p.add_argument("--rows", action="store_true", help="also print every operator instance")
    p.add_argument("--summary", action="store_true", help="also print LiteRT's profile summary")
    p.add_argument("--json", metavar="PATH", help="write the full result as JSON")
    args = p.parse_args(argv)

    details = signature_input_details(args.model, args.signature)
    inputs = default_inputs(details, batch=args.batch, seq_len=args.seq_len)
    result = profile_signature(args.model, args.signature, inputs, runs=args.runs,
                               num_threads=args.threads, warmup=args.warmup)
    print("inputs: " + ", ".join(f"{k}{tuple(v)}" for k, v in result["input_shapes"].items()))
    print(format_by_op(result, top=args.top or None))
    if args.rows:
        print("\nper operator instance (execution order):")
        for r in result["rows"]:
            print(f"  {r['source']:<8} {r['ms']:8.4f} ms x{r['count']:.0f}  {r['op']}  [{r['node']}]")
    if args.summary and result["summary"]:
        print("\n" + result["summary"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
