"""Values in a `.tflite` file that LiteRT trusts and crashes on: refused first.

LiteRT verifies the flatbuffer *structure* of a file before it builds an
interpreter (`VerifyAndBuildFromFile`), and most bad values inside a valid
structure are reported as errors when the kernels are prepared. Fuzzing
(`tests/test_fuzz_artifacts.py`) found a few that crash the process instead
(SIGSEGV in `allocate_tensors`, ai-edge-litert 2.3); `check_model_values`
refuses them, after the interpreter is built and before it allocates:

- a quantization scale that is not a positive normal float32 number (a
  QUANTIZE output with scale -9.3e-12, or 3.57e-43, crashed);
- a zero point outside the range of its tensor's type (an INT8 tensor with
  zero point 2197815300 crashed);
- an absent input (index -1) to an operator that has no optional inputs (a
  STRIDED_SLICE without its strides crashed);
- an operator without outputs; a SPLIT, SPLIT_V, UNPACK or PACK without its
  options or whose options count other outputs (inputs) than it has (a
  SPLIT with `num_splits` 419430403, or none, crashed);
- a signature naming a subgraph or a tensor that does not exist (subgraph
  2147483647 crashed);
- a constant tensor (data in the file, memory-mapped read-only) that an
  operator writes or that is a subgraph input (a BATCH_MATMUL output pointed
  at a weight buffer crashed when the signature ran).

This is a list of the crashes seen, not a proof that no other value crashes
LiteRT: run models you did not convert yourself through
`ondevice.isolation.check_artifact_in_subprocess` first.
"""

import mmap

import numpy as np

from ondevice.errors import ArtifactError

# Operators with optional inputs: the input positions that may be absent (-1),
# or None for any (their kernels check every optional input).
OPTIONAL_INPUTS = {
    "FULLY_CONNECTED": {2},
    "CONV_2D": {2},
    "DEPTHWISE_CONV_2D": {2},
    "CONV_3D": {2},
    "TRANSPOSE_CONV": {3},
    "CONV_3D_TRANSPOSE": {3},
    "LSTM": None,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": None,
    "BIDIRECTIONAL_SEQUENCE_LSTM": None,
    "BIDIRECTIONAL_SEQUENCE_RNN": None,
    "SVDF": None,
    "CUSTOM": None,
}
SMALLEST_SCALE = float(np.finfo(np.float32).tiny)  # 1/scale must be finite (3.57e-43 crashed)
# Operators whose options count their outputs (inputs): (options, field, side).
COUNTED = {
    "SPLIT": ("SplitOptions", "NumSplits", "outputs"),
    "SPLIT_V": ("SplitVOptions", "NumSplits", "outputs"),
    "UNPACK": ("UnpackOptions", "Num", "outputs"),
    "PACK": ("PackOptions", "ValuesCount", "inputs"),
}
ZERO_POINT_RANGES = {  # by TensorType name
    "INT4": (-8, 7),
    "INT8": (-128, 127),
    "UINT8": (0, 255),
    "INT16": (-32768, 32767),
    "UINT16": (0, 65535),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**31), 2**31 - 1),
}


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:  # the legacy tflite_runtime has no schema module: nothing is checked
        return None
    return schema


def _names(enum):
    return {value: name for name, value in vars(enum).items() if not name.startswith("_") and isinstance(value, int)}


