"""`zoo web`: serve the browser demo (`web_demo/`) and one artifact on localhost.

The page and LiteRT.js's WebAssembly files come from `web_demo/` (its
`node_modules/` is installed with `npm ci` the first time); the artifact's
files (only those directly in its directory) are served under `/artifact/`.
Python's standard library is enough: the single-threaded WebAssembly build
needs no special headers (`docs/notes/litertjs_spike.md`).
"""

import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import urllib.parse

from ondevice.errors import ZooError

WEB_DEMO = pathlib.Path(__file__).resolve().parent.parent / "web_demo"
LITERT_WASM = WEB_DEMO / "node_modules/@litertjs/core/wasm"
ARTIFACT_PREFIX = "/artifact/"
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".tflite": "application/octet-stream",
    ".txt": "text/plain; charset=utf-8",
    ".spm": "application/octet-stream",
}


class WebError(ZooError):
    """The demo cannot be served (no `web_demo/`, npm missing or failing)."""


def ensure_runtime(log=print):
    """Install LiteRT.js into `web_demo/node_modules` (`npm ci`) if it is missing."""
    if not (WEB_DEMO / "index.html").is_file():
        raise WebError(f"{WEB_DEMO} is missing: `zoo web` runs from a source checkout of this project")
    if LITERT_WASM.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise WebError("npm is not installed: it installs LiteRT.js for the page (Debian: apt-get install npm)")
    log(f"installing LiteRT.js into {WEB_DEMO / 'node_modules'} (npm ci)")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB_DEMO, capture_output=True, text=True)
    if result.returncode != 0 or not LITERT_WASM.is_dir():
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise WebError(f"npm ci failed in {WEB_DEMO}: {last[0]}")


class DemoHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of `web_demo/`, and `/artifact/NAME` from the artifact directory."""

    def __init__(self, *args, artifact, **kwargs):
        self.artifact = artifact
        super().__init__(*args, directory=str(WEB_DEMO), **kwargs)

    def translate_path(self, path):
        parsed = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        if parsed.startswith(ARTIFACT_PREFIX):
            name = parsed[len(ARTIFACT_PREFIX) :]
            if "/" in name or name in ("", ".", ".."):
                return os.path.join(self.artifact, ".missing")  # only files directly in the artifact
            return os.path.join(self.artifact, name)
        return super().translate_path(path)

    def guess_type(self, path):
        return CONTENT_TYPES.get(os.path.splitext(path)[1], super().guess_type(path))

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def make_server(artifact, host="127.0.0.1", port=8000):
    """A `ThreadingHTTPServer` for the page and `artifact` (port 0: any free port)."""
    handler = functools.partial(DemoHandler, artifact=os.path.abspath(artifact))
    return http.server.ThreadingHTTPServer((host, port), handler)
