"""Nothing lost: a killed `zoo train` resumes, a failed `zoo convert` writes nothing.

Training is killed with SIGKILL in the middle of an epoch, once a mid-epoch
`BackupAndRestore` state exists, and the same command is run again: it must
resume from that state (not from scratch) and finish with a usable model.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ondevice.manifest import load_manifest, sha256_file

ZOO = [sys.executable, "-m", "zoo.cli"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _wait_for(predicate, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def _metadata(backup):
    try:
        return json.loads((backup / "training_metadata.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def test_sigkill_mid_epoch_then_rerun_resumes(tmp_path):
    from ondevice.tokenizer import WordPieceTokenizer
    from ondevice.translator import Translator
    from zoo.keras_step_model import KerasStepModel
    from zoo.datasets.parallel_text import load_corpus
    from zoo.losses import MaskedSequenceLoss
    from zoo.text_tokenizer import END_ID, PAD_ID, START_ID
    from zoo.training import load_run

    run_dir = tmp_path / "run"
    backup = run_dir / "backup"
    command = [*ZOO, "train", "transformer", "--preset", "tiny", "--out", str(run_dir)]
    command += ["--epochs", "2", "--max-train-pairs", "1200"]  # 38 steps/epoch, a backup every 9 steps

    def mid_second_epoch():
        metadata = _metadata(backup)
        return metadata is not None and metadata["epoch"] >= 1 and metadata["batch"] > 0

    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        reached = _wait_for(mid_second_epoch, process, timeout=300)
        assert reached, f"no mid-epoch backup (exit {process.poll()}): {process.stderr.read().decode()[-2000:]}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    saved = _metadata(backup)
    assert saved["epoch"] >= 1 and saved["batch"] > 0  # killed mid-epoch, after a mid-epoch backup
    assert json.loads((run_dir / "run.json").read_text())["status"] == "training"
    assert not (run_dir / "model.keras").exists()

    result = subprocess.run(command, env=ENV, capture_output=True, timeout=300)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr[-3000:]
    assert f"resuming from the backup in {run_dir} at epoch {saved['epoch'] + 1}" in stderr

    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done"
    assert [(r["epoch"], r["batch"]) for r in info["resumes"]] == [(saved["epoch"], saved["batch"])]
    with open(run_dir / "history.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    epochs = [int(row["epoch"]) for row in rows]
    # Epoch 0 was trained once (before the kill); the rerun continued at the saved epoch.
    assert epochs.count(0) == 1 and sorted(set(epochs)) == [0, 1], epochs
    # The training time counts the epoch trained before the kill too.
    epoch_seconds = [float(row["epoch_seconds"]) for row in rows]
    assert all(s > 0 for s in epoch_seconds) and info["train_seconds"] == round(sum(epoch_seconds), 1)
    assert not backup.exists()  # removed once training finished
    assert not [p.name for p in run_dir.rglob(".tmp-*")]

    # A usable model: it loads (safe mode), holds trained weights and translates.
    # (Conversion of a run is tested elsewhere.) Two short epochs may still
    # decode some sentence to "", so "trained" is measured as a loss: on
    # pairs it trained on, the loaded model is far better than the same
    # architecture freshly initialized.
    model, _, source_vocab, target_vocab = load_run(str(run_dir))
    source_tokenizer, target_tokenizer = WordPieceTokenizer(source_vocab), WordPieceTokenizer(target_vocab)
    pairs = load_corpus().train[:16]  # among the 1,200 pairs it trained on
    sources = [source_tokenizer.tokenize(s)[: model.max_source_length] for s, _ in pairs]
    targets = [[START_ID, *target_tokenizer.tokenize(t)[: model.max_target_length - 1], END_ID] for _, t in pairs]

    def padded(rows):
        width = max(map(len, rows))
        return np.array([row + [PAD_ID] * (width - len(row)) for row in rows], dtype="int32")

    inputs = {"encoder_inputs": padded(sources), "decoder_inputs": padded([t[:-1] for t in targets])}
    labels = padded([t[1:] for t in targets])

    cross_entropy = MaskedSequenceLoss(label_smoothing=0.0, pad_id=PAD_ID)  # the training loss, unsmoothed

    def loss(m):
        return float(cross_entropy(labels, m(inputs, training=False)))  # mean over non-pad target tokens

    fresh = model.__class__.from_config(model.get_config())
    assert loss(model) < loss(fresh) - 0.5, (loss(model), loss(fresh))
    special = {"pad": PAD_ID, "start": START_ID, "end": END_ID}
    translator = Translator(
        KerasStepModel(model), source_tokenizer, target_tokenizer, special, model.max_source_length, model.max_target_length,
    )  # fmt: skip
    outputs = translator.translate([s for s, _ in pairs])
    assert len(outputs) == len(pairs) and all(isinstance(o, str) for o in outputs)


def test_sigkilled_vae_training_resumes_with_its_time(tmp_path):
    """A VAE trains through the same loop: its mid-epoch backup survives a
    SIGKILL, the rerun resumes from it and `train_seconds` adds up."""
    from zoo.training import load_run

    run_dir = tmp_path / "run"
    backup = run_dir / "backup"
    args = ["train", "image_vae", "--preset", "tiny", "--out", str(run_dir), "--epochs", "2"]
    # The first run kills itself (SIGKILL) right after the first mid-epoch
    # backup of its second epoch: deterministic, whatever the machine's load.
    killed = f"""
