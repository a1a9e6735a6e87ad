"""Model configs hold a model's constructor arguments only; one `TrainingConfig`
says how every family is trained; presets pair them; old `run.json` files
(one flat `config`) still load."""

import dataclasses

import pytest

from zoo.cli import config_overrides
from zoo.config_tools import Preset, constructor_arguments, run_preset
from zoo.families import FAMILIES, get_family
from zoo.training_config import TrainingConfig

MODEL_CLASSES = {
    "transformer": "TransformerTranslator",
    "lstm": "LSTMTranslator",
    "sentence_vae": "SentenceVAE",
    "image_vae": "ImageVAE",
}


@pytest.mark.parametrize("family", FAMILIES)
def test_model_config_is_the_constructor_and_never_names_a_training_field(family):
    module = get_family(family)
    for name, preset in module.PRESETS.items():
        assert isinstance(preset, Preset) and isinstance(preset.training, TrainingConfig), name
    model_fields = {f.name for f in dataclasses.fields(module.PRESETS["tiny"].model)}
    assert model_fields == set(constructor_arguments(getattr(module, MODEL_CLASSES[family])))
    assert not model_fields & {f.name for f in dataclasses.fields(TrainingConfig)}


def test_overrides_go_to_the_config_that_has_the_field():
    from zoo.transformer import get_preset

    preset = get_preset("tiny", hidden_dim=48, learning_rate=5e-4, epochs=3)
    assert (preset.model.hidden_dim, preset.training.learning_rate, preset.training.epochs) == (48, 5e-4, 3)
    with pytest.raises(ValueError, match="unknown config field"):
        get_preset("tiny", hidden_size=48)
    # --set reaches both, typed from either config's field
    assert config_overrides("lstm", "tiny", ["dropout=0.2", "clipnorm=0.5", "jit_compile=true"]) == {
        "dropout": 0.2,
        "clipnorm": 0.5,
        "jit_compile": True,
    }
    with pytest.raises(ValueError, match="unknown schedule"):
        get_preset("tiny", schedule="linear")


@pytest.mark.parametrize("family", FAMILIES)
def test_run_json_of_both_layouts_gives_the_same_preset(family):
    module = get_family(family)
    preset = module.get_preset("tiny")
    split = {"family": family, "config": dataclasses.asdict(preset.model), "training": dataclasses.asdict(preset.training)}
    flat = {"family": family, "config": preset.fields()}  # runs written before the split
    assert run_preset(module, split) == preset
    assert run_preset(module, flat) == preset


def test_vae_presets_train_with_adam_at_a_constant_rate():
    from zoo.sentence_vae import get_preset as sentence_preset
    from zoo.image_vae import get_preset as image_preset

    sentence, image = sentence_preset("small").training, image_preset("small").training
    assert (sentence.schedule, sentence.weight_decay, sentence.clipnorm, sentence.adam_beta_2) == ("constant", 0.0, 1.0, 0.999)
    assert (image.clipnorm, image.learning_rate, image.epochs) == (0.0, 2e-3, 100)
