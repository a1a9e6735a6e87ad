"""Keras ops for the inference graphs (`encode`, `decode_step`) of every family.

The inference methods are written for what a phone's CPU delegate runs in one
piece; the few helpers several families need live here.
"""

from keras import ops

# The most inputs the CPU delegate (XNNPACK) concatenates in one op: a larger
# concatenation runs on the slow builtin kernel and splits the graph.
MAX_CONCATENATION_INPUTS = 4


def concatenate(tensors, axis):
    """`ops.concatenate` as a tree of concatenations of at most
    `MAX_CONCATENATION_INPUTS` inputs each (same result).

    Args:
        tensors: list of tensors, equal in every dimension but `axis`.
        axis: int. The axis to concatenate along.
    """
    n = MAX_CONCATENATION_INPUTS
    while len(tensors) > 1:
        groups = [tensors[i : i + n] for i in range(0, len(tensors), n)]
        tensors = [ops.concatenate(group, axis=axis) if len(group) > 1 else group[0] for group in groups]
    return tensors[0]
