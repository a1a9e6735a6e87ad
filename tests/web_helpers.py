"""Shared by the tests that run the browser demo's runtime (Node, Chromium)."""

import json
import pathlib
import subprocess

import pytest

WEB = pathlib.Path(__file__).resolve().parent.parent / "web_demo"
_setup = {}


def browser_setup():
    """Install what the browser tests need (once per session); skip with the reason if impossible."""
    if "reason" not in _setup:
        result = subprocess.run(
            ["bash", str(WEB / "tools/setup_browser_test.sh")], capture_output=True, text=True, timeout=1200
        )
        reason = None
        if result.returncode == 3:
            reason = result.stderr.strip().splitlines()[-1]
        elif result.returncode != 0:
            pytest.fail(f"setup_browser_test.sh failed: {(result.stderr or result.stdout)[-2000:]}")
        _setup["reason"] = reason
    if _setup["reason"]:
        pytest.skip(_setup["reason"])


def node_translations(artifact, sentences, beam):
    result = subprocess.run(
        ["node", "tools/translate.mjs", str(artifact), "--beam", str(beam)],
        input=json.dumps(sentences),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=WEB,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])
