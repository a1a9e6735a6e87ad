"""The per-operator profiler (`bench.op_profile`, LiteRT's C profiler API through
ctypes): it runs a converted signature like the Python interpreter does and
reports every XNNPACK operator, so `zoo bench` can say where the time goes."""

import numpy as np
import pytest

from ondevice.manifest import load_manifest


@pytest.fixture(scope="module")
def artifact(convert_tiny):
    return load_manifest(convert_tiny("dynamic_int8"))


def test_profile_reports_each_xnnpack_operator_and_matches_the_interpreter(artifact):
    from ai_edge_litert.interpreter import Interpreter

    from bench.op_profile import default_inputs, profile_signature, signature_input_details

    path = artifact.path("model_file")
    step = artifact.decode_signatures[0]
    details = signature_input_details(path, step)
    inputs = default_inputs(details, batch=3, seq_len=7)
    rng = np.random.default_rng(0)
    for name, value in inputs.items():  # real values, not only zeros
        if value.dtype == np.float32 and value.ndim:
            inputs[name] = rng.normal(size=value.shape).astype(np.float32)
    result = profile_signature(path, step, inputs, runs=3, return_outputs=True)

    # Each XNNPACK operator is its own row, not one opaque delegate node.
    ops = {row["op"] for row in result["by_op"] if row["source"] == "xnnpack"}
    assert any(op.startswith("Fully Connected") for op in ops), ops
    fully_connected = sum(r["count"] for r in result["by_op"] if r["op"].startswith("Fully Connected"))
    assert fully_connected == artifact.data["ops"][step]["FULLY_CONNECTED"]
    assert 0 < result["profiled_ms"] <= result["invoke_ms"] <= result["total_ms"]
    assert result["unattributed_ms"] == pytest.approx(result["invoke_ms"] - result["profiled_ms"], abs=1e-9)

    interpreter = Interpreter(model_path=path, num_threads=1)
    expected = interpreter.get_signature_runner(step)(**inputs)
    for name, value in expected.items():
        np.testing.assert_array_equal(result["outputs"][name], value)


def test_bad_inputs_are_a_clear_error(artifact):
    from bench.op_profile import profile_signature

    with pytest.raises(ValueError, match="must be exactly"):
        profile_signature(artifact.path("model_file"), artifact.decode_signatures[0], {"token": np.zeros(2, np.int32)})
