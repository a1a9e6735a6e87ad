"""`zoo bench --quick` end to end on the tiny session runs, and its pieces."""

import json
import os

import pytest

from zoo.cli import main

RECIPES = ("float32", "int8")


@pytest.fixture(scope="module")
def quick_bench(train_tiny, convert_tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    runs = [f"{family}={train_tiny(family)}" for family in ("transformer", "lstm")]
    artifacts = [f"{f}:{r}={convert_tiny(r, f)}" for f in ("transformer", "lstm") for r in RECIPES]
    code = main(
        ["bench", "--runs", *runs, "--artifacts", *artifacts, "--out", str(out), "--quick", "--recipes", ",".join(RECIPES)]
        + ["--max-sentences", "6", "--latency-sentences", "4", "--batch-size", "4", "--throughput-steps", "2", "--skip", "jit"]
    )
    assert code == 0
    with open(out / "results.json", encoding="utf-8") as f:
        return out, json.load(f)


def test_quick_bench_writes_report_and_plots(quick_bench):
    out, results = quick_bench
    report = (out / "BENCHMARKS.md").read_text(encoding="utf-8")
    for png in ("bleu_vs_size.png", "latency_per_token.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert "quick mode" in report and "## transformer" in report and "## lstm" in report
    assert "not measured" not in report, report
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]


def test_quick_bench_measures_every_row(quick_bench):
    _, results = quick_bench
    for family in ("transformer", "lstm"):
        fam = results["families"][family]
        assert set(fam["recipes"]) == set(RECIPES)
        for recipe, r in fam["recipes"].items():
            assert r["model_bytes"] > 0 and 0 <= r["exact_match"] <= 1
            assert set(r["beams"]) == {"1", "5"}
        # float32 LiteRT decodes exactly like Keras (same search code).
        assert fam["recipes"]["float32"]["exact_match"] == 1.0
        lat = fam["latency"]
        expected = {"keras_cached", "keras_tutorial", "keras_tutorial_eager", *(f"litert_{r}" for r in RECIPES)}
        assert expected <= set(lat)
        for name, entry in lat.items():
            assert entry["peak_rss_mb"] > 10, name
            greedy = entry["beams"]["1"]
            assert 0 < greedy["p50_ms"] <= greedy["p95_ms"] and greedy["ms_per_token"] > 0
        # The device runtime's subprocess never loaded TensorFlow; the Keras ones did.
        assert lat["litert_float32"]["tensorflow_imported"] is False
        assert lat["keras_cached"]["tensorflow_imported"] is True
        # Re-running the whole model per token gives the same greedy tokens.
        assert lat["keras_tutorial"]["greedy_equal_to_keras"] == 1.0
        assert lat["keras_tutorial_eager"]["greedy_equal_to_keras"] == 1.0
        assert lat["litert_float32"]["greedy_equal_to_keras"] == 1.0
        assert set(fam["throughput"]) == {"bucketed_jit0", "padded_jit0"}  # XLA compiles are too slow for the suite
        for entry in fam["throughput"].values():
            assert entry["target_tokens_per_second"] > 0
            assert 0 <= entry["padding_fraction"] < 1
        assert fam["throughput"]["padded_jit0"]["padding_fraction"] > fam["throughput"]["bucketed_jit0"]["padding_fraction"]
    ct2 = results["families"]["transformer"]["ctranslate2"]
    assert ct2["float32"]["greedy_sentence_agreement_with_keras"] == 1.0
    assert ct2["float32"]["teacher_forced_max_logprob_error"] < 1e-4
    assert ct2["int8"]["teacher_forced_max_logprob_error"] < 0.25  # int8 GEMMs without int16 saturation
    assert results["families"]["transformer"]["ctranslate2_quality"]["float32"]["exact_match"] == 1.0
    assert results["families"]["transformer"]["latency"]["ctranslate2_int8"]["beams"]["1"]["ms_per_token"] > 0
    assert "no CTranslate2 mapping" in results["families"]["lstm"]["ctranslate2"]["not_applicable"]


def test_bench_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["bench", "--runs", "transformer", "--out", str(tmp_path)]) == 2
    assert "--runs must be KEY=PATH" in capsys.readouterr().err
    assert main(["bench", "--runs", f"transformer={tmp_path}", "--out", str(tmp_path)]) == 2
    assert "no model.keras" in capsys.readouterr().err


def test_resume_restores_measured_stages(quick_bench, train_tiny):
    out, results = quick_bench
    code = main(
        ["bench", "--runs", f"transformer={train_tiny('transformer')}", "--out", str(out), "--quick", "--resume"]
        + ["--recipes", ",".join(RECIPES), "--skip", "jit,ctranslate2"]
    )
    assert code == 0
    with open(out / "results.json", encoding="utf-8") as f:
        resumed = json.load(f)["families"]["transformer"]
    before = results["families"]["transformer"]
    assert resumed["keras"] == before["keras"] and resumed["recipes"] == before["recipes"]
    assert resumed["latency"]["litert_float32"] == before["latency"]["litert_float32"]
    assert resumed["throughput"] == before["throughput"]


def test_quick_bench_vae_rows(tiny_sentence_vae_run, tiny_image_vae_run, convert_vae, tmp_path):
    runs = {"sentence_vae": tiny_sentence_vae_run, "image_vae": tiny_image_vae_run}
    artifacts = [f"{f}:{r}={convert_vae(f.split('_')[0].replace('sentence', 'text'), r)}" for f in runs for r in RECIPES]
    code = main(
        ["bench", "--runs", *[f"{f}={p}" for f, p in runs.items()], "--artifacts", *artifacts, "--out", str(tmp_path)]
        + ["--quick", "--recipes", ",".join(RECIPES), "--max-sentences", "12", "--latency-sentences", "4", "--batch-size", "4"]
    )
    assert code == 0
    with open(tmp_path / "results.json", encoding="utf-8") as f:
        families = json.load(f)["families"]
    for family, task in (("sentence_vae", "text_vae"), ("image_vae", "image_vae")):
        fam = families[family]
        assert fam["task"] == task
        keras = fam["keras"]
        assert keras["nll_bound"] > 0 and keras["kl"] >= 0 and keras.get("sentences", keras.get("images")) == 12
        for recipe in RECIPES:
            entry = fam["recipes"][recipe]
            assert entry["model_bytes"] > 0 and entry["parity"]
            # The same code, examples and noise: float32 LiteRT equals Keras closely.
            tolerance = 1e-3 if recipe == "float32" else 0.1
            assert abs(entry["nll_bound"] - keras["nll_bound"]) <= tolerance * keras["nll_bound"], (family, recipe)
        assert fam["recipes"]["int8"]["model_bytes"] < fam["recipes"]["float32"]["model_bytes"]
        assert set(fam["vae_latency"]) == {"keras", *(f"litert_{r}" for r in RECIPES)}
        for name, entry in fam["vae_latency"].items():
            assert 0 < entry["roundtrip"]["p50_ms"] <= entry["roundtrip"]["p95_ms"], name
            assert entry["encode"]["p50_ms"] <= entry["roundtrip"]["p95_ms"] and entry["batch"]["ms_per_example"] > 0
            assert entry["tensorflow_imported"] is (name == "keras")
        if task == "text_vae":
            assert fam["vae_latency"]["litert_float32"]["decode_steps_per_sentence"] >= 1
    report = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert "## sentence_vae" in report and "## image_vae" in report and "NLL bound (-ELBO), nats/image" in report
    assert "not measured" not in report, report
    assert "- **image_vae**: Keras NLL bound" in report
