"""Export a zoo model's `encode` / `decode_step` as SavedModel signatures.

Uses `keras.export.ExportArchive` (track the model, one endpoint per
signature, `write_out`): converting Keras 3 layers from bare `tf.function`s
can lose the weights (see DESIGN.md).
"""

import keras
import tensorflow as tf


def decode_step_signature(model):
    """Input specs of `decode_step`: token, step, then every decoder tensor."""
    specs = [tf.TensorSpec((None,), tf.int32, name="token"), tf.TensorSpec((), tf.int32, name="step")]
    specs += [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.decoder_tensor_specs()]
    return specs


def export_saved_model(model, directory):
    """Write a SavedModel with exactly the `encode` and `decode_step` signatures.

    Args:
        model: a zoo model (`encode`, `decode_step`, `decoder_tensor_specs`).
        directory: str. Where to write the SavedModel.
    """
    names = [t.name for t in model.decoder_tensor_specs()]

    def encode(source_ids):
        return model.encode(source_ids)

    def decode_step(token, step, *tensors):
        return model.decode_step(token, step, **dict(zip(names, tensors)))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "encode", encode, input_signature=[tf.TensorSpec((None, None), tf.int32, name="source_ids")]
    )
    archive.add_endpoint("decode_step", decode_step, input_signature=decode_step_signature(model))
    archive.write_out(directory, verbose=False)
