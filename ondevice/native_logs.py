"""Keep native libraries' informational lines out of the user's terminal.

LiteRT prints `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` on
stderr whenever it builds an interpreter, and TensorFlow prints CUDA and
CPU-feature notices before its logging is set up, all from C++, where
Python's `sys.stderr` and `TF_CPP_MIN_LOG_LEVEL` do not reach them.
`filtered_stderr` captures file descriptor 2 around such a call and writes
back every line except the ones matched, so real warnings and errors still
appear.
"""

import contextlib
import os
import re
import sys
import tempfile

LITERT_INFO = re.compile(r"^INFO: ")
"""LiteRT's informational lines (delegate creation)."""


@contextlib.contextmanager
def filtered_stderr(drop):
    """Capture native writes to stderr in this block; re-emit all lines but `drop`'s.

    Args:
        drop: a compiled regular expression; lines it matches (`search`) are dropped.
    """
    fd = 2  # what native code writes to, whatever `sys.stderr` is now
    _flush_python_stderr()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            _flush_python_stderr()
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not drop.search(line)]
            if kept:
                os.write(fd, "".join(kept).encode("utf-8"))


def _flush_python_stderr():
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass
