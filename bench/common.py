"""What the benchmark's sections share: the worker subprocess and the run summary.

Standard library only, so every other `bench` module may import it.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile

WORKER_MODULE = "bench.worker"


def run_worker(spec, log_path=None, timeout=None):
    """Run `bench.worker` on `spec` in a subprocess.

    Returns:
        The worker's result dict (with `peak_rss_mb`, the subprocess's own
        peak resident memory).
    """
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        spec_path, result_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "result.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        log = open(log_path, "a", encoding="utf-8") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, spec_path, result_path],
                stdout=log,
                stderr=log,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"worker timed out after {timeout} s") from None
        finally:
            if log_path:
                log.close()
        result = None
        if os.path.exists(result_path):
            with open(result_path, encoding="utf-8") as f:
                result = json.load(f)
        if result is not None and "error" in result:
            raise RuntimeError(result["error"])
        if proc.returncode != 0 or result is None:
            raise RuntimeError(f"worker exited with {proc.returncode}" + (f" (log: {log_path})" if log_path else ""))
        return result


def run_summary(run_dir, run_info):
    """The training run behind a family's rows: config, data, epochs, best val loss."""
    history = os.path.join(run_dir, "history.csv")
    epochs, best_val = None, None
    if os.path.exists(history):
        with open(history, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        epochs = len(rows)
        losses = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
        best_val = min(losses) if losses else None
    return {
        "run_dir": os.path.abspath(run_dir),
        "family": run_info["family"],
        "preset": run_info.get("preset"),
        "config": run_info.get("config"),
        "training": run_info.get("training"),
        "data": run_info.get("data"),
        "train_pairs": run_info.get("train_pairs"),
        "status": run_info.get("status"),
        "train_seconds": run_info.get("train_seconds"),
        "epochs_logged": epochs,
        "best_val_loss": best_val,
        "note": run_info.get("note"),
    }
