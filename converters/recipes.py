"""Quantization recipes: converter settings and the parity each must reach.

| recipe        | weights | activations | calibration  |
| ------------- | ------- | ----------- | ------------ |
| float32       | float32 | float32     | -            |
| float16       | float16 | float32     | -            |
| dynamic_int8  | int8    | float32 (int8 on the fly in matmuls) | - |
| int8          | int8    | int8 in the matmuls and embedding lookups, float elsewhere | real sentences |
| int16x8       | int8 (int16 embedding tables) | int16 in the matmuls and embedding lookups, float elsewhere | real sentences |

Full int8 and int16x8 are *selective*: FULLY_CONNECTED and GATHER (every weight matrix of
the model: projections, feed-forward blocks, embeddings, output layer) run
with int8 weights and int8 activations; attention scores/softmax, masking
and layer-norm statistics stay float. Quantizing those too (plain
`Optimize.DEFAULT` + representative dataset) dropped argmax agreement with
Keras to 0.27 on a test model, because the masked attention scores (-1e9)
swallow the int8 range; with this split it was 0.986 at the same size.
It uses the converter's calibrate-only mode and the MLIR quantizer's
`denylisted_ops` (the mechanism behind `tf.lite.experimental.QuantizationDebugger`).

int16x8 goes through the same MLIR path with int16 activations. TF 2.21's
other 16x8 route (`EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`,
the legacy quantizer) fails on any model that does int32 arithmetic on token
ids ("Max and min for dynamic tensors should be recorded": Keras' `take`
wraps negative indices with int32 LESS/ADD/SELECT). The MLIR quantizer
computes the symmetric int16 ranges with zero point -1 instead of 0, which
LiteRT's 16x8 kernels reject; `symmetric_int16_zero_points` sets them to 0
(shifting the range by one step of 1/65535 of its width).

`dynamic_int8` stores a tied token table (joint vocabulary) once
(`share_token_tables`).

Thresholds are checked on real sentences by `converters.verify`: the share of
decode steps whose argmax agrees with Keras along the Keras greedy path
(`min_token_agreement`), and for float32 also the largest logit difference.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One quantization recipe.

    Args:
        name: str. Recipe name used on the command line and in manifests.
        min_token_agreement: float. Lowest acceptable step-level argmax
            agreement with the Keras model.
        max_logit_diff: float or None. Largest acceptable absolute logit
            difference (float32 only).
        needs_calibration: bool. Uses a representative dataset.
        int8_ops: tuple of TFLite op names. If set, only these ops are
            quantized (selective full-integer quantization).
        activations: str. Integer type of quantized activations, `"int8"`
            or `"int16"` (with `int8_ops`).
        dynamic_activations: bool. Activations are quantized at run time
            from their own range (so padding a batch changes the numbers a
            little, as in the static-shape web model).
        share_tables: bool. Store a tied token table once
            (`share_token_tables`).
    """

    name: str
    min_token_agreement: float
    max_logit_diff: float | None = None
    needs_calibration: bool = False
    int8_ops: tuple = ()
    activations: str = "int8"
    dynamic_activations: bool = False
    share_tables: bool = False

    def configure(self, converter, representative_dataset=None):
        """Apply this recipe to a `tf.lite.TFLiteConverter`."""
        import tensorflow as tf  # here: the recipe table itself is read without TensorFlow (`zoo web`)

        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if self.name == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif self.name != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if self.needs_calibration:
            converter.representative_dataset = representative_dataset
        return converter

    def convert(self, converter, representative_dataset=None):
        """Configure `converter`, run it and return the `.tflite` bytes."""
        self.configure(converter, representative_dataset)
        if not self.int8_ops:
            model_bytes = converter.convert()
            return share_token_tables(model_bytes) if self.share_tables else model_bytes
        from tensorflow.compiler.mlir.lite import types_pb2
        from tensorflow.lite.python import convert as lite_convert

        from converters.tflite_inspect import op_counts

        converter.experimental_mlir_quantizer = True
        converter._experimental_calibrate_only = True  # calibrated float model + statistics
        calibrated = widen_degenerate_ranges(converter.convert())
        present = set().union(*op_counts(calibrated).values())
        denylisted = sorted(present - set(self.int8_ops))
        if self.activations == "int16":
            quantized = lite_convert.mlir_quantize(
                calibrated, inference_type=types_pb2.QUANTIZED_INT16, denylisted_ops=denylisted
            )
            return symmetric_int16_zero_points(quantized)
        return lite_convert.mlir_quantize(calibrated, denylisted_ops=denylisted)


def widen_degenerate_ranges(calibrated, half_width=1e-3):
    """Give tensors that were constant during calibration a usable range.

    The calibrator records a tensor that was always zero as [0, FLT_MIN];
    quantized, that is a denormal scale, which XNNPACK refuses to run
    ("failed to prepare"). Such ranges are widened to contain
    [-half_width, half_width].

    Args:
        calibrated: bytes. A calibrate-only model (float, with statistics).
        half_width: float. Half width of the widened range.

    Returns:
        The model bytes with widened statistics.
    """
    import numpy as np
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    changed = False
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            q = tensor.quantization
            if q is None or q.min is None or q.max is None or len(q.min) == 0:
                continue
            low, high = np.asarray(q.min, np.float32), np.asarray(q.max, np.float32)
            narrow = (high - low) < 2 * half_width
            if narrow.any():
                q.min = np.where(narrow, np.minimum(low, -half_width), low).astype(np.float32)
                q.max = np.where(narrow, np.maximum(high, half_width), high).astype(np.float32)
                changed = True
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)) if changed else calibrated


