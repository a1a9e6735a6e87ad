"""Quantization recipes: converter settings and the parity each must reach.

| recipe        | weights | activations | calibration  |
| ------------- | ------- | ----------- | ------------ |
| float32       | float32 | float32     | -            |
| float16       | float16 | float32     | -            |
| dynamic_int8  | int8    | float32 (int8 on the fly in matmuls) | - |
| int8          | int8    | int8 (float fallback where no int8 kernel) | real sentences |
| int16x8       | int8    | int16       | real sentences |

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
    """

    name: str
    min_token_agreement: float
    max_logit_diff: float | None = None
    needs_calibration: bool = False

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


RECIPES = {
    r.name: r
    for r in (
        Recipe("float32", min_token_agreement=1.0, max_logit_diff=1e-3),
        Recipe("float16", min_token_agreement=0.97),
        Recipe("dynamic_int8", min_token_agreement=0.93),
        Recipe("int8", min_token_agreement=0.85, needs_calibration=True),
        Recipe("int16x8", min_token_agreement=0.95, needs_calibration=True),
    )
}


def get_recipe(name):
    if name not in RECIPES:
        raise ValueError(f"unknown quantization recipe {name!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[name]
