"""What is measured per task: one function per task in `TASK_SECTIONS`.

A section function takes the `Bench`, a family name and the run's
`run.json` and returns its stages, `[(name, callable, result path)]`; each
callable fills `bench.results["families"][family]`. Translation families
(Transformer, LSTM) share `translation_section`; the VAEs share
`bench.vae_section.vae_section` (ELBO / reconstruction per recipe,
latency).
"""

import json
import os

from bench.baselines import LiteRTDecoder
from bench.common import run_summary, run_worker
from bench.quality import score_decoder, source_ids
from bench.vae_section import vae_section

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


def _strip(result):
    """A worker result without the decoded ids (kept out of results.json)."""
    out = {k: v for k, v in result.items() if k != "beams"}
    out["beams"] = {b: {k: v for k, v in e.items() if k != "outputs"} for b, e in result.get("beams", {}).items()}
    return out


@task_section("translation")
def translation_section(bench, family, run_info):
    """Quality, size, latency, memory, alternatives and training throughput.

    Each stage is `(name, callable, result path)`; with `--resume` a stage
    whose result is already in the work directory's `results.json` is
    restored instead of measured again. Latency is measured in rounds (every
    decoder once per round, round after round) and each decoder keeps its
    fastest round, so a burst of load from other processes on a shared
    machine does not fall on one decoder only.
    """
    from zoo.datasets.parallel_text import load_corpus
    from zoo.evaluation import load_translator

    run_dir, o = bench.runs[family], bench.o
    res = bench.results["families"].setdefault(family, {})
    res["task"], res["run"] = "translation", run_summary(run_dir, run_info)
    state = {}

    def prepare():
        translator, _ = load_translator(run_dir, batch_size=o["batch_size"])
        corpus = load_corpus(bench.data or run_info.get("data"))
        pairs = corpus.split("test")[: o["max_sentences"]]
        state.update(translator=translator, corpus=corpus.name, references=[t for _, t in pairs])
        state["ids"] = source_ids(translator, [s for s, _ in pairs])
        step = max(1, len(pairs) // o["latency_sentences"])
        state["sample"] = state["ids"][::step][: o["latency_sentences"]]
        state["detokenize"] = translator.target_tokenizer.detokenize
        res["latency_sample_sentences"] = len(state["sample"])

    def score(decoder, reference_greedy=None):
        return score_decoder(
            decoder, state["detokenize"], state["ids"], state["references"], o["beams"], o["batch_size"], reference_greedy
        )

    def keras_greedy():
        if "keras_greedy" not in state:  # restored Keras stage: decode greedily once more
            state["keras_greedy"] = score_decoder(
                _TranslatorDecoder(state["translator"]), state["detokenize"], state["ids"], state["references"], [1], o["batch_size"]
            )["greedy_ids"]
        return state["keras_greedy"]

    def reference():
        scored = score(_TranslatorDecoder(state["translator"]))
        state["keras_greedy"] = scored.pop("greedy_ids")
        res["keras"] = {**scored, "sentences": len(state["ids"]), "split": "test", "corpus": state["corpus"]}

    def recipe_quality(recipe):
        from ondevice.manifest import load_manifest

        artifact = bench.artifact(family, recipe)
        manifest = load_manifest(artifact)
        scored = score(LiteRTDecoder(artifact, threads=2), keras_greedy())
        scored.pop("greedy_ids")
        res.setdefault("recipes", {})[recipe] = {
            "artifact": os.path.abspath(artifact),
            "model_bytes": os.path.getsize(manifest.path("model_file")),
            "parity": manifest.data.get("parity"),
            "xnnpack": manifest.data.get("xnnpack"),
            **scored,
        }

    def ctranslate2_models():
        from converters.ctranslate2_converter import convert_ctranslate2

        res["ctranslate2"] = {}
        for compute in CT2_TYPES:
            out = os.path.join(bench.work_dir, "ctranslate2", f"{family}_{compute}")
            if not os.path.exists(os.path.join(out, "conversion.json")):
                quantization = None if compute == "float32" else compute
                convert_ctranslate2(run_dir, out, quantization=quantization, data=bench.data, num_verify=o["num_verify"])
            with open(os.path.join(out, "conversion.json"), encoding="utf-8") as f:
                res["ctranslate2"][compute] = {"dir": out, **json.load(f)}

    def ct2_dir(compute):
        model = (res.get("ctranslate2") or {}).get(compute) or {}
        if "dir" not in model:
            raise RuntimeError("no CTranslate2 model: its conversion failed (see the CTranslate2 convert row)")
        return model["dir"]

    def ctranslate2_quality(compute):
        from converters.ctranslate2_converter import CTranslate2Decoder

        decoder = CTranslate2Decoder(ct2_dir(compute), compute_type=compute, threads=2, max_decoding_length=state["translator"].max_target_length)
        scored = score(decoder, keras_greedy())
        scored.pop("greedy_ids")
        res.setdefault("ctranslate2_quality", {})[compute] = scored

    def latency(name, round_index, decoder, path_fn, compute_type=None, beams=None, max_seconds=None):
        spec = {
            "kind": "decode",
            "decoder": decoder,
            "path": path_fn(),
            "compute_type": compute_type,
            "threads": 1,
            "sentences": state["sample"],
            "beams": beams or o["beams"],
            "batch_size": o["batch_size"],
            "warmup": o["warmup"],
            "max_steps": state["translator"].max_target_length,
            "max_seconds": max_seconds,
        }
        load = [round(x, 2) for x in os.getloadavg()]
        result = run_worker(spec, bench.log_path)
        result["load_average_before"] = load
        greedy = result["beams"].get("1", {})
        if decoder == "keras_cached":  # the reference tokens of this sample
            res.setdefault("latency_reference_outputs", greedy.get("outputs"))
        reference = res.get("latency_reference_outputs")
        if decoder != "keras_cached" and greedy.get("outputs") is not None and reference is not None:
            result["greedy_equal_to_keras"] = sum(a == b for a, b in zip(greedy["outputs"], reference)) / len(greedy["outputs"])
        res.setdefault("latency_rounds", {}).setdefault(name, {})[str(round_index)] = _strip(result)

    def latency_summary():
        """Each decoder's fastest round (greedy mean per sentence) and all rounds' means."""
        res["latency"] = {}
        for name, rounds in res.get("latency_rounds", {}).items():
            good = [r for r in rounds.values() if "error" not in r]
            if not good:
                res["latency"][name] = next(iter(rounds.values()))
                continue
            best = min(good, key=lambda r: r["beams"]["1"]["mean_ms"])
            best = {**best, "rounds_greedy_mean_ms": [r["beams"]["1"]["mean_ms"] for r in good]}
            single = next((r["profile"]["single_call"] for r in good if "single_call" in r.get("profile", {})), None)
            if best.get("profile") and single and "single_call" not in best["profile"]:
                best["profile"] = {**best["profile"], "single_call": single}  # isolated-call figures of another round
            res["latency"][name] = best

    stages = [("prepare sentences", prepare, None), ("Keras reference BLEU", reference, ("keras",))]
    for recipe in bench.recipes:
        stages.append((f"{recipe}: convert + BLEU", lambda r=recipe: recipe_quality(r), ("recipes", recipe)))
    ct2_ok = "ctranslate2" not in o["skip"] and _maps_to_ctranslate2(run_dir)
    if ct2_ok is True:
        stages.append(("CTranslate2 convert", ctranslate2_models, ("ctranslate2",)))
        for compute in CT2_TYPES:
            stages.append((f"CTranslate2 {compute} BLEU", lambda c=compute: ctranslate2_quality(c), ("ctranslate2_quality", compute)))
    else:
        res["ctranslate2"] = {"not_applicable": ct2_ok or "skipped"}

    decoders = []
    if "baselines" not in o["skip"]:
        decoders.append(("keras_cached", "keras_cached", lambda: run_dir, None, None, None))
    for recipe in bench.recipes:
        decoders.append((f"litert_{recipe}", "litert", lambda r=recipe: bench.artifact(family, r), None, None, None))
    if "baselines" not in o["skip"]:
        decoders.append(("keras_tutorial", "keras_tutorial", lambda: run_dir, None, [1], None))
        # Eager re-running can take seconds per sentence: bounded, first sentences only.
        decoders.append(("keras_tutorial_eager", "keras_tutorial_eager", lambda: run_dir, None, [1], 20 if o["quick"] else 120))
    if ct2_ok is True:
        for compute in CT2_TYPES:
            decoders.append((f"ctranslate2_{compute}", "ctranslate2", lambda c=compute: ct2_dir(c), compute, None, None))
    for round_index in range(o["latency_rounds"]):
        for name, kind, path_fn, compute, beams, limit in decoders:
            stages.append(
                (
                    f"latency {name} (round {round_index + 1}/{o['latency_rounds']})",
                    lambda n=name, i=round_index, k=kind, p=path_fn, c=compute, b=beams, m=limit: latency(n, i, k, p, c, b, m),
                    ("latency_rounds", name, str(round_index)),
                )
            )
    stages.append(("latency summary", latency_summary, None))

    def op_profile(recipe):
        """Per-op time of what remains: `decode_step`'s shortest cache variant
        at batch 1 (greedy), `beam` rows (beam search, one sentence) and the
        large batch, and `encode` at batch 1 and the large batch, all over a
        source of the latency sample's mean length."""
        from ondevice.manifest import load_manifest

        artifact = bench.artifact(family, recipe)
        manifest = load_manifest(artifact)
        step = manifest.decode_signatures[0]
        length = max(1, round(sum(map(len, state["sample"])) / len(state["sample"])))
        beam = max(o["beams"])
        cases = [{"signature": step, "batch": b, "seq_len": length} for b in sorted({1, beam, o["batch_size"]})]
        cases += [{"signature": "encode", "batch": b, "seq_len": length} for b in sorted({1, o["batch_size"]})]
        spec = {"kind": "op_profile", "path": manifest.path("model_file"), "threads": 1, "runs": 5 if o["quick"] else 50, "cases": cases}
        res.setdefault("op_profile", {})[recipe] = run_worker(spec, bench.log_path)

    for recipe in [r for r in ("float32", "dynamic_int8", "int8") if r in bench.recipes]:
        stages.append((f"op profile {recipe}", lambda r=recipe: op_profile(r), ("op_profile", recipe)))
    if "throughput" not in o["skip"]:
        for pipeline in ("bucketed", "padded"):
            for jit in (False,) if "jit" in o["skip"] else (False, True):
                stages.append(
                    (
                        f"training throughput {pipeline} jit={jit}",
                        lambda p=pipeline, j=jit: throughput(bench, family, p, j),
                        ("throughput", f"{pipeline}_jit{int(jit)}"),
                    )
                )
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
    config = family_module.get_preset("tiny").model
    model = family_module.build_model(config)
    try:
        _check_supported(model)
    except CTranslate2Error as e:
        return f"no CTranslate2 mapping: {e}"
    return True


def throughput(bench, family, pipeline, jit):
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


TASK_SECTIONS["text_vae"] = TASK_SECTIONS["image_vae"] = vae_section


class _TranslatorDecoder:
    """`translate_ids` of an `ondevice.translator.Translator` (one batch)."""

    def __init__(self, translator):
        self.translator = translator

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        return self.translator.translate_ids(id_lists, beam_size=beam_size, length_penalty=length_penalty)
