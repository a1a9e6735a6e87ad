"""Progress through the named stages of a long command (`zoo convert`, `zoo bench`).

On a terminal it is a tqdm bar; in a log (stderr not a terminal) it prints one
line per stage as the stage starts, so the log holds no carriage-return frames.
"""

import sys
import time

from tqdm.auto import tqdm


class StageProgress:
    """A tqdm-like bar over `total` stages that falls back to one line per stage.

    Args:
        total: int. Number of stages.
        desc: str. Name shown before the first stage starts.
        enabled: bool. Show nothing when False.
        stream: text stream or None. Where to write (default `sys.stderr`).
    """

    def __init__(self, total, desc, enabled=True, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.n, self.started = total, 0, time.monotonic()
        self.lines = enabled and not _is_terminal(self.stream)
        self.bar = None
        if enabled and not self.lines:
            self.bar = tqdm(total=total, desc=desc, file=self.stream, bar_format="{desc}: {n}/{total} {bar} {elapsed}")

    def set_description(self, desc):
        """Start the stage `desc`."""
        if self.bar is not None:
            self.bar.set_description(desc)
        elif self.lines:
            elapsed = time.monotonic() - self.started
            print(f"{desc} ({self.n + 1}/{self.total}, {elapsed:.0f} s)", file=self.stream, flush=True)

    def update(self, n=1):
        """Mark `n` more stages done."""
        self.n += n
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False
