"""Export a zoo model's signatures (`encode` / `decode_step`, or those it
declares with `signature_specs()`) as SavedModel signatures.

Uses `keras.export.ExportArchive` (track the model, one endpoint per
signature, `write_out`): converting Keras 3 layers from bare `tf.function`s
can lose the weights. The signatures: docs/architecture.md, "The step
contract".
"""

import keras
import tensorflow as tf

from zoo.step_model import model_signatures


def _endpoint(model, signature):
    method = getattr(model, signature.method)
    names = [t.name for t in signature.inputs]

    def endpoint(*args):
        return method(**dict(zip(names, args)))

    return endpoint


def export_saved_model(model, directory, signatures=None):
    """Write a SavedModel with exactly the model's signatures.

    Args:
        model: a zoo model.
        directory: str. Where to write the SavedModel.
        signatures: list of `zoo.step_model.Signature` (default: the model's).

    Returns:
        The list of signatures written.
    """
    signatures = signatures or model_signatures(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for signature in signatures:
        specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in signature.inputs]
        archive.add_endpoint(signature.name, _endpoint(model, signature), input_signature=specs)
    archive.write_out(directory, verbose=False)
    return signatures
