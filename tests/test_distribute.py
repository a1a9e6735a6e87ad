"""`zoo train --strategy mirrored|multiworker`: tf.distribute on local CPUs.

Mirrored runs on 2 logical CPU devices (`ZOO_CPU_DEVICES=2`); multi-worker on
2 local worker processes that find each other through `TF_CONFIG`. Both run
in subprocesses (the device layout and the cluster must be set before
TensorFlow starts) with time limits, and leave an ordinary run directory.
"""

import csv
import json
import math
import os
import socket
import subprocess
import sys

import pytest

TRAIN = [sys.executable, "-m", "zoo.cli", "train", "transformer", "--preset", "tiny", "--epochs", "1"]
PAIRS = ["--max-train-pairs", "600"]


def _env(**extra):
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_mirrored_on_two_cpu_devices_converts(tmp_path):
    from converters.convert import convert
    from ondevice.translator import Translator
    from zoo.training import load_run

    run_dir = tmp_path / "mirrored"
    result = subprocess.run(
        [*TRAIN, *PAIRS, "--out", str(run_dir), "--strategy", "mirrored"],
        env=_env(ZOO_CPU_DEVICES="2"),
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done"
    dist = info["distribution"]
    assert dist["strategy"] == "mirrored" and dist["replicas"] == 2 and dist["workers"] == 1
    assert dist["global_batch"] == 2 * dist["per_replica_batch"] == 2 * info["config"]["batch_size"]
    assert dist["peak_learning_rate"] == pytest.approx(info["config"]["learning_rate"] * 2**0.5)
    # The loss is averaged, not summed, over replicas (about ln(vocab) at the start).
    with open(run_dir / "history.csv", encoding="utf-8") as f:
        first_loss = float(next(csv.DictReader(f))["loss"])
    assert first_loss < 1.2 * math.log(info["config"]["target_vocabulary_size"])

    model, _, _, _ = load_run(str(run_dir))
    assert model.built
    artifact = tmp_path / "mirrored_f32"
    manifest = convert(str(run_dir), str(artifact), recipe="float32", num_verify=8, verbose=False)
    assert manifest["parity"]["sentence_agreement"] == 1.0
    assert len(Translator.from_artifact(str(artifact)).translate(["I am hungry."])) == 1


@pytest.mark.slow
def test_multiworker_two_local_processes(tmp_path):
    from zoo.training import load_run

    run_dir = tmp_path / "multiworker"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes, logs, temp_dirs = [], [], []
    try:
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            temp_dir = tmp_path / f"tmp{index}"  # where a non-chief worker writes
            temp_dir.mkdir()
            temp_dirs.append(temp_dir)
            log = open(tmp_path / f"worker{index}.log", "wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [*TRAIN, *PAIRS, "--out", str(run_dir), "--strategy", "multiworker"],
                    env=_env(TF_CONFIG=json.dumps(tf_config), TMPDIR=str(temp_dir)),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        codes = [p.wait(timeout=300) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
    output = [(tmp_path / f"worker{i}.log").read_bytes().decode(errors="replace")[-2000:] for i in range(2)]
    assert codes == [0, 0], output

    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done"
    assert info["distribution"]["workers"] == 2 and info["distribution"]["replicas"] == 2
    assert (run_dir / "model.keras").exists() and (run_dir / "history.csv").exists()
    assert not (run_dir / "backup").exists()
    assert list(temp_dirs[1].iterdir()) == []  # the non-chief removed its temporary outputs
    load_run(str(run_dir))


def test_multiworker_without_tf_config_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "transformer", "--out", str(tmp_path / "r"), "--strategy", "multiworker"]) == 2
    assert "TF_CONFIG" in capsys.readouterr().err.strip().splitlines()[-1]
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert main(["train", "transformer", "--out", str(tmp_path / "r"), "--strategy", "multiworker"]) == 2
    assert "TF_CONFIG is not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
