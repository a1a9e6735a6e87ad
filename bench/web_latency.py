"""Decoding speed in the browser (LiteRT.js, WebAssembly, 1 thread) beside the Python runtime.

One artifact, the same sentences, greedy, one sentence at a time, measured in one run with
rounds interleaved (the machine is shared); the fastest round of each is kept:

- Python: `ondevice.litert_model.LiteRTStepModel` on `model.tflite`, 1 thread; the time of
  `start` (encoder) and of each `state.step` call;
- browser: the demo page from `zoo web` in headless Chromium, on `model_web.tflite`; the
  page's own counters (`LiteRTStepModel.decodeMs / decodeSteps`, `encodeMs`), after its
  warm-up.

Writes a Markdown report (and a screenshot of the page if asked):

    python -m bench.web_latency artifacts/A artifacts/B --out docs/bench/web_demo.md --screenshot docs/web_demo.png
"""

import argparse
import os
import shutil
import threading
import time

import numpy as np

from converters.web_export import export_web, web_model_current
from ondevice.litert_model import LiteRTStepModel
from ondevice.manifest import load_manifest
from ondevice.translator import Translator
from zoo import atomic
from zoo.datasets.parallel_text import load_corpus
from zoo.web_server import ensure_runtime, make_server


def python_greedy(translator, model, sentences):
    """(texts, decode ms per step, encoder ms per sentence, steps) with the Python runtime.

    The steps are timed in a plain argmax loop; the texts are `zoo translate`'s."""
    special = model.manifest.special_tokens
    step_seconds, encode_seconds, steps = 0.0, 0.0, 0
    for sentence in sentences:
        ids = translator.encode_text(sentence)
        start = time.perf_counter()
        state = model.start(np.asarray([ids], np.int32))
        encode_seconds += time.perf_counter() - start
        try:
            token = special["start"]
            for _ in range(model.manifest.max_target_length):
                start = time.perf_counter()
                logits = state.step(np.asarray([token], np.int32))
                step_seconds += time.perf_counter() - start
                steps += 1
                token = int(np.argmax(logits[0]))
                if token == special["end"]:
                    break
        finally:
            state.close()
    texts = translator.translate(sentences)
    return texts, 1e3 * step_seconds / steps, 1e3 * encode_seconds / len(sentences), steps


class Page:
    """The demo page driven in headless Chromium (Selenium + Debian's chromium-driver);
    `tests/test_web_demo.py` drives it with this class too.

    Args:
        window_size: str. `WIDTH,HEIGHT` of the window (screenshots).
        timeout: float. Seconds to wait for the page to load or translate.
    """

    def __init__(self, window_size="900,660", timeout=600):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={window_size}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        self.timeout = timeout

    def state(self):
        """`loading`, `ready`, `busy` or `error` (`document.body.dataset.state`)."""
        return self.driver.execute_script("return document.body.dataset.state")

    def text(self, element_id):
        return self.driver.find_element("id", element_id).text

    def wait(self, states):
        """Wait until the page's state is one of `states`; returns it."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, self.timeout).until(lambda d: self.state() in states)
        return self.state()

    def open(self, url):
        """Load the page at `url` and wait for the model: `ready` or `error`."""
        self.driver.get(url)
        return self.wait(("ready", "error"))

    def translate(self, sentences, beam=1):
        """The page's `window.zoo.lastRun` after translating `sentences` (one per line);
        `RuntimeError` with the page's message if it failed."""
        from selenium.webdriver.support.ui import Select

        source = self.driver.find_element("id", "source")
        self.driver.execute_script("arguments[0].value = arguments[1];", source, "\n".join(sentences))
        Select(self.driver.find_element("id", "beam")).select_by_value(str(beam))
        self.driver.find_element("id", "translate").click()
        self.wait(("ready",))
        error = self.driver.execute_script("return window.zoo.error")
        if error:
            raise RuntimeError(f"{error} ({self.text('status')})")
        return self.driver.execute_script("return window.zoo.lastRun")

    def close(self):
        self.driver.quit()


