"""Read a `.tflite` flatbuffer: op counts per signature, weight bytes."""

import collections

from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _op_name(code):
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return (code.customCode or b"CUSTOM").decode() if isinstance(code.customCode, bytes) else str(code.customCode)
    return _BUILTIN_NAMES.get(builtin, str(builtin))


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
            for attr in ("condSubgraphIndex", "bodySubgraphIndex", "thenSubgraphIndex", "elseSubgraphIndex"):
                if options is not None and hasattr(options, attr):
                    counts += subgraph_counts(getattr(options, attr), seen)
        return counts

    result = {}
    for signature in model.signatureDefs or []:
        key = signature.signatureKey.decode() if isinstance(signature.signatureKey, bytes) else signature.signatureKey
        result[key] = subgraph_counts(signature.subgraphIndex, set())
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
