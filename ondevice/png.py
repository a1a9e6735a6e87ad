"""A small PNG writer/reader in numpy + zlib (no Pillow on the device).

`write_png` writes 8-bit grayscale or RGB images. `read_png` reads
non-interlaced 8-bit PNGs (grayscale, gray+alpha, RGB, RGBA, all five row
filters): what this writer and common tools produce. `image_grid` tiles
images in [0, 1] into one picture.
"""

import struct
import zlib

import numpy as np

from ondevice.errors import InputError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}  # PNG color type -> samples per pixel


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels):
    """PNG bytes of a uint8 array (H, W), (H, W, 1) or (H, W, 3)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"expected uint8 (H, W) or (H, W, 3) pixels, got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()  # filter 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def write_png(path, pixels):
    """Write `pixels` (see `encode_png`) to `path` (temp file + rename)."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(encode_png(pixels))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _unfilter(data, height, width, channels):
    stride = width * channels
    out = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.int32)
    pos = 0
    for y in range(height):
        kind = data[pos]
        row = np.frombuffer(data, np.uint8, stride, pos + 1).astype(np.int32)
        pos += stride + 1
        if kind == 0:
            cur = row
        elif kind == 2:
            cur = (row + previous) & 0xFF
        elif kind in (1, 3, 4):
            cur = np.zeros(stride, np.int32)
            for x in range(stride):
                left = cur[x - channels] if x >= channels else 0
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + previous[x]) // 2
                else:
                    up_left = previous[x - channels] if x >= channels else 0
                    p = left + previous[x] - up_left
                    pa, pb, pc = abs(p - left), abs(p - previous[x]), abs(p - up_left)
                    pred = left if pa <= pb and pa <= pc else (previous[x] if pb <= pc else up_left)
                cur[x] = (row[x] + pred) & 0xFF
        else:
            raise InputError(f"PNG row filter {kind} is invalid")
        out[y] = cur
        previous = cur
    return out.reshape(height, width, channels)


def decode_png(blob, name="image"):
    """uint8 array (H, W, C) of PNG bytes (see module docstring)."""
    if not blob.startswith(SIGNATURE):
        raise InputError(f"{name}: not a PNG file")
    pos, header, idat = len(SIGNATURE), None, []
    while pos + 8 <= len(blob):
        length, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        data = blob[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise InputError(f"{name}: truncated PNG")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in _CHANNELS or interlace:
        raise InputError(f"{name}: only non-interlaced 8-bit gray/RGB(A) PNGs are supported")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise InputError(f"{name}: corrupt PNG data ({e})") from None
    channels = _CHANNELS[color_type]
    if len(raw) < height * (width * channels + 1):
        raise InputError(f"{name}: truncated PNG data")
    return _unfilter(raw, height, width, channels)


def read_png(path):
    """Grayscale float32 (H, W) in [0, 1] of a PNG file (color is averaged, alpha dropped)."""
    with open(path, "rb") as f:
        pixels = decode_png(f.read(), path).astype(np.float32) / 255.0
    channels = pixels.shape[2]
    color = pixels[:, :, :3] if channels >= 3 else pixels[:, :, :1]
    return color.mean(axis=2)


def image_grid(images, columns=None, scale=1, padding=1):
    """Tile images (N, H, W[, C]) in [0, 1] into one uint8 picture.

    Args:
        images: float array (N, H, W) or (N, H, W, C) with C in (1, 3).
        columns: int or None. Images per row (default: all in one row).
        scale: int. Nearest-neighbour upscaling factor of every pixel.
        padding: int. Background pixels between images (before scaling).

    Returns:
        uint8 array (rows, cols) or (rows, cols, 3).
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    n, h, w = images.shape[:3]
    columns = columns or n
    rows = -(-n // columns)
    shape = (rows * (h + padding) + padding, columns * (w + padding) + padding) + images.shape[3:]
    canvas = np.zeros(shape, np.float32)
    for i, image in enumerate(images):
        y, x = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        canvas[y : y + h, x : x + w] = image
    canvas = np.repeat(np.repeat(canvas, scale, axis=0), scale, axis=1)
    return np.round(canvas.clip(0.0, 1.0) * 255.0).astype(np.uint8)
