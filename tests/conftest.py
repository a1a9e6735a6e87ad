"""Shared fixtures: tiny trained runs (one per family) and their converted artifacts.

Everything trains on the bundled default data (or small local files), so the
suite needs nothing from the network and runs in minutes on 2 CPU cores.
"""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TINY_TRAIN_PAIRS = 3000


_runs = {}


def _seed():
    import keras

    keras.utils.set_random_seed(1234)

# Tiny runs that are a family with config overrides (`train_tiny(name)`).
VARIANTS = {
    "transformer_tied": ("transformer", {"tie_embeddings": True}),
    # The `multi30k` recipe's options: one vocabulary and token table, post-norm,
    # no attention dropout, sinusoidal positions, scaled embeddings, token batches, inverse-sqrt
    # schedule, the last two epochs averaged.
    "transformer_shared": (
        "transformer",
        {
            "shared_vocabulary": True, "normalize_first": False, "positions": "sinusoidal",
            "scale_embeddings": True, "attention_dropout": 0.0, "batch_tokens": 512, "schedule": "inverse_sqrt",
            "keep_checkpoints": 2, "average_last": 2, "patience": 0,
        },
    ),
}


def variant_family(name):
    """The family a `train_tiny` name trains."""
    return VARIANTS.get(name, (name, None))[0]


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory):
    """`train_tiny(family)` -> run dir of a tiny model trained for 2 epochs
    on 3000 bundled pairs (trained once per session). `family` may also be a
    key of `VARIANTS`."""
    from zoo.training import train

    def get(family):
        if family not in _runs:
            run_dir = tmp_path_factory.mktemp("runs") / f"tiny_{family}"
            base, overrides = VARIANTS.get(family, (family, None))
            _seed()  # the same tiny model whichever tests ran before
            train(base, str(run_dir), preset="tiny", overrides=overrides, max_train_pairs=TINY_TRAIN_PAIRS, verbose=0)
            _runs[family] = str(run_dir)
        return _runs[family]

    return get


@pytest.fixture(scope="session")
def tiny_run(train_tiny):
    """A tiny Transformer trained for 2 epochs on 3000 bundled pairs."""
    return train_tiny("transformer")


_artifacts = {}


@pytest.fixture(scope="session")
def convert_tiny(train_tiny, tmp_path_factory):
    """`convert_tiny(recipe, family="transformer")` -> artifact dir
    (converted once per session)."""
    from converters.convert import convert

    def get(recipe, family="transformer"):
        key = (family, recipe)
        if key not in _artifacts:
            out = tmp_path_factory.mktemp("artifacts") / f"tiny_{family}_{recipe}"
            convert(train_tiny(family), str(out), recipe=recipe, num_verify=32, verbose=False)
            _artifacts[key] = str(out)
        return _artifacts[key]

    return get


TINY_VAE_SENTENCES = 1500


@pytest.fixture(scope="session")
def tiny_sentence_vae_run(tmp_path_factory):
    """A tiny sentence VAE trained for 2 epochs on 1500 bundled English sentences."""
    from zoo.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny_sentence_vae"
    _seed()
    train("sentence_vae", str(run_dir), preset="tiny", max_train_pairs=TINY_VAE_SENTENCES, verbose=0)
    return str(run_dir)


@pytest.fixture(scope="session")
def tiny_image_vae_run(tmp_path_factory):
    """A tiny image VAE trained for 2 epochs on the bundled 8x8 digits."""
    from zoo.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny_image_vae"
    _seed()
    train("image_vae", str(run_dir), preset="tiny", verbose=0)
    return str(run_dir)


_vae_artifacts = {}


@pytest.fixture(scope="session")
def convert_vae(tiny_sentence_vae_run, tiny_image_vae_run, tmp_path_factory):
    """`convert_vae(kind, recipe)` -> artifact dir, kind `text` or `image` (converted once per session)."""
    from converters.convert import convert

    runs = {"text": tiny_sentence_vae_run, "image": tiny_image_vae_run}

    def get(kind, recipe):
        if (kind, recipe) not in _vae_artifacts:
            out = tmp_path_factory.mktemp("artifacts") / f"{kind}_vae_{recipe}"
            convert(runs[kind], str(out), recipe=recipe, num_verify=32, verbose=False)
            _vae_artifacts[kind, recipe] = str(out)
        return _vae_artifacts[kind, recipe]

    return get


def pytest_addoption(parser):
    group = parser.getgroup("fuzz", "tests/test_fuzz_artifacts.py")
    group.addoption("--fuzz", type=int, default=None, help="corrupted model files per artifact (default 24; env ZOO_FUZZ)")
    group.addoption("--fuzz-seed", type=int, default=None, help="seed of the corruptions (default 0; env ZOO_FUZZ_SEED)")
