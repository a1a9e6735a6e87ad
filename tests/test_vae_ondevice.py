"""VAEs on device: sample / reconstruct / interpolate through the CLI with TensorFlow blocked."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ondevice.errors import InputError
from ondevice.png import decode_png, encode_png, image_grid, read_png, write_png
from ondevice.search import greedy_search, sample_search
from tests.test_search import SOURCES, START, END, ToyRecurrentModel

# TensorFlow, Keras and the converters cannot be imported; `zoo.cli` can (it imports them lazily).
BLOCK_TF = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'keras_hub', 'tensorflow_text', 'converters'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
"""


def zoo(*args, check=True):
    code = BLOCK_TF + f"""
from zoo.cli import main
code = main({list(map(str, args))!r})
assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)
sys.exit(code)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_text_vae_sample_reconstruct_interpolate(convert_vae):
    artifact = convert_vae("text", "int8")
    first = zoo("sample", artifact, "--n", 5, "--seed", 3).stdout.splitlines()
    assert len(first) == 5 and first == zoo("sample", artifact, "--n", 5, "--seed", 3).stdout.splitlines()
    sampled = zoo("sample", artifact, "--n", 6, "--seed", 3, "--method", "sample", "--temperature", 0.8, "--top-k", 20)
    assert len(sampled.stdout.splitlines()) == 6
    assert sampled.stdout == zoo("sample", artifact, "--n", 6, "--seed", 3, "--method", "sample", "--temperature", 0.8, "--top-k", 20).stdout
    out = zoo("reconstruct", artifact, "I like cats.", "Where is the station?", "--method", "beam", "--beam", 3)
    assert len(out.stdout.splitlines()) == 2
    out = zoo("interpolate", artifact, "I like cats.", "Where is the station?", "--steps", 4).stdout.splitlines()
    assert [line.split()[0] for line in out] == ["0.00", "0.33", "0.67", "1.00"]
    result = zoo("reconstruct", artifact, "   ", check=False)
    assert result.returncode == 2 and "zoo reconstruct: error: empty input" in result.stderr
    assert "Traceback" not in result.stderr


def test_image_vae_sample_reconstruct_interpolate(convert_vae, tmp_path):
    artifact = convert_vae("image", "int8")
    grid = tmp_path / "grid.png"
    zoo("sample", artifact, "--n", 9, "--seed", 0, "--out", grid, "--scale", 2)
    pixels = read_png(str(grid))
    assert pixels.shape == (2 * (3 * 9 + 1), 2 * (3 * 9 + 1)) and pixels.max() > 0.0  # 3x3 images of 8x8, padding 1
    from zoo.datasets.images import load_images

    digits = load_images().test[:2]
    np.save(tmp_path / "two.npy", digits)
    write_png(str(tmp_path / "one.png"), image_grid(digits[:1], scale=3, padding=0))  # a 24x24 upscaled digit
    out = zoo("reconstruct", artifact, tmp_path / "two.npy", tmp_path / "one.png", "--out", tmp_path / "rec.png")
    assert out.stdout.count("reconstruction loss") == 3
    assert read_png(str(tmp_path / "rec.png")).shape == (4 * (2 * 9 + 1), 4 * (3 * 9 + 1))  # inputs over reconstructions
    strip = tmp_path / "strip.png"
    zoo("interpolate", artifact, tmp_path / "one.png", tmp_path / "one.png", "--steps", 5, "--out", strip, "--scale", 1)
    assert read_png(str(strip)).shape == (10, 5 * 9 + 1)
    write_png(str(tmp_path / "odd.png"), np.zeros((10, 10), np.uint8))
    result = zoo("reconstruct", artifact, tmp_path / "odd.png", "--out", tmp_path / "x.png", check=False)
    assert result.returncode == 2 and "this model takes 8x8" in result.stderr


def test_vae_commands_reject_a_translator_and_bad_options(convert_vae, tmp_path):
    artifact = convert_vae("text", "float32")
    result = zoo("sample", artifact, "--n", 0, check=False)
    assert result.returncode == 2 and "--n must be" in result.stderr
    result = zoo("sample", artifact, "--method", "sample", "--temperature", 0, check=False)
    assert result.returncode == 2 and "temperature" in result.stderr
    fake = tmp_path / "translator"
    fake.mkdir()
    manifest = json.loads(open(os.path.join(artifact, "manifest.json")).read())
    manifest["task"] = "image_vae"  # a manifest whose signatures do not match its task
    (fake / "manifest.json").write_text(json.dumps(manifest))
    (fake / "model.tflite").write_bytes(open(os.path.join(artifact, "model.tflite"), "rb").read())
    result = zoo("sample", fake, check=False)
    assert result.returncode == 2 and "manifest.json" in result.stderr


def test_vae_eval_reports_elbo_kl_and_active_units(convert_vae):
    code = f"from zoo.cli import main; import sys; sys.exit(main(['eval', {convert_vae('text', 'int8')!r}, '--split', 'val', '--max-sentences', '50']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "NLL bound" in out.stdout and "active units" in out.stdout and "KL" in out.stdout


def test_png_round_trip():
    gray = (np.arange(60).reshape(6, 10) * 4).astype(np.uint8)
    assert (decode_png(encode_png(gray))[:, :, 0] == gray).all()
    rgb = np.stack([gray, 255 - gray, gray // 2], axis=2)
    assert (decode_png(encode_png(rgb)) == rgb).all()
    with pytest.raises(InputError, match="not a PNG"):
        decode_png(b"GIF89a....")
    grid = image_grid(np.ones((5, 2, 3)), columns=2, scale=2, padding=1)
    assert grid.shape == (2 * (3 * 3 + 1), 2 * (2 * 4 + 1)) and grid.max() == 255 and grid.min() == 0


def test_sampling_search_is_reproducible_and_top1_is_greedy():
    model = ToyRecurrentModel(1, end_bias=1.0)
    a = sample_search(model, SOURCES, START, END, 12, temperature=1.2, seed=7)
    assert a == sample_search(model, SOURCES, START, END, 12, temperature=1.2, seed=7)
    assert a != sample_search(model, SOURCES, START, END, 12, temperature=1.2, seed=8)
    assert sample_search(model, SOURCES, START, END, 12, top_k=1, seed=0) == greedy_search(model, SOURCES, START, END, 12)
    with pytest.raises(ValueError, match="temperature"):
        sample_search(model, SOURCES, START, END, 5, temperature=0.0)