import os, signal, sys
from zoo import training
save = training.ResumableBackup._save_model
def save_then_die(self):
    save(self)
    if self._current_epoch >= 1 and self._last_batch_seen > 0:
        os.kill(os.getpid(), signal.SIGKILL)
training.ResumableBackup._save_model = save_then_die
from zoo.cli import main
sys.exit(main({args!r}))
"""
    result = subprocess.run([sys.executable, "-c", killed], env=ENV, capture_output=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode(errors="replace")[-3000:]
    saved = _metadata(backup)
    assert saved["epoch"] == 1 and saved["batch"] > 0  # killed mid-epoch, after a mid-epoch backup
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "training" and info["task"] == "image_vae"
    assert not (run_dir / "model.keras").exists()
    assert (run_dir / "checkpoints" / "epoch_0001.weights.h5").exists()  # per-epoch checkpoints, as translators

    result = subprocess.run([*ZOO, *args], env=ENV, capture_output=True, timeout=300)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr[-3000:]
    assert f"resuming from the backup in {run_dir} at epoch 2" in stderr

    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "done" and info["distribution"]["strategy"] == "default"
    assert [(r["epoch"], r["batch"]) for r in info["resumes"]] == [(saved["epoch"], saved["batch"])]
    with open(run_dir / "history.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [0, 1]  # epoch 0 trained once, before the kill
    epoch_seconds = [float(row["epoch_seconds"]) for row in rows]
    assert all(s > 0 for s in epoch_seconds) and info["train_seconds"] == round(sum(epoch_seconds), 1)
    assert not backup.exists() and not [p.name for p in run_dir.rglob(".tmp-*")]
    for name in ("training_curves.png", "checkpoints/best.keras", "checkpoints/epoch_0002.weights.h5"):
        assert (run_dir / name).exists(), name

    model, _, _, _ = load_run(str(run_dir))
    assert model.task == "image_vae"
    # The optimizer state came back from the backup: its steps continue
    # (the cut epoch is run again from its first batch).
    steps = info["steps_per_epoch"]
    assert int(model.optimizer.iterations.numpy()) == 2 * steps + saved["batch"] + 1


class _Interrupted(BaseException):
    pass


def test_failing_convert_leaves_nothing(convert_tiny, tiny_run, tmp_path, monkeypatch):
    import converters.convert as conversion

    convert_tiny("float32")  # converted before the patch below (session fixture)
    out = tmp_path / "artifacts" / "fresh"
    staged = []

    def fail_mid_write(path, data):  # model.tflite is already staged when the manifest is written
        staged.append(os.listdir(os.path.dirname(path)))
        raise _Interrupted("killed while writing")

    monkeypatch.setattr(conversion.atomic, "write_json", fail_mid_write)
    with pytest.raises(_Interrupted):
        conversion.convert(tiny_run, str(out), recipe="float32", num_verify=4, verbose=False)
    assert "model.tflite" in staged[0]  # it failed mid-write
    assert list((tmp_path / "artifacts").iterdir()) == []  # no output path, no staging leftovers


def test_sigkilled_convert_keeps_the_good_artifact(convert_tiny, tiny_run, tmp_path):
    good = tmp_path / "good"
    shutil.copytree(convert_tiny("float32"), good)
    before = {p.name: sha256_file(p) for p in good.iterdir()}
    # The conversion kills itself with SIGKILL in the middle of writing the artifact.
    code = f"""
import os, signal, sys
import converters.convert as conversion
def die(path, data):
    assert "model.tflite" in os.listdir(os.path.dirname(path))
    os.kill(os.getpid(), signal.SIGKILL)
conversion.atomic.write_json = die
conversion.convert({tiny_run!r}, {str(good)!r}, recipe="float32", num_verify=4, verbose=False)
"""
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode(errors="replace")[-2000:]
    assert {p.name: sha256_file(p) for p in good.iterdir()} == before
    load_manifest(str(good))
    # A killed process cannot clean up: its staging directory is a hidden sibling, never the output path.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "good"]
    assert all(name.startswith(".tmp-good-") for name in leftovers), leftovers
