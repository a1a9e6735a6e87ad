"""Read a `.tflite` flatbuffer: op counts per signature, weight bytes, and
how LiteRT's default XNNPACK delegate partitions each signature.

Only needs `ai_edge_litert` (the flatbuffer schema and the interpreter),
not TensorFlow, so the benchmark harness can use it on a device image.
"""

import collections
import importlib.metadata

try:
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils
except ImportError:  # an ai-edge-litert without the schema: TensorFlow's copies
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_CONTROL_FLOW_ATTRS = ("condSubgraphIndex", "bodySubgraphIndex", "thenSubgraphIndex", "elseSubgraphIndex")


def _op_name(code):
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return (code.customCode or b"CUSTOM").decode() if isinstance(code.customCode, bytes) else str(code.customCode)
    return _BUILTIN_NAMES.get(builtin, str(builtin))


def _signature_key(signature):
    key = signature.signatureKey
    return key.decode() if isinstance(key, bytes) else key


def op_counts(model_bytes):
    """Ops per signature, including the subgraphs it calls (WHILE bodies etc.).

    Args:
        model_bytes: bytes of a `.tflite` file.

    Returns:
        `{signature_key: Counter({op_name: count})}`.
    """
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    names = [_op_name(code) for code in model.operatorCodes]

    def subgraph_counts(index, seen):
        counts = collections.Counter()
        if index in seen:
            return counts
        seen.add(index)
        for op in model.subgraphs[index].operators or []:
            counts[names[op.opcodeIndex]] += 1
            options = op.builtinOptions
            for attr in _CONTROL_FLOW_ATTRS:
                if options is not None and hasattr(options, attr):
                    counts += subgraph_counts(getattr(options, attr), seen)
        return counts

    result = {}
    for signature in model.signatureDefs or []:
        result[_signature_key(signature)] = subgraph_counts(signature.subgraphIndex, set())
    return result



def tensor_types(model_bytes):
    """How many tensors of each type (`"FLOAT32"`, `"INT8"`, `"INT16"`, ...)
    the model holds, over all subgraphs."""
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    counts = collections.Counter()
    for subgraph in model.subgraphs:
        counts.update(names.get(t.type, str(t.type)) for t in subgraph.tensors)
    return counts


class XnnpackReportError(RuntimeError):
    """The XNNPACK partition report could not be made (LiteRT's private
    node API moved, or the runtime disagrees with the flatbuffer)."""


def xnnpack_partitions(model_bytes, num_threads=1):
    """How LiteRT's default XNNPACK delegate splits each signature.

    What an `ai_edge_litert.interpreter.Interpreter` with its default
    delegate (XNNPACK, applied to every subgraph on the first
    `allocate_tensors()`) runs for each signature's own subgraph: XNNPACK
    partitions (one DELEGATE node each) and the ops left to LiteRT's builtin
    kernels. Subgraphs a signature calls (WHILE/IF bodies) are not included;
    the calling op counts as one builtin op.

    LiteRT only lists the nodes of subgraph 0, so each signature is measured
    on a copy of the model whose subgraphs are reordered to put that
    signature's subgraph first (delegation is per subgraph, so the order
    does not change the partitioning).

    Args:
        model_bytes: bytes of a `.tflite` file.
        num_threads: int. Interpreter threads (partitioning does not depend on it).

    Returns:
        `{signature_key: {"ops": int, "partitions": int, "delegated_ops": int,
        "builtin_ops": {op_name: count}}}`, where `ops` is the signature
        subgraph's op count before delegation, `= delegated_ops +
        sum(builtin_ops.values())`.

    Raises:
        XnnpackReportError: the runtime's node list cannot be read or does
            not match the flatbuffer.
    """
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    names = [_op_name(code) for code in model.operatorCodes]
    result = {}
    for signature in model.signatureDefs or []:
        key, index = _signature_key(signature), signature.subgraphIndex
        expected = [names[op.opcodeIndex] for op in model.subgraphs[index].operators or []]
        if index == 0:
            data = bytes(model_bytes)
        else:
            _swap_subgraphs(model, 0, index)
            try:
                data = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
            finally:
                _swap_subgraphs(model, 0, index)
        result[key] = _partition_report(key, expected, _delegated_nodes(data, num_threads))
    return dict(sorted(result.items()))


