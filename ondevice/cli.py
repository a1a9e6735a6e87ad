"""`zoo translate`: on-device translation from the command line.

Sentences come from the arguments or, one per line, from stdin (streamed in
chunks, so memory stays bounded for any input size). Output: one line per
input line, in order.
"""

import io
import sys

from ondevice.errors import InputError
from ondevice.translator import Translator


def _chunks(lines, size):
    chunk = []
    for line in lines:
        chunk.append(line.rstrip("\n"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _translate_lines(translator, lines, args):
    """Translate a chunk; blank lines stay blank (so output lines up with input)."""
    keep = [i for i, line in enumerate(lines) if line.strip()]
    outputs = translator.translate([lines[i] for i in keep], beam_size=args.beam, length_penalty=args.length_penalty)
    result = [""] * len(lines)
    for i, text in zip(keep, outputs):
        result[i] = text
    return result


def translate_main(args):
    """Run `zoo translate` (arguments parsed by `zoo.cli`)."""
    translator = Translator.from_artifact(args.artifact, num_threads=args.threads, batch_size=args.batch_size)
    if args.text:
        for line in translator.translate(args.text, beam_size=args.beam, length_penalty=args.length_penalty):
            print(line)
        return 0
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict")
    try:
        for chunk in _chunks(stdin, 256):
            print("\n".join(_translate_lines(translator, chunk, args)))
            sys.stdout.flush()
    except UnicodeDecodeError as e:
        raise InputError(f"stdin is not valid UTF-8 ({e.reason} at byte {e.start} of a block)") from None
    return 0