def measure(artifact, data, count, rounds, screenshot=None):
    """Python and browser figures for one artifact (a table row each)."""
    if not web_model_current(artifact, (1, 4)):
        export_web(artifact)
    manifest = load_manifest(artifact)
    model = LiteRTStepModel(manifest, num_threads=1)
    translator = Translator.from_artifact(artifact, num_threads=1)
    fits = [s for s, _ in load_corpus(data).val if len(translator.source_tokenizer.tokenize(s)) <= manifest.max_source_length]
    sentences = fits[:count]
    server = make_server(artifact, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    name = os.path.basename(os.path.normpath(artifact))
    page = Page()
    try:
        if page.open(f"http://127.0.0.1:{server.server_address[1]}/?name={name}") != "ready":
            raise RuntimeError(page.text("status"))
        python_best, browser_best = None, None
        for _ in range(rounds):
            texts, step_ms, encode_ms, steps = python_greedy(translator, model, sentences)
            if python_best is None or step_ms < python_best[1]:
                python_best = (texts, step_ms, encode_ms, steps)
            run = page.translate(sentences)
            encode = run["encodeMs"] / len(sentences)
            if browser_best is None or run["msPerStep"] < browser_best[1]:
                browser_best = (run["translations"], run["msPerStep"], encode, run["decodeSteps"])
        if screenshot:
            page.translate(sentences[:3])
            page.driver.save_screenshot(screenshot)
    finally:
        page.close()
        server.shutdown()
    same = sum(a == b for a, b in zip(python_best[0], browser_best[0]))
    recipe = manifest.data.get("quantization", {}).get("recipe", "?")
    megabytes = os.path.getsize(os.path.join(artifact, "model_web.tflite")) / 1e6
    head = f"| `{name}` | {recipe} | {megabytes:.2f}"
    return len(sentences), [
        f"{head} | Python `ondevice`, LiteRT {_litert_version()} | {python_best[1]:.3f} | {python_best[2]:.2f} | - |",
        f"{head} | Chromium, LiteRT.js 2.5.3 | {browser_best[1]:.3f} | {browser_best[2]:.2f} | {same}/{len(sentences)} |",
        f"{head} | **browser / Python** | **{browser_best[1] / python_best[1]:.1f}x** | {browser_best[2] / python_best[2]:.1f}x | |",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="+")
    parser.add_argument("--data", default=None, help="sentences: the validation split's sources (default: bundled Tatoeba)")
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True, help="Markdown report")
    parser.add_argument("--screenshot", default=None, help="PNG of the page (first artifact) after a few sentences")
    args = parser.parse_args(argv)

    ensure_runtime()
    rows = []
    for i, artifact in enumerate(args.artifacts):
        count, lines = measure(artifact, args.data, args.sentences, args.rounds, args.screenshot if i == 0 else None)
        rows += lines
    table = "\n".join(rows)
    report = f"""# The browser demo's decoding speed

`python -m bench.web_latency {' '.join(args.artifacts)}`: {count} validation sentences per
artifact, greedy, one sentence at a time; Python (`ondevice.litert_model`, XNNPACK, 1 thread) on
`model.tflite` and headless Chromium (the `zoo web` page: LiteRT.js WebAssembly + XNNPACK,
1 thread, the page's own counters after its warm-up) on `model_web.tflite`, measured in one
run with rounds interleaved, the fastest of {args.rounds} kept; this machine has 2 shared CPU cores.

| artifact | recipe | web model MB | runtime | decode ms per step | encoder ms per sentence | same text as Python |
| --- | --- | --- | --- | --- | --- | --- |
{table}
"""
    atomic.write_text(args.out, report)
    print(report)


def _litert_version():
    import importlib.metadata

    return importlib.metadata.version("ai-edge-litert")


if __name__ == "__main__":
    main()
