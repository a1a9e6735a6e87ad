"""Quantization recipes: converter settings and the parity each must reach.

| recipe        | weights | activations | calibration  |
| ------------- | ------- | ----------- | ------------ |
| float32       | float32 | float32     | -            |
| float16       | float16 | float32     | -            |
| dynamic_int8  | int8    | float32 (int8 on the fly in matmuls) | - |
| int8          | int8    | int8 in the matmuls and embedding lookups, float elsewhere | real sentences |
| int16x8       | int8    | int16       | real sentences |

Full int8 is *selective*: FULLY_CONNECTED and GATHER (every weight matrix of
the model: projections, feed-forward blocks, embeddings, output layer) run
with int8 weights and int8 activations; attention scores/softmax, masking
and layer-norm statistics stay float. Quantizing those too (plain
`Optimize.DEFAULT` + representative dataset) dropped argmax agreement with
Keras to 0.27 on a test model, because the masked attention scores (-1e9)
swallow the int8 range; with this split it was 0.986 at the same size.
It uses the converter's calibrate-only mode and the MLIR quantizer's
`denylisted_ops` (the mechanism behind `tf.lite.experimental.QuantizationDebugger`).

Thresholds are checked on real sentences by `converters.verify`: the share of
decode steps whose argmax agrees with Keras along the Keras greedy path
(`min_token_agreement`), and for float32 also the largest logit difference.
"""

import dataclasses

import tensorflow as tf


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
    """

    name: str
    min_token_agreement: float
    max_logit_diff: float | None = None
    needs_calibration: bool = False
    int8_ops: tuple = ()

    def configure(self, converter, representative_dataset=None):
        """Apply this recipe to a `tf.lite.TFLiteConverter`."""
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if self.name == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif self.name == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif self.name == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative_dataset
        elif self.name == "int16x8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative_dataset
            ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, *ops]
        converter.target_spec.supported_ops = ops
        return converter

    def convert(self, converter, representative_dataset=None):
        """Configure `converter`, run it and return the `.tflite` bytes."""
        self.configure(converter, representative_dataset)
        if not self.int8_ops:
            return converter.convert()
        from tensorflow.lite.python import convert as lite_convert

        from converters.tflite_inspect import op_counts

        converter.experimental_mlir_quantizer = True
        converter._experimental_calibrate_only = True  # calibrated float model + statistics
        calibrated = converter.convert()
        present = set().union(*op_counts(calibrated).values())
        denylisted = sorted(present - set(self.int8_ops))
        return lite_convert.mlir_quantize(calibrated, denylisted_ops=denylisted)


RECIPES = {
    r.name: r
    for r in (
        Recipe("float32", min_token_agreement=1.0, max_logit_diff=1e-3),
        Recipe("float16", min_token_agreement=0.97),
        Recipe("dynamic_int8", min_token_agreement=0.93),
        Recipe("int8", min_token_agreement=0.85, needs_calibration=True, int8_ops=("FULLY_CONNECTED", "GATHER")),
        Recipe("int16x8", min_token_agreement=0.95, needs_calibration=True),
    )
}


def get_recipe(name):
    if name not in RECIPES:
        raise ValueError(f"unknown quantization recipe {name!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[name]