def check_model_values(model_path=None, model_content=None, where=None):
    """Raise `ArtifactError` if the model holds a value known to crash LiteRT.

    Args:
        model_path: str. The `.tflite` file (memory-mapped, not read).
        model_content: bytes. The model itself (instead of a path).
        where: str. How to name the model in errors.

    The file must already have passed LiteRT's flatbuffer verifier.
    """
    schema = _schema()
    if schema is None:
        return
    where = where or model_path or "model bytes"
    if model_content is not None:
        _check(schema, model_content, where)
        return
    with open(model_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
        _check(schema, buffer, where)


def _check(schema, buffer, where):
    try:
        problem = _first_problem(schema, buffer)
    except Exception as e:  # noqa: BLE001 - a file the verifier passed but this reader cannot follow
        problem = f"unreadable ({type(e).__name__}: {e})"
    if problem:
        raise ArtifactError(f"{where}: not a loadable .tflite model: {problem}")


def _first_problem(schema, buffer):
    model = schema.Model.GetRootAsModel(buffer, 0)
    operators = _names(schema.BuiltinOperator)
    types = _names(schema.TensorType)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(operators.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode())))
    for i in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(i)
        g = signature.SubgraphIndex()
        if not 0 <= g < model.SubgraphsLength():
            return f"signature {i} names subgraph {g} (the model has {model.SubgraphsLength()})"
        size = model.Subgraphs(g).TensorsLength()
        for maps, count in ((signature.Inputs, signature.InputsLength()), (signature.Outputs, signature.OutputsLength())):
            if any(not 0 <= maps(k).TensorIndex() < size for k in range(count)):
                return f"signature {i} names a tensor that subgraph {g} does not have"
    constant_buffers = {
        b for b in range(1, model.BuffersLength()) if model.Buffers(b).DataLength() or model.Buffers(b).Size()
    }
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        constants = set()
        for i in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(i)
            if tensor.Buffer() in constant_buffers and not tensor.IsVariable():
                constants.add(i)
            quantization = tensor.Quantization()
            if quantization is None:
                continue
            scales = quantization.ScaleAsNumpy()
            if not isinstance(scales, int) and len(scales) and not (np.isfinite(scales).all() and (scales >= SMALLEST_SCALE).all()):
                return f"subgraph {g} tensor {i} has quantization scales that are not positive normal numbers"
            zero_points = quantization.ZeroPointAsNumpy()
            bounds = ZERO_POINT_RANGES.get(types.get(tensor.Type()))
            if bounds and not isinstance(zero_points, int) and len(zero_points):
                if int(zero_points.min()) < bounds[0] or int(zero_points.max()) > bounds[1]:
                    return f"subgraph {g} tensor {i} has a zero point outside the {types[tensor.Type()]} range"
        written = set(_indices(subgraph.InputsAsNumpy()))
        for i in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(i)
            outputs = _indices(operator.OutputsAsNumpy())
            written.update(outputs)
            index = operator.OpcodeIndex()
            name = codes[index] if 0 <= index < len(codes) else None
            if name is None:
                continue  # an unknown operator: LiteRT reports it
            if not outputs:
                return f"subgraph {g} operator {i} ({name}) has no outputs"
            inputs = operator.InputsAsNumpy()
            if not isinstance(inputs, int) and len(inputs) and int(inputs.min()) < 0:
                allowed = OPTIONAL_INPUTS.get(name, set())
                absent = {k for k, tensor in enumerate(inputs.tolist()) if tensor < 0}
                if allowed is not None and not absent <= allowed:
                    return f"subgraph {g} operator {i} ({name}) lacks required input {min(absent - allowed)}"
            if name in COUNTED:
                problem = _count_problem(schema, operator, name)
                if problem:
                    return f"subgraph {g} operator {i} ({name}) {problem}"
        if written & constants:
            return f"subgraph {g} writes into constant tensor {min(written & constants)} (an input or an operator's output)"
    return None


def _indices(vector):
    return [] if isinstance(vector, int) else vector.tolist()


def _count_problem(schema, operator, name):
    """SPLIT, SPLIT_V, UNPACK, PACK: their options give the number of outputs (inputs) they have."""
    options_name, field, side = COUNTED[name]
    table = operator.BuiltinOptions()
    if operator.BuiltinOptionsType() != getattr(schema.BuiltinOptions, options_name) or table is None:
        return f"has no {options_name}"
    options = getattr(schema, options_name)()
    options.Init(table.Bytes, table.Pos)
    count = getattr(options, field)()
    actual = operator.OutputsLength() if side == "outputs" else operator.InputsLength()
    if count != actual:
        return f"says {count} {side} but has {actual}"
    return None
