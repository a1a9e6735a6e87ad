"""`zoo translate`: on-device translation from the command line.

Sentences come from the arguments or, one per line, from stdin (streamed in
chunks of 256 lines, so memory stays bounded for any input size). Output:
one line per input line, in order; blank (whitespace-only) lines stay blank.
Input that cannot be translated (a line that is not UTF-8, too long, or has
no translatable characters) stops the run with a one-line error naming the
stdin line; the lines before it have been written.
"""

import sys

from ondevice.errors import InputError
from ondevice.translator import Translator


def _decoded_lines(stream):
    """Lines of a binary stream as str, split on `\\n` only (CR LF accepted).

    Each line is decoded on its own, so an invalid UTF-8 byte is reported
    with its line number. Only the current line is held in memory.
    """
    for number, raw in enumerate(stream, 1):
        raw = raw.rstrip(b"\n")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"stdin line {number} is not valid UTF-8 ({e.reason} at byte {e.start + 1})") from None


def _chunks(lines, size):
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _translate_lines(translator, lines, args):
    """Translate a chunk of `(line_number, text)`; blank lines stay blank.

    Raises `InputError` naming the first line that cannot be translated.
    """
    keep = [i for i, (_, line) in enumerate(lines) if line.strip()]
    ids = []
    for i in keep:
        number, line = lines[i]
        try:
            ids.append(translator.encode_text(line))
        except InputError as e:
            raise InputError(f"stdin line {number}: {e}") from None
    outputs = translator.translate_ids(ids, args.beam, None, args.length_penalty, args.beam_stop)
    result = [""] * len(lines)
    for i, out in zip(keep, outputs):
        result[i] = translator.target_tokenizer.detokenize(out)
    return result


def _stream(translator, sentences, out=sys.stdout):
    """Greedy translations shown as they grow.

    On a terminal each line is rewritten in place as tokens arrive; into a
    pipe or file only the finished lines are written (the same output as
    without `--stream`), so logs stay clean.
    """
    live = out.isatty()
    for sentence in sentences:
        text = ""
        for text in translator.translate_stream(sentence):
            if live:
                out.write("\r\x1b[K" + text)
                out.flush()
        out.write(("\r\x1b[K" if live else "") + text + "\n")
        out.flush()


def translate_main(args):
    """Run `zoo translate` (arguments parsed by `zoo.cli`)."""
    translator = Translator.from_artifact(args.artifact, num_threads=args.threads, batch_size=args.batch_size)
    stream = getattr(args, "stream", False)
    if stream and args.beam > 1:
        raise InputError("--stream decodes greedily; drop --beam or --stream")
    if args.text:
        if stream:
            for text in args.text:  # check every sentence before printing any
                translator.encode_text(text)
            _stream(translator, args.text)
            return 0
        for line in translator.translate(args.text, args.beam, None, args.length_penalty, beam_stop=args.beam_stop):
            print(line)
        return 0
    if stream:
        for number, line in _decoded_lines(sys.stdin.buffer):
            if not line.strip():
                print()
                continue
            try:
                translator.encode_text(line)
            except InputError as e:
                raise InputError(f"stdin line {number}: {e}") from None
            _stream(translator, [line])
        return 0
    for chunk in _chunks(_decoded_lines(sys.stdin.buffer), 256):
        print("\n".join(_translate_lines(translator, chunk, args)))
        sys.stdout.flush()
    return 0
