"""What is measured per task: one function per task in `TASK_SECTIONS`.

A section function takes the `Bench` and a family name and returns its
stages, `[(name, callable)]`; each callable fills
`bench.results["families"][family]`. Translation families (Transformer,
LSTM) share `translation_section`; a VAE family adds its own function
(ELBO/KL or reconstruction per recipe, latency) under its task name.
"""

import json
import os

from zoo.bench.quality import score_decoder, source_ids

TASK_SECTIONS = {}


def task_section(task):
    def register(fn):
        TASK_SECTIONS[task] = fn
        return fn

    return register


def plan(bench, family):
    """The stages for `family`'s run, by the task its run directory names."""
    with open(os.path.join(bench.runs[family], "run.json"), encoding="utf-8") as f:
        run_info = json.load(f)
    task = run_info.get("task", "translation")
    if task not in TASK_SECTIONS:
        raise ValueError(f"zoo bench has no section for task {task!r} (family {family})")
    return TASK_SECTIONS[task](bench, family, run_info)


def _run_summary(run_dir, run_info):
    history = os.path.join(run_dir, "history.csv")
    epochs, best_val = None, None
    if os.path.exists(history):
        import csv

        with open(history, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        epochs = len(rows)
        losses = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
        best_val = min(losses) if losses else None
    return {
        "run_dir": os.path.abspath(run_dir),
        "family": run_info["family"],
        "preset": run_info.get("preset"),
        "config": run_info.get("config"),
        "data": run_info.get("data"),
        "train_pairs": run_info.get("train_pairs"),
        "status": run_info.get("status"),
        "train_seconds": run_info.get("train_seconds"),
        "epochs_logged": epochs,
        "best_val_loss": best_val,
        "note": run_info.get("note"),
    }


def _strip(result):
    """A worker result without the decoded ids (kept out of results.json)."""
    out = {k: v for k, v in result.items() if k != "beams"}
    out["beams"] = {b: {k: v for k, v in e.items() if k != "outputs"} for b, e in result.get("beams", {}).items()}
    return out


@task_section("translation")
def translation_section(bench, family, run_info):
    """Quality, size, latency, memory, alternatives and training throughput."""
    from zoo.datasets.parallel_text import load_corpus
    from zoo.evaluation import load_translator

    run_dir, o = bench.runs[family], bench.o
    res = bench.results["families"].setdefault(family, {})
    res["run"] = _run_summary(run_dir, run_info)
    state = {}

    def reference():
        translator, _ = load_translator(run_dir, batch_size=o["batch_size"])
        corpus = load_corpus(bench.data or run_info.get("data"))
        pairs = corpus.split("test")[: o["max_sentences"]]
        state["translator"] = translator
        state["ids"] = source_ids(translator, [s for s, _ in pairs])
        state["references"] = [t for _, t in pairs]
        step = max(1, len(pairs) // o["latency_sentences"])
        state["sample"] = state["ids"][::step][: o["latency_sentences"]]
        state["detokenize"] = translator.target_tokenizer.detokenize
        scored = score_decoder(_TranslatorDecoder(translator), state["detokenize"], state["ids"], state["references"], o["beams"], o["batch_size"])
        state["keras_greedy"] = scored.pop("greedy_ids")
        res["keras"] = {**scored, "sentences": len(pairs), "split": "test", "corpus": corpus.name}
        res["latency_sample_sentences"] = len(state["sample"])

    def recipe_quality(recipe):
        from ondevice.manifest import load_manifest
        from zoo.bench.baselines import LiteRTDecoder

        artifact = bench.artifact(family, recipe)
        manifest = load_manifest(artifact)
        decoder = LiteRTDecoder(artifact, threads=2)
        scored = score_decoder(decoder, state["detokenize"], state["ids"], state["references"], o["beams"], o["batch_size"], state["keras_greedy"])
        scored.pop("greedy_ids")
        res.setdefault("recipes", {})[recipe] = {
            "artifact": os.path.abspath(artifact),
            "model_bytes": os.path.getsize(manifest.path("model_file")),
            "parity": manifest.data.get("parity"),
            **scored,
        }

    def ctranslate2_models():
        from converters.ctranslate2_converter import convert_ctranslate2

        models = {}
        for compute in CT2_TYPES:
            out = os.path.join(bench.work_dir, "ctranslate2", f"{family}_{compute}")
            if not os.path.exists(os.path.join(out, "conversion.json")):
                convert_ctranslate2(run_dir, out, quantization=None if compute == "float32" else compute, data=bench.data, num_verify=o["num_verify"])
            with open(os.path.join(out, "conversion.json"), encoding="utf-8") as f:
                models[compute] = {"dir": out, **json.load(f)}
        state["ct2"] = models
        res["ctranslate2"] = {c: dict(m) for c, m in models.items()}

    def ct2_models():
        if "ct2" not in state:
            raise RuntimeError("no CTranslate2 model: its conversion failed (see the CTranslate2 convert row)")
        return state["ct2"]

    def ctranslate2_quality():
        from converters.ctranslate2_converter import CTranslate2Decoder

        for compute, model in ct2_models().items():
            decoder = CTranslate2Decoder(model["dir"], compute_type=compute, threads=2, max_decoding_length=state["translator"].max_target_length)
            scored = score_decoder(decoder, state["detokenize"], state["ids"], state["references"], o["beams"], o["batch_size"], state["keras_greedy"])
            scored.pop("greedy_ids")
            res["ctranslate2"][compute].update(scored)

    def latency(name, decoder, path, compute_type=None, beams=None):
        spec = {
            "kind": "decode",
            "decoder": decoder,
            "path": path,
            "compute_type": compute_type,
            "threads": 1,
            "sentences": state["sample"],
            "beams": beams or o["beams"],
            "batch_size": o["batch_size"],
            "warmup": o["warmup"],
            "max_steps": state["translator"].max_target_length,
        }
        from zoo.bench.runner import run_worker

        result = run_worker(spec, bench.log_path)
        greedy = result["beams"].get("1", {}).get("outputs")
        reference = state.get("cached_greedy_sample")
        if decoder == "keras_cached":
            state["cached_greedy_sample"] = greedy
        elif greedy is not None and reference is not None:
            result["greedy_equal_to_keras"] = sum(a == b for a, b in zip(greedy, reference)) / len(greedy)
        res.setdefault("latency", {})[name] = _strip(result)

    stages = [("Keras reference BLEU", reference)]
    for recipe in bench.recipes:
        stages.append((f"{recipe}: convert + BLEU", lambda r=recipe: recipe_quality(r)))
    ct2_ok = "ctranslate2" not in o["skip"] and _maps_to_ctranslate2(run_dir)
    if ct2_ok is True:
        stages += [("CTranslate2 convert", ctranslate2_models), ("CTranslate2 BLEU", ctranslate2_quality)]
    else:
        res["ctranslate2"] = {"not_applicable": ct2_ok or "skipped"}
    if "baselines" not in o["skip"]:
        stages.append(("latency Keras cached", lambda: latency("keras_cached", "keras_cached", run_dir)))
    for recipe in bench.recipes:
        stages.append((f"latency {recipe}", lambda r=recipe: latency(f"litert_{r}", "litert", bench.artifact(family, r))))
    if "baselines" not in o["skip"]:
        stages.append(("latency Keras tutorial", lambda: latency("keras_tutorial", "keras_tutorial", run_dir, beams=[1])))
    if ct2_ok is True:
        for compute in CT2_TYPES:
            stages.append(
                (f"latency CTranslate2 {compute}", lambda c=compute: latency(f"ctranslate2_{c}", "ctranslate2", ct2_models()[c]["dir"], c))
            )
    if "throughput" not in o["skip"]:
        for pipeline in ("bucketed", "padded"):
            for jit in (False,) if "jit" in o["skip"] else (False, True):
                stages.append((f"training throughput {pipeline} jit={jit}", lambda p=pipeline, j=jit: throughput(bench, family, p, j)))
    return stages


CT2_TYPES = ("float32", "int8")


def _maps_to_ctranslate2(run_dir):
    """True, or why the run's model has no CTranslate2 mapping."""
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        family = json.load(f)["family"]
    import importlib.util

    if importlib.util.find_spec("ctranslate2") is None:
        return "ctranslate2 is not installed (pip install '.[bench]')"
    from converters.ctranslate2_converter import CTranslate2Error, _check_supported
    from zoo.families import get_family

    family_module = get_family(family)
    # Build the family's smallest preset (no training) to ask the converter.
    config = family_module.get_preset("tiny")
    model = family_module.build_model(config)
    try:
        _check_supported(model)
    except CTranslate2Error as e:
        return f"no CTranslate2 mapping: {e}"
    return True


def throughput(bench, family, pipeline, jit):
    from zoo.bench.runner import run_worker

    spec = {
        "kind": "train",
        "run": bench.runs[family],
        "data": bench.data,
        "pipeline": pipeline,
        "jit_compile": jit,
        "steps": bench.o["throughput_steps"],
        "warmup": bench.o["throughput_warmup"],
        "max_seconds": 60 if bench.o["quick"] else 600,
        "threads": os.cpu_count() or 1,
    }
    result = run_worker(spec, bench.log_path)
    bench.results["families"][family].setdefault("throughput", {})[f"{pipeline}_jit{int(jit)}"] = result


class _TranslatorDecoder:
    """`translate_ids` of an `ondevice.translator.Translator` (one batch)."""

    def __init__(self, translator):
        self.translator = translator

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        return self.translator.translate_ids(id_lists, beam_size=beam_size, length_penalty=length_penalty)
