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
    assert dist["global_batch"] == 2 * dist["per_replica_batch"] == 2 * info["training"]["batch_size"]
    assert dist["peak_learning_rate"] == pytest.approx(info["training"]["learning_rate"] * 2**0.5)
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


def test_sentence_vae_mirrored_on_two_cpu_devices(tmp_path):
    """A VAE trains through the same loop: `--strategy mirrored` is used and recorded."""
    from zoo.training import load_run

    run_dir = tmp_path / "vae_mirrored"
    command = [sys.executable, "-m", "zoo.cli", "train", "sentence_vae", "--preset", "tiny", "--epochs", "1"]
    result = subprocess.run(
        [*command, *PAIRS, "--out", str(run_dir), "--strategy", "mirrored"],
        env=_env(ZOO_CPU_DEVICES="2"),
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done" and info["task"] == "text_vae"
    dist = info["distribution"]
    assert dist["strategy"] == "mirrored" and dist["replicas"] == 2 and dist["workers"] == 1
    assert dist["global_batch"] == 2 * dist["per_replica_batch"] == 2 * info["training"]["batch_size"]
    assert dist["peak_learning_rate"] == pytest.approx(info["training"]["learning_rate"] * 2**0.5)
    assert dist["kl_anneal_steps"] == round(info["config"]["kl_anneal_steps"] / 2)  # same examples, half the steps
    with open(run_dir / "history.csv", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    # The VAE's own metrics, gathered over the replicas: validation -ELBO = reconstruction + KL.
    assert float(row["val_loss"]) == pytest.approx(float(row["val_reconstruction"]) + float(row["val_kl"]), rel=1e-4)
    assert float(row["epoch_seconds"]) > 0 and (run_dir / "checkpoints" / "epoch_0001.weights.h5").exists()

    model, _, _, _ = load_run(str(run_dir))
    assert model.task == "text_vae" and model.built


def test_vae_gradients_are_averaged_over_replicas():
    """One SGD step of a VAE on 2 replicas moves the weights as on one device
    (each replica's loss is divided by the replicas; the gradients are summed)."""
    code = """
import keras, numpy as np, tensorflow as tf
from zoo import image_vae
from zoo.training import make_strategy

mirrored = make_strategy("mirrored")
assert mirrored.num_replicas_in_sync == 2
images = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
start = None

def step(strategy):
    global start
    with strategy.scope():
        model = image_vae.build_model(image_vae.get_preset("tiny", kl_schedule="linear", kl_anneal_steps=2).model)
        model.sample_latent = lambda z_mean, z_log_var: z_mean  # a deterministic objective
        model(images[:1])
        start = start or model.get_weights()
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    model.fit(tf.data.Dataset.from_tensor_slices(images).batch(8).repeat(2), epochs=1, verbose=0)
    return [w - s for w, s in zip(model.get_weights(), start)]

for one, two in zip(step(tf.distribute.get_strategy()), step(mirrored)):
    np.testing.assert_allclose(two, one, rtol=1e-3, atol=1e-6)
print("same step")
"""
    result = subprocess.run([sys.executable, "-c", code], env=_env(ZOO_CPU_DEVICES="2"), capture_output=True, timeout=300)
    assert result.returncode == 0 and b"same step" in result.stdout, result.stderr.decode(errors="replace")[-3000:]


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
