"""Issue 17: `--set` tuple fields, the `zoo train --preset` help, and CTranslate2's single load of a run."""

import argparse
import pathlib
import re
import subprocess
import sys

import pytest

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "marian_tiny"


def test_set_parses_tuple_fields_into_typed_tuples():
    from zoo.cli import config_overrides
    from zoo.image_vae import get_preset

    assert config_overrides("image_vae", "tiny", ["filters=16,32"]) == {"filters": (16, 32)}
    assert config_overrides("image_vae", "tiny", ["filters= 8, 16 ,32"]) == {"filters": (8, 16, 32)}
    assert config_overrides("image_vae", "tiny", ["filters=24"]) == {"filters": (24,)}
    assert get_preset("tiny", **config_overrides("image_vae", "tiny", ["filters=16,32"])).model.filters == (16, 32)
    # scalar fields of the same family keep their casts
    assert config_overrides("image_vae", "tiny", ["latent_dim=6", "likelihood=gaussian", "gaussian_sigma=0.2"]) == {
        "latent_dim": 6,
        "likelihood": "gaussian",
        "gaussian_sigma": 0.2,
    }
    for bad, element in (("filters=16,x", "'x'"), ("filters=16,,32", "''"), ("filters=", "''"), ("filters=1.5", "'1.5'")):
        with pytest.raises(ValueError) as error:
            config_overrides("image_vae", "tiny", [bad])
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"--set {bad!r}: filters must be comma-separated int")
        assert f"got {element}" in message


def _train_parser():
    from zoo.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["train"]


def test_train_preset_help_lists_exactly_the_registered_presets():
    from zoo.families import FAMILIES, get_family

    text = " ".join(_train_parser().format_help().split())
    text = text.split("--preset PRESET")[-1].split("--data DATA", 1)[0]  # the --preset help (not the usage)
    listed = {family: names.split(" | ") for family, names in re.findall(r"(\w+): (\w+(?: \| \w+)*)", text)}
    assert set(listed) == set(FAMILIES)
    for family, names in listed.items():
        assert names == list(get_family(family).PRESETS)
        for name in names:
            get_family(family).get_preset(name)  # accepted
        get_family(family).get_preset(_train_parser().get_default("preset"))  # the default too


def test_train_help_and_presets_import_no_tensorflow():
    # Presets and configs are plain dataclasses: `zoo train --help` answers at once, without TensorFlow.
    code = (
        "import sys, contextlib, io\n"
        "from zoo.cli import main\n"
        "from zoo.families import FAMILIES, get_family\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['train', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'multi30k' in out.getvalue()\n"
        "for name in FAMILIES:\n"
        "    get_family(name).get_preset('tiny').fields()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_ctranslate2_conversion_loads_the_run_once(tmp_path, monkeypatch):
    pytest.importorskip("ctranslate2")
    import keras

    from converters.ctranslate2_converter import convert_ctranslate2
    from converters.marian import import_marian

    run_dir = tmp_path / "run"
    import_marian(str(FIXTURE), str(run_dir))
    loads = []
    load_model = keras.saving.load_model

    def counting_load_model(*args, **kwargs):
        loads.append(args[0] if args else kwargs.get("filepath"))
        return load_model(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", counting_load_model)
    report = convert_ctranslate2(str(run_dir), str(tmp_path / "ct2"), num_verify=2)
    assert len(loads) == 1
    assert report["verify_sentences"] == 2 and report["greedy_sentence_agreement_with_keras"] == 1.0
    assert report["teacher_forced_decision_agreement"] == 1.0 and (tmp_path / "ct2" / "model.bin").exists()
