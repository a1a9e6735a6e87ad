"""The recipe scripts: shell syntax, and `recipes/distill_data.sh` on a tiny teacher."""

import os
import pathlib
import subprocess
import sys

import pytest

from ondevice.translator import Translator

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.sh"))


@pytest.mark.parametrize("script", RECIPES, ids=lambda p: p.name)
def test_recipe_is_valid_bash(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _write_corpus(directory, sources, references):
    directory.mkdir()
    (directory / "train.en").write_text("".join(s + "\n" for s in sources))
    (directory / "train.de").write_text("".join(r + "\n" for r in references))
    for split in ("val", "test2016"):
        (directory / f"{split}.en").write_text(f"{split} source\n")
        (directory / f"{split}.de").write_text(f"{split} reference\n")
    (directory / "README.md").write_text("terms\n")


def test_distill_data_interleaves_references_and_teacher_translations(convert_tiny, tmp_path):
    teacher = convert_tiny("float32")
    sources = ["A man rides a bike.", "Two dogs play in the snow.", "A girl is reading a book."]
    references = ["ref one", "ref two", "ref three"]
    src, out = tmp_path / "src", tmp_path / "distilled"
    _write_corpus(src, sources, references)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    script = str(ROOT / "recipes" / "distill_data.sh")

    subprocess.run([script, teacher, str(src), str(out)], check=True, env=env, capture_output=True, timeout=300)

    expected = Translator.from_artifact(teacher).translate(sources, beam_size=5)
    assert (out / "teacher.de").read_text().splitlines() == expected
    assert (out / "train.en").read_text().splitlines() == [s for s in sources for _ in (0, 1)]
    assert (out / "train.de").read_text().splitlines() == [x for pair in zip(references, expected) for x in pair]
    for name in ("val.en", "val.de", "test2016.en", "test2016.de", "README.md"):
        assert (out / name).read_text() == (src / name).read_text()
    assert not list(out.glob("*.tmp"))

    # Existing distilled data is kept: a second run translates nothing.
    (out / "train.de").write_text("kept\n")
    subprocess.run([script, "missing-teacher", str(src), str(out)], check=True, env=env, capture_output=True)
    assert (out / "train.de").read_text() == "kept\n"


def test_distilled_recipe_trains_converts_and_ships_through_the_shared_scripts(tmp_path):
    # `zoo` and `python` replaced by stubs that log their arguments: the commands a recipe runs.
    stubs, log = tmp_path / "bin", tmp_path / "calls.log"
    stubs.mkdir()
    for name in ("zoo", "python"):
        (stubs / name).write_text(f'#!/bin/sh\necho {name} "$@" >> {log}\n')
        (stubs / name).chmod(0o755)
    out = tmp_path / "out"
    (out / "runs" / "multi30k_dd2").mkdir(parents=True)
    (out / "runs" / "multi30k_dd2" / "train.de").write_text("already distilled\n")  # distill_data.sh skips
    env = dict(os.environ, PATH=str(stubs) + os.pathsep + os.environ["PATH"])

    script = ROOT / "recipes" / "multi30k_lstm_distilled.sh"
    subprocess.run([str(script), "TEACHER", "SRC", str(out)], check=True, env=env, capture_output=True)

    run, art = f"{out}/runs/m30k_lstm_dd", f"{out}/artifacts/m30k_lstm_dd"
    calls = log.read_text().splitlines()
    assert calls[0] == f"zoo train lstm --preset multi30k --data {out}/runs/multi30k_dd2:en-de --out {run} --epochs 12"
    assert calls[1] == f"zoo eval {run} --split val --beam 5"
    assert calls[2:5] == [f"zoo convert {run} --quant {q} --out {art}_{q} --num-verify 1014" for q in ("float32", "dynamic_int8", "int8")]
    card = calls[5]
    assert card.startswith(f"python -m bench.model_card --run {run} --artifacts float32={art}_float32 ")
    assert f"--ship dynamic_int8 --out {out}/models/multi30k_en_de_lstm --title Multi30k English→German LSTM " in card
    assert "non-commercial research" in card and card.endswith("--data SRC:en-de --example A man rides a bike.")
    assert len(calls) == 6
