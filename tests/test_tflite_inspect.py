"""XNNPACK partition report of `converters.tflite_inspect` (checked on the
tiny converted models) and the private LiteRT node API it rests on."""

import json
import os
import types

import numpy as np
import pytest

from converters import tflite_inspect
from converters.convert import summary
from converters.tflite_inspect import XnnpackReportError, op_counts, runtime_nodes, xnnpack_partitions

CASES = [("transformer", "float32"), ("transformer", "dynamic_int8"), ("lstm", "float32")]


def _artifact(convert_tiny, family, recipe):
    artifact = convert_tiny(recipe, family)
    with open(os.path.join(artifact, "model.tflite"), "rb") as f:
        model_bytes = f.read()
    with open(os.path.join(artifact, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    return model_bytes, manifest


def _interpreter(model_bytes, **options):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes, num_threads=1, **options)
    interpreter.allocate_tensors()
    return interpreter


def _first(model_bytes, signature):
    """The model with `signature`'s subgraph moved to index 0."""
    model = tflite_inspect.flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    index = next(s.subgraphIndex for s in model.signatureDefs if tflite_inspect._signature_key(s) == signature)
    tflite_inspect._swap_subgraphs(model, 0, index)
    return bytes(tflite_inspect.flatbuffer_utils.convert_object_to_bytearray(model))


def test_runtime_nodes_private_api(convert_tiny):
    """`runtime_nodes` reads LiteRT's private node API; if ai_edge_litert
    moves or changes it, this fails (the report would be wrong or absent)."""
    from ai_edge_litert.interpreter import OpResolverType

    model_bytes, _ = _artifact(convert_tiny, "transformer", "float32")
    wrapper = _interpreter(model_bytes)._interpreter
    for name in ("NumNodes", "NodeName", "NodeInputs", "NodeOutputs"):
        assert hasattr(wrapper, name), f"ai_edge_litert's interpreter wrapper lost {name}; fix tflite_inspect.runtime_nodes"

    model = tflite_inspect.flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    names = [tflite_inspect._op_name(code) for code in model.operatorCodes]
    expected = [names[op.opcodeIndex] for op in model.subgraphs[0].operators]
    plain = runtime_nodes(_interpreter(model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    assert [name for name, _, _ in plain] == expected  # subgraph 0, flatbuffer order, no delegate
    for (_, inputs, outputs), op in zip(plain, model.subgraphs[0].operators):
        assert inputs == list(op.inputs) and outputs == list(op.outputs)

    delegated = runtime_nodes(_interpreter(model_bytes))  # default delegate: the same nodes, then the partitions
    assert [name for name, _, _ in delegated[: len(expected)]] == expected
    assert {name for name, _, _ in delegated[len(expected) :]} == {"DELEGATE"}


def test_runtime_nodes_reports_a_moved_api():
    with pytest.raises(XnnpackReportError, match="private node API"):
        runtime_nodes(types.SimpleNamespace())


@pytest.mark.parametrize("family,recipe", CASES)
def test_xnnpack_report_is_consistent(convert_tiny, family, recipe):
    from ai_edge_litert.interpreter import OpResolverType

    model_bytes, manifest = _artifact(convert_tiny, family, recipe)
    report = xnnpack_partitions(model_bytes)
    assert manifest["xnnpack"] == report  # what the conversion stored
    counts = op_counts(model_bytes)
    assert set(report) == set(counts) == set(manifest["signatures"])
    assert report["decode_step"]["partitions"] >= 1

    for signature, entry in report.items():
        builtin = entry["builtin_ops"]
        # no WHILE/IF in these models: the signature's subgraph is all its ops
        assert entry["ops"] == sum(counts[signature].values())
        assert entry["delegated_ops"] + sum(builtin.values()) == entry["ops"]
        assert all(count > 0 for count in builtin.values()) and set(builtin) <= set(counts[signature])
        assert 1 <= entry["partitions"] <= entry["delegated_ops"]

        first = _first(model_bytes, signature)
        plain = _interpreter(first, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        assert plain._interpreter.NumNodes() == entry["ops"]  # the subgraph before delegation
        # Independent count: without node fusion every delegated op is its own DELEGATE node.
        single = runtime_nodes(_interpreter(first, experimental_disable_delegate_node_fusion=True))
        assert sum(name == "DELEGATE" for name, _, _ in single) == entry["delegated_ops"]
        fused = runtime_nodes(_interpreter(first))
        assert sum(name == "DELEGATE" for name, _, _ in fused) == entry["partitions"]

        # What XNNPACK can and cannot take: float matmuls always, gathers and
        # in-place cache updates never.
        assert "FULLY_CONNECTED" not in builtin
        for op in ("GATHER", "DYNAMIC_UPDATE_SLICE"):
            assert builtin.get(op, 0) == counts[signature].get(op, 0), op


def test_reordered_model_runs_like_the_original(convert_tiny):
    """Moving a signature's subgraph to index 0 changes nothing it computes:
    with the default delegate, `encode` gives bit-identical outputs in place
    (subgraph 1) and moved first (also evidence that LiteRT delegates
    non-primary subgraphs the same way)."""
    model_bytes, _ = _artifact(convert_tiny, "transformer", "float32")
    ids = np.random.default_rng(0).integers(3, 50, size=(4, 12)).astype(np.int32)

    def encode(data):
        runner = _interpreter(data).get_signature_runner("encode")
        return runner(source_ids=ids.astype(runner.get_input_details()["source_ids"]["dtype"]))

    original, moved = encode(model_bytes), encode(_first(model_bytes, "encode"))
    assert sorted(original) == sorted(moved)
    for name in original:
        np.testing.assert_array_equal(original[name], moved[name])


def test_partition_report_walks_back_to_the_delegate_inputs():
    # t0 -A-> t1 -B-> t2 -C-> t3, plus D: t2 -> t4; XNNPACK took A and B (one
    # partition, t0 -> t2) and D (another, t2 -> t4); C stays builtin.
    nodes = [
        ("A", [0, 9], [1]),
        ("B", [1], [2]),
        ("C", [2], [3]),
        ("D", [2], [4]),
        ("DELEGATE", [0, 9], [2]),
        ("DELEGATE", [2], [4]),
    ]
    report = tflite_inspect._partition_report("sig", ["A", "B", "C", "D"], nodes)
    assert report == {"ops": 4, "partitions": 2, "delegated_ops": 3, "builtin_ops": {"C": 1}}
    with pytest.raises(XnnpackReportError, match="node list"):
        tflite_inspect._partition_report("sig", ["A", "B", "X", "D"], nodes)


def test_summary_has_one_xnnpack_line_per_signature(convert_tiny):
    _, manifest = _artifact(convert_tiny, "transformer", "float32")
    task = types.SimpleNamespace(summary=lambda parity: "parity")
    lines = summary(manifest, task).splitlines()
    for signature, entry in manifest["xnnpack"].items():
        partitions = entry["partitions"]
        head = f"  {signature}: {entry['ops']} ops, {partitions} XNNPACK partition{'' if partitions == 1 else 's'} "
        assert sum(line.startswith(head) for line in lines) == 1, lines
