"""`zoo` end to end through the console script: train -> convert -> translate -> eval."""

import os
import subprocess
import sys

import pytest

ZOO = [sys.executable, "-m", "zoo.cli"]


def run(*args, stdin=None, check=True):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([*ZOO, *args], input=stdin, capture_output=True, timeout=600, env=env)
    if check:
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result


# The LSTM here is trained for one epoch on 1,500 pairs: its logits are nearly
# flat, so dynamic_int8's argmax agreement sits at the recipe's 0.93 gate and
# flips with the machine (0.9298 on CI). The recipes themselves are gated on
# better-trained fixtures in test_convert.py; this test is about the CLI.
@pytest.mark.parametrize("family,recipe", [("transformer", "dynamic_int8"), ("lstm", "float32")])
def test_cli_end_to_end(tmp_path, family, recipe):
    run_dir, artifact = tmp_path / "runs" / "cli", tmp_path / "artifacts" / "cli"
    out = run("train", family, "--preset", "tiny", "--out", str(run_dir), "--epochs", "1", "--max-train-pairs", "1500")
    assert (run_dir / "model.keras").exists()
    # A log is short: one line per epoch (no per-batch lines when stdout is not a
    # terminal) and none of TensorFlow's start-up notices.
    assert [line for line in out.stdout.decode().splitlines() if "val_loss" in line] and len(out.stdout.splitlines()) < 6
    for noise in ("cudart_stub", "absl::InitializeLog", "cpu_feature_guard", "oneDNN custom operations"):
        assert noise not in out.stderr.decode()
    out = run("convert", str(run_dir), "--quant", recipe, "--out", str(artifact), "--num-verify", "16")
    assert b"decode_step" in out.stdout and (artifact / "model.tflite").exists()
    # In a log its progress is one line per stage, no carriage-return frames.
    stages = [line for line in out.stderr.decode().splitlines() if line.startswith(f"convert [{recipe}]")]
    assert len(stages) == 5 and b"\r" not in out.stderr, out.stderr.decode()[-2000:]

    out = run("translate", str(artifact), "I am hungry.", "Where is the cat?")
    assert len(out.stdout.decode().splitlines()) == 2
    out = run("translate", str(artifact), "--beam", "3", stdin="Hello.\n\nGood night.\n".encode())
    lines = out.stdout.decode().split("\n")
    assert lines[1] == "" and len(lines) >= 3  # blank line kept in place

    out = run("eval", str(artifact), "--max-sentences", "20", "--beam", "2")
    text = out.stdout.decode()
    assert "greedy" in text and "beam 2" in text and "lowercased" in text


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path):
    result = run("translate", str(tmp_path / "missing"), "hi", check=False)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("zoo translate: error:") and "Traceback" not in result.stderr.decode()
    result = run("convert", str(tmp_path / "norun"), "--out", str(tmp_path / "a"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr.decode()
    result = run("convert", str(tmp_path), "--quant", "int3", "--out", str(tmp_path / "a"), check=False)
    assert result.returncode == 2 and b"unknown quantization recipe" in result.stderr


def test_set_overrides_are_typed_and_checked():
    from zoo.cli import config_overrides

    assert config_overrides("lstm", "tiny", ["attention=bahdanau", "input_feeding=false", "dropout=0.2"]) == {
        "attention": "bahdanau",
        "input_feeding": False,
        "dropout": 0.2,
    }
    assert config_overrides("transformer", "tiny", ["num_heads=4"]) == {"num_heads": 4}
    for bad in (["attention"], ["colour=red"], ["input_feeding=maybe"], ["dropout=high"]):
        with pytest.raises(ValueError, match="--set"):
            config_overrides("lstm", "tiny", bad)
    result = run("train", "lstm", "--preset", "tiny", "--out", "unused", "--set", "nope=1", check=False)
    assert result.returncode == 2 and b"expected FIELD=VALUE" in result.stderr


def test_stage_progress_is_a_bar_on_a_terminal_and_lines_in_a_log():
    import io

    from converters.stage_progress import StageProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    log = io.StringIO()
    with StageProgress(2, "job", stream=log) as progress:
        for name in ("load", "write"):
            progress.set_description(f"job {name}")
            progress.update()
    assert log.getvalue().splitlines() == ["job load (1/2, 0 s)", "job write (2/2, 0 s)"]

    terminal = Terminal()
    with StageProgress(2, "job", stream=terminal) as progress:
        progress.set_description("job load")
        progress.update(2)
    assert "\r" in terminal.getvalue() and "2/2" in terminal.getvalue()

    quiet = io.StringIO()
    with StageProgress(2, "job", enabled=False, stream=quiet) as progress:
        progress.set_description("job load")
        progress.update()
    assert quiet.getvalue() == ""