def share_token_tables(model_bytes):
    """Store a token table used by both a lookup and the output layer once.

    With one joint vocabulary (`shared_vocabulary`) the embedding table and
    the output projection are the same matrix, but dynamic-range
    quantization writes it twice: for GATHER with one scale for the whole
    table, for FULLY_CONNECTED with one scale per row. A hybrid
    FULLY_CONNECTED (float input) whose int8 weights equal a GATHER table up
    to the two roundings is pointed at the table's buffer and scale, and
    buffers no tensor reads any more are emptied. On the Multi30k
    Transformer this saves 0.82 MB of 3.74 at the same val BLEU (beam 5:
    40.52 against 40.53 lowercased).

    Args:
        model_bytes: bytes. A dynamic-range quantized model.

    Returns:
        The model bytes, unchanged if no table is shared.
    """
    import numpy as np

    from converters.tflite_inspect import _op_name, flatbuffer_utils, schema

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    names = [_op_name(code) for code in model.operatorCodes]
    int8 = schema.TensorType.INT8

    def constant_int8(tensor, per_tensor):
        q = tensor.quantization
        data = model.buffers[tensor.buffer].data
        if tensor.type != int8 or len(tensor.shape) != 2 or data is None or q is None or q.scale is None:
            return None
        if np.any(np.asarray(q.zeroPoint)) or (per_tensor and len(q.scale) != 1):
            return None
        return np.frombuffer(bytes(data), np.int8).reshape(tuple(tensor.shape))

    tables = {}  # shape -> {buffer: (tensor, int8 values)} of the GATHER tables
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            if names[op.opcodeIndex] == "GATHER":
                table = subgraph.tensors[op.inputs[0]]
                values = constant_int8(table, per_tensor=True)
                if values is not None:
                    tables.setdefault(tuple(table.shape), {})[table.buffer] = (table, values)
    replaced = set()  # buffers of the weight matrices now read from a table
    for subgraph in model.subgraphs:
        for op in subgraph.operators or []:
            if names[op.opcodeIndex] != "FULLY_CONNECTED":
                continue
            weights = subgraph.tensors[op.inputs[1]]
            if subgraph.tensors[op.inputs[0]].type != schema.TensorType.FLOAT32 or tuple(weights.shape) not in tables:
                continue
            values = constant_int8(weights, per_tensor=False)
            if values is None:
                continue
            row_scales = np.broadcast_to(np.asarray(weights.quantization.scale, np.float32), (len(values),))
            for buffer, (table, table_values) in tables[tuple(weights.shape)].items():
                table_scale = float(table.quantization.scale[0])
                difference = np.abs(values * row_scales[:, None] - table_values * table_scale)
                if weights.buffer != buffer and np.all(difference <= (row_scales[:, None] + table_scale) / 2 + 1e-6):
                    replaced.add(weights.buffer)  # the same matrix, up to the two roundings
                    weights.buffer = buffer
                    weights.quantization = table.quantization
                    break
    if not replaced:
        return model_bytes
    read = {tensor.buffer for subgraph in model.subgraphs for tensor in subgraph.tensors}
    read |= {entry.buffer for entry in model.metadata or []} | set(model.metadataBuffer or [])
    for index in replaced - read:
        model.buffers[index].data = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def symmetric_int16_zero_points(model_bytes):
    """Set the zero point of every int16 tensor to 0 (LiteRT's 16x8 contract).

    Args:
        model_bytes: bytes. A model quantized with int16 activations.

    Returns:
        The fixed model bytes.

    Raises:
        ValueError: if a zero point is not -1, 0 or 1 (an asymmetric range
            that cannot be made symmetric by this rounding fix).
    """
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            q = tensor.quantization
            if tensor.type != schema.TensorType.INT16 or q is None or q.zeroPoint is None:
                continue
            zero_points = np.asarray(q.zeroPoint)
            if np.abs(zero_points).max(initial=0) > 1:
                raise ValueError(f"int16 tensor {tensor.name!r} has zero point {zero_points.tolist()}")
            q.zeroPoint = np.zeros_like(zero_points)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


RECIPES = {
    r.name: r
    for r in (
        Recipe("float32", min_token_agreement=1.0, max_logit_diff=1e-3),
        Recipe("float16", min_token_agreement=0.97),
        Recipe("dynamic_int8", min_token_agreement=0.93, dynamic_activations=True, share_tables=True),
        Recipe("int8", min_token_agreement=0.85, needs_calibration=True, int8_ops=("FULLY_CONNECTED", "GATHER")),
        Recipe(
            "int16x8",
            min_token_agreement=0.95,
            needs_calibration=True,
            int8_ops=("FULLY_CONNECTED", "GATHER"),
            activations="int16",
        ),
    )
}


def get_recipe(name):
    if name not in RECIPES:
        raise ValueError(f"unknown quantization recipe {name!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[name]