def _swap_subgraphs(model, a, b):
    """Swap subgraphs `a` and `b` of a `ModelT` in place, with every
    reference to them (signatures, control-flow and StableHLO op options)."""

    def remap(index):
        return b if index == a else a if index == b else index

    model.subgraphs[a], model.subgraphs[b] = model.subgraphs[b], model.subgraphs[a]
    for signature in model.signatureDefs or []:
        signature.subgraphIndex = remap(signature.subgraphIndex)
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            for options in (op.builtinOptions, getattr(op, "builtinOptions2", None)):
                for attr, value in vars(options).items() if options is not None else ():
                    if attr == "subgraph" or attr.endswith(("SubgraphIndex", "SubgraphIndices")):
                        if isinstance(value, int):
                            setattr(options, attr, remap(value))
                        elif value is not None:
                            setattr(options, attr, [remap(int(v)) for v in value])


def _delegated_nodes(model_bytes, num_threads):
    """Subgraph 0's node list after the default delegate was applied."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes, num_threads=num_threads)
    interpreter.allocate_tensors()  # applies the default (XNNPACK) delegate
    return runtime_nodes(interpreter)


def runtime_nodes(interpreter):
    """`[(op_name, input_ids, output_ids)]`: every node of an allocated
    interpreter's subgraph 0: its original ops in flatbuffer order (kept even
    when a delegate took them over), then one `"DELEGATE"` node per delegate
    partition.

    The one use of LiteRT's private API (`Interpreter._interpreter`, the
    pybind wrapper, whose `NumNodes`/`NodeName`/`NodeInputs`/`NodeOutputs`
    see subgraph 0 only; the private `Interpreter._get_ops_details()` is
    built on them). `tests/test_tflite_inspect.py` fails if it moves.
    """
    try:
        wrapper = interpreter._interpreter
        return [
            (
                str(wrapper.NodeName(i)),
                [int(t) for t in wrapper.NodeInputs(i)],
                [int(t) for t in wrapper.NodeOutputs(i)],
            )
            for i in range(int(wrapper.NumNodes()))
        ]
    except (AttributeError, TypeError) as e:
        raise XnnpackReportError(
            f"ai_edge_litert {importlib.metadata.version('ai-edge-litert')} moved the private node API "
            f"that converters.tflite_inspect.runtime_nodes reads ({type(e).__name__}: {e})"
        ) from None


def _partition_report(key, expected, nodes):
    """Partitions and builtin ops of one subgraph from its runtime node list.

    A DELEGATE node's outputs are computed from its inputs by exactly the
    ops it replaced: walk back from the outputs, stopping at the inputs.
    """
    original, delegates = nodes[: len(expected)], nodes[len(expected) :]
    if [name for name, _, _ in original] != expected or any(name != "DELEGATE" for name, _, _ in delegates):
        raise XnnpackReportError(
            f"{key}: LiteRT's node list ({len(nodes)} nodes) is not the signature's "
            f"{len(expected)} ops followed by DELEGATE nodes"
        )
    producer = {t: i for i, (_, _, outputs) in enumerate(original) for t in outputs if t >= 0}
    delegated = set()
    for _, inputs, outputs in delegates:
        boundary, stack, partition = set(inputs), list(outputs), set()
        while stack:
            node = producer.get(stack.pop())
            if node is None or node in partition:
                continue
            partition.add(node)
            stack.extend(t for t in original[node][1] if t >= 0 and t not in boundary)
        if not partition or partition & delegated:
            raise XnnpackReportError(f"{key}: a DELEGATE node's ops cannot be told apart")
        delegated |= partition
    builtin = collections.Counter(name for i, (name, _, _) in enumerate(original) if i not in delegated)
    return {
        "ops": len(original),
        "partitions": len(delegates),
        "delegated_ops": len(delegated),
        "builtin_ops": dict(sorted(builtin.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
