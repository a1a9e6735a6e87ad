"""`BENCHMARKS.md` and the PNG plots from a results dict (see `runner`).

Everything printed comes from the measurements; a figure that could not be
measured is shown as "not measured" with the recorded reason.
"""

import datetime
import os

from bench.vae_section import vae_summary, vae_tables
from zoo import atomic

# Published Multi30k En->De test2016 figures (lowercased BLEU, beam 5) and
# this project's targets (issue 13).
TARGETS = {
    "transformer": {"published": "41.0 (fairseq Transformer-tiny baseline, Wu et al., 2021)", "target": 41.5},
    "lstm": {"published": "39.0 (LIUM-CVC WMT17 GRU attention system)", "target": 39.5},
}
EDGE = {
    "dynamic_int8_bleu_drop": 0.3,
    "int8_bleu_drop": 0.5,
    "int8_size_fraction": 0.27,
    "speedup_vs_tutorial": 20.0,
    "time_vs_ctranslate2_int8": 1.5,  # done at <= 1.5x CTranslate2 int8's time per token; the goal is <= 1x
}
# The decoding settings compared per token with CTranslate2 int8: (key, label, beam, batched).
CT2_SETTINGS = (
    ("greedy_b1", "greedy, batch 1", "1", False),
    ("beam5_b1", "beam 5, batch 1", "5", False),
    ("greedy_b32", "greedy, batch 32", "1", True),
)
LATENCY_LABELS = {
    "keras_tutorial": "(a) Keras, whole model re-run per token (tutorial approach, `tf.function`)",
    "keras_tutorial_eager": "(a) Keras, whole model re-run per token (tutorial approach, eager as in the tutorials)",
    "keras_cached": "(b) Keras with the K/V cache / state",
    "ctranslate2_float32": "(c) CTranslate2 float32",
    "ctranslate2_int8": "(c) CTranslate2 int8",
}


def _translation(results):
    """(family, results) of the translation families (VAEs have their own tables)."""
    return [(f, fam) for f, fam in results["families"].items() if fam.get("task", "translation") == "translation"]


def _target(fam):
    """The published figure and target of a Multi30k run's model family, or None."""
    if (fam.get("keras") or {}).get("corpus") != "multi30k":
        return None
    return TARGETS.get((fam.get("run") or {}).get("family"))


def _ct2(fam):
    """CTranslate2 conversion figures merged with their BLEU, per compute type."""
    out = {}
    for compute, conversion in (fam.get("ctranslate2") or {}).items():
        if isinstance(conversion, dict):
            out[compute] = {**conversion, **((fam.get("ctranslate2_quality") or {}).get(compute) or {})}
    return out


def _shown_path(path):
    """A recorded absolute path, relative to the working directory when it lies under it."""
    if path and os.path.isabs(path) and not os.path.relpath(path).startswith(".."):
        return os.path.relpath(path)
    return path


def _label(name):
    return LATENCY_LABELS.get(name) or f"LiteRT split signatures, `{name.removeprefix('litert_')}`"


def _f(value, digits=2, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _bleu(entry, beam):
    b = (entry or {}).get("beams", {}).get(str(beam))
    return f"{b['bleu_cased']:.2f} / {b['bleu_lowercased']:.2f}" if b else "–"


def _lc(entry, beam):
    b = (entry or {}).get("beams", {}).get(str(beam))
    return b["bleu_lowercased"] if b else None


def _errors(family_results):
    """(what, error) pairs of everything that could not be measured."""
    found = []

    def walk(prefix, value):
        if isinstance(value, dict):
            if "error" in value:
                found.append((prefix, value["error"]))
            for k, v in value.items():
                if k not in ("error", "latency_rounds"):
                    walk(f"{prefix} / {k}" if prefix else k, v)

    walk("", family_results)
    found += [("stage", e["error"]) for e in family_results.get("errors", [])]
    return found


def speed_ratios(fam):
    """Side-by-side ratios of the latency stage (same sentences, one run)."""
    lat = {k: v for k, v in fam.get("latency", {}).items() if "error" not in v}
    out = {}
    tutorial = lat.get("keras_tutorial", {}).get("beams", {}).get("1")
    eager = lat.get("keras_tutorial_eager", {}).get("beams", {}).get("1")
    ct2 = lat.get("ctranslate2_int8", {}).get("beams", {})
    cached = lat.get("keras_cached", {}).get("beams", {}).get("1")
    for name, entry in lat.items():
        if not name.startswith("litert_"):
            continue
        greedy = entry["beams"].get("1")
        if not greedy:
            continue
        ratios = {}
        if tutorial:
            ratios["vs_tutorial_per_sentence"] = tutorial["mean_ms"] / greedy["mean_ms"]
        if eager:  # time-bounded: compare on the same first sentences
            n = eager["sentences"]
            ours = greedy.get("sentence_ms", [])[:n]
            ours_mean = sum(ours) / len(ours) if len(ours) == n else greedy["mean_ms"]
            ratios["vs_tutorial_eager_per_sentence"] = eager["mean_ms"] / ours_mean
        if cached:
            ratios["vs_keras_cached_per_sentence"] = cached["mean_ms"] / greedy["mean_ms"]
        for key, _, beam, batched in CT2_SETTINGS:
            ours, theirs = entry["beams"].get(beam), ct2.get(beam)
            if batched:
                ours, theirs = (ours or {}).get("batch"), (theirs or {}).get("batch")
            if ours and theirs:  # ours ms/token ÷ CTranslate2's: < 1 means we are faster
                ratios[f"time_over_ctranslate2_int8_{key}"] = ours["ms_per_token"] / theirs["ms_per_token"]
        out[name] = ratios
    return out


OP_GROUPS = (  # (label, test on (source, op type)) for the per-op profile, first match wins
    ("weight matmuls", lambda source, op: op.startswith("Fully Connected")),
    ("attention matmuls", lambda source, op: op.startswith("Batch Matrix Multiply")),
    ("other XNNPACK ops", lambda source, op: source == "xnnpack"),
    ("builtin ops", lambda source, op: True),
)


def _op_profile_table(fam):
    """Per-op profile of the signatures, grouped: where the time that remains goes."""
    profiles = {r: p for r, p in fam.get("op_profile", {}).items() if "error" not in p}
    if not profiles:
        return []
    groups = [label for label, _ in OP_GROUPS]
    lines = [
        "Per-op profile (LiteRT's profiler, XNNPACK, 1 thread, placeholder inputs with the latency sample's mean "
        "source length; mean ms per call and share of it). XNNPACK reports whole microseconds, so ops under 1 µs "
        "read 0 and their time, with the interpreter's per-op overhead, is the *unattributed* rest of `Invoke`; "
        "*outside Invoke* is the profiling API's own buffer handling, which `ondevice`'s runtime does not pay:",
        "",
        "| recipe | signature | rows | source | ms per call | "
        + " | ".join(groups)
        + " | unattributed | outside Invoke | slowest op types |",
        "| --- | --- | --- | --- | --- |" + " --- |" * (len(groups) + 3),
    ]
    for recipe, profile in profiles.items():
        for case in profile["cases"]:
            total = case["total_ms"]
            shares = dict.fromkeys(groups, 0.0)
            for row in case["by_op"]:
                label = next(label for label, test in OP_GROUPS if test(row["source"], row["op"]))
                shares[label] += row["ms"]
            top = ", ".join(f"{r['op']} ×{r['count']:.0f} {r['ms']:.3f}" for r in case["by_op"][:3])
            lines.append(
                f"| `{recipe}` | `{case['signature']}` | {case['batch']} | {case['seq_len']} | {total:.3f} | "
                + " | ".join(f"{shares[g]:.3f} ({shares[g] / total:.0%})" for g in groups)
                + f" | {case['unattributed_ms']:.3f} ({case['unattributed_ms'] / total:.0%})"
                + f" | {total - case['invoke_ms']:.3f} ({(total - case['invoke_ms']) / total:.0%}) | {top} |"
            )
    return lines + [""]


def _family_tables(family, fam):
    lines = []
    run = fam.get("run", {})
    cfg = run.get("config") or {}
    keras = fam.get("keras", {})
    lines += [f"## {family}", ""]
    if "error" in keras:
        lines += [f"Keras reference not measured: {keras['error']}", ""]
    lines += [
        "### Trained model",
        "",
        "| run | preset | data | epochs logged | best val loss | training time (2-core CPU) |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| `{_shown_path(run.get('run_dir'))}` | `{run.get('preset')}` | {run.get('data')} ({run.get('train_pairs')} pairs) | "
        f"{run.get('epochs_logged')} | {_f(run.get('best_val_loss'), 3)} | "
        + (f"{run['train_seconds'] / 60:.0f} min" if run.get("train_seconds") else "not recorded (run.json has no train_seconds)")
        + " |",
        "",
    ]
    if run.get("note"):
        lines += [f"Note: {run['note']}", ""]
    if cfg:
        keys = [k for k in cfg if k.endswith(("_dim", "_units", "layers", "heads", "vocabulary_size", "attention"))]
        lines += ["Configuration: " + ", ".join(f"`{k}={cfg[k]}`" for k in keys), ""]
    target = _target(fam)
    lc5 = _lc(keras, 5)
    if target and lc5 is not None:
        met = "met" if lc5 >= target["target"] else f"NOT met ({target['target'] - lc5:.2f} BLEU short)"
        lines += [
            f"Test2016 lowercased BLEU, beam 5: **{lc5:.2f}** (Keras float32). Published: {target['published']}; "
            f"target ≥ {target['target']}: {met}.",
            "",
        ]

    recipes = fam.get("recipes", {})
    lat = fam.get("latency", {})
    float_bytes = (recipes.get("float32") or {}).get("model_bytes")
    float_lc5 = _lc(recipes.get("float32"), 5) or lc5
    lines += [
        f"### Quality and size per recipe ({keras.get('sentences', '?')} {keras.get('corpus', '')} test sentences)",
        "",
        "sacreBLEU cased / lowercased (13a). Exact match: share of sentences whose greedy tokens equal the "
        "float32 Keras model's.",
        "",
        "| model | file | of float32 | greedy | beam 5 | Δ beam-5 lc vs float32 | exact match | parity at conversion (token agreement) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| Keras float32 | – | – | {_bleu(keras, 1)} | {_bleu(keras, 5)} | – | 1.000 | – |",
    ]
    for recipe, r in recipes.items():
        if "error" in r:
            lines.append(f"| `{recipe}` | not measured: {r['error']} | | | | | | |")
            continue
        size = r["model_bytes"] / 1e6
        frac = f"{r['model_bytes'] / float_bytes:.1%}" if float_bytes else "–"
        delta = _lc(r, 5) - float_lc5 if _lc(r, 5) is not None and float_lc5 is not None else None
        parity = (r.get("parity") or {}).get("token_agreement")
        lines.append(
            f"| LiteRT `{recipe}` | {size:.2f} MB | {frac} | {_bleu(r, 1)} | {_bleu(r, 5)} | {_f(delta, 2)} | "
            f"{_f(r.get('exact_match'), 3)} | {_f(parity, 4)} |"
        )
    for compute, r in _ct2(fam).items():
        if "beams" not in r:
            if "error" in r:
                lines.append(f"| CTranslate2 `{compute}` | not measured: {r['error']} | | | | | | |")
            continue
        lines.append(
            f"| CTranslate2 `{compute}` | {r['model_bytes'] / 1e6:.2f} MB | – | {_bleu(r, 1)} | {_bleu(r, 5)} | "
            f"{_f(_lc(r, 5) - float_lc5 if float_lc5 is not None else None, 2)} | {_f(r.get('exact_match'), 3)} | "
            f"{_f(r.get('greedy_sentence_agreement_with_keras'), 4)} (greedy sentences) |"
        )
    ct2 = fam.get("ctranslate2") or {}
    if "not_applicable" in ct2:
        lines += ["", f"CTranslate2: {ct2['not_applicable']}."]
    lines.append("")

    if lat:
        n = fam.get("latency_sample_sentences")
        lines += [
            f"### Speed and memory, side by side ({n} fixed test sentences, same weights, 1 thread)",
            "",
            "Every decoder runs once per round, round after round; each keeps its fastest round (by greedy mean per "
            "sentence), so a burst of load from other processes does not fall on one decoder only.",
            "",
            "Per sentence: wall time of one sentence at batch 1 (tokenized ids in, ids out). Per token: total time / "
            "decode steps (generated tokens + the end token). Peak RSS: the measuring subprocess's own maximum "
            "resident memory (model load + all its runs).",
            "",
            "| decoder | greedy p50 / p95 ms | greedy ms/token | beam 5 p50 / p95 ms | beam 5 ms/token | "
            "batch greedy ms/sentence | batch ms/token | peak RSS | greedy = Keras | greedy mean ms per round (load avg) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in lat.items():
            if "error" in r:
                lines.append(f"| {_label(name)} | not measured: {r['error']} | | | | | | | | |")
                continue
            g, b5 = r["beams"].get("1", {}), r["beams"].get("5")
            batch = g.get("batch") or {}
            lines.append(
                f"| {_label(name)} | {_f(g.get('p50_ms'), 1)} / {_f(g.get('p95_ms'), 1)} | {_f(g.get('ms_per_token'), 2)} | "
                + (f"{b5['p50_ms']:.1f} / {b5['p95_ms']:.1f} | {b5['ms_per_token']:.2f}" if b5 else "– | –")
                + f" | {_f(batch.get('ms_per_sentence'), 1)} (batch {batch.get('batch_size', '–')}) | {_f(batch.get('ms_per_token'), 2)} | "
                f"{r['peak_rss_mb']:.0f} MB | "
                + ("reference" if name == "keras_cached" else _f(r.get("greedy_equal_to_keras"), 3))
                + " | "
                + ", ".join(f"{m:.1f}" for m in r.get("rounds_greedy_mean_ms", []))
                + (f"; first {g['sentences']} of {n} sentences (time-bounded)" if g.get("sentences") and n and g["sentences"] < n else "")
                + (f" (best round at {r['load_average_before'][0]:.1f})" if r.get("load_average_before") else "")
                + " |"
            )
        lines.append("")
        profile = {k: v.get("profile") for k, v in lat.items() if v.get("profile")}
        if profile:
            lines += [
                "Where the LiteRT greedy time goes (batch 1): share of wall time inside the runtime's decode steps "
                "(write the token, `Invoke`, write the new state rows, copy the logits), inside `encode` (with "
                "binding the state buffers), and in the numpy search loop; then one step repeated in isolation: "
                "the whole runtime step versus `Invoke` alone; and the XNNPACK partitions of the step "
                "(delegated ops / ops left on builtin kernels).",
                "",
                "| recipe | decode steps | encode | search loop (numpy) | ms per decode step (in the run) | "
                "isolated step ms | of which Invoke ms | bytes copied per step | ops per step | XNNPACK partitions (delegated / builtin ops) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for name, p in profile.items():
                one = p.get("single_call") or {}
                recipe = name.removeprefix("litert_")
                xnn = ((fam.get("recipes", {}).get(recipe) or {}).get("xnnpack") or {}).get(one.get("signature", "decode_step"))
                partitions = (
                    f"{xnn['partitions']} ({xnn['delegated_ops']} / {sum(xnn['builtin_ops'].values())})" if xnn else "–"
                )
                lines.append(
                    f"| `{recipe}` | {p['decode_step_share']:.1%} | {p['encode_share']:.1%} | "
                    f"{p['search_share']:.1%} | {p['ms_per_decode_step']:.3f} | {_f(one.get('call_ms'), 3)} | "
                    f"{_f(one.get('invoke_only_ms'), 3)} | {one.get('bytes_copied_per_call', '–')} | "
                    f"{one.get('decode_step_ops', '–')} | {partitions} |"
                )
            lines.append("")
        lines += _op_profile_table(fam)
        ratios = speed_ratios(fam)
        if ratios:
            lines += [
                "Ratios (same run, same sentences; >1 means the LiteRT artifact is faster):",
                "",
                "| LiteRT recipe | vs (a) tutorial `tf.function`, per sentence | vs (a) tutorial eager, per sentence | "
                "vs (b) Keras cached, per sentence | "
                + " | ".join(f"ours ÷ CTranslate2 int8, ms/token, {label}" for _, label, _, _ in CT2_SETTINGS)
                + " |",
                "| --- | --- | --- | --- |" + " --- |" * len(CT2_SETTINGS),
            ]
            for name, r in ratios.items():
                lines.append(
                    f"| `{name.removeprefix('litert_')}` | {_f(r.get('vs_tutorial_per_sentence'), 1, '×')} | "
                    f"{_f(r.get('vs_tutorial_eager_per_sentence'), 1, '×')} | "
                    f"{_f(r.get('vs_keras_cached_per_sentence'), 1, '×')} | "
                    + " | ".join(_f(r.get(f"time_over_ctranslate2_int8_{key}"), 2, "×") for key, _, _, _ in CT2_SETTINGS)
                    + " |"
                )
            lines.append("")

    tp = fam.get("throughput", {})
    if tp:
        lines += [
            "### Training throughput (`fit`, same model and data, fresh weights)",
            "",
            "Target tokens/s: real (non-padding) target tokens per second over the measured training steps (after "
            "warm-up batches). With `jit_compile` every batch shape not seen before is a new XLA compilation inside "
            "the measured window; the steady-state column counts only steps whose shape was compiled already.",
            "",
            "| pipeline | jit_compile | measured steps | target tokens/s | steady-state tokens/s | padded positions/s | padding | s/step | "
            "distinct shapes (new while measuring) | wall incl. warm-up |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in tp.items():
            if "error" in r:
                lines.append(f"| {name} | not measured: {r['error']} | | | | | | | |")
                continue
            lines.append(
                f"| {r['pipeline']} | {r['jit_compile']} | {r['steps']} | {r['target_tokens_per_second']:.0f} | "
                f"{_f(r.get('steady_state_target_tokens_per_second'), 0)} | "
                f"{r['padded_positions_per_second']:.0f} | {r['padding_fraction']:.0%} | {r['seconds_per_step']:.3f} | "
                f"{r['distinct_batch_shapes']} ({r.get('new_shapes_while_measuring', '–')}) | {r['wall_seconds_including_warmup']:.0f} s |"
            )
        base = tp.get("padded_jit0", {}).get("target_tokens_per_second")
        if base:
            best = max((r for r in tp.values() if "error" not in r), key=lambda r: r["target_tokens_per_second"] or 0)
            ours = tp.get("bucketed_jit0", {}).get("target_tokens_per_second")
            lines += [""]
            if ours:
                lines.append(f"Bucketed (`zoo train`) ÷ fixed-length padded (tutorial), both without XLA: **{ours / base:.2f}×**.")
            lines.append(
                f"Best: {best['pipeline']} with jit_compile={best['jit_compile']}, "
                f"{best['target_tokens_per_second'] / base:.2f}× the padded pipeline without XLA."
            )
        lines.append("")
    errors = _errors(fam)
    if errors:
        lines += ["### Not measured", ""] + [f"- {what}: {err}" for what, err in errors] + [""]
    return lines


def edge_checks(results):
    """The issue's edge targets, checked against the measured figures."""
    rows = []
    for family, fam in _translation(results):
        recipes = fam.get("recipes", {})
        f32 = _lc(recipes.get("float32"), 5)
        for recipe, limit in (("dynamic_int8", EDGE["dynamic_int8_bleu_drop"]), ("int8", EDGE["int8_bleu_drop"])):
            value = _lc(recipes.get(recipe), 5)
            if value is not None and f32 is not None:
                drop = f32 - value
                rows.append((family, f"`{recipe}` within {limit} BLEU of float32 (beam 5 lc)", f"{-drop:+.2f}", drop <= limit))
        if "float32" in recipes and "model_bytes" in recipes.get("int8", {}) and "model_bytes" in recipes["float32"]:
            frac = recipes["int8"]["model_bytes"] / recipes["float32"]["model_bytes"]
            rows.append((family, "int8 file ≤ 27 % of float32", f"{frac:.1%}", frac <= EDGE["int8_size_fraction"]))
        ratios = speed_ratios(fam)
        for recipe in ("float32", "dynamic_int8", "int8"):
            r = ratios.get(f"litert_{recipe}", {})
            for key, what in (("vs_tutorial_per_sentence", "(a) `tf.function`"), ("vs_tutorial_eager_per_sentence", "(a) eager")):
                if key in r:
                    v = r[key]
                    rows.append((family, f"`{recipe}` ≥ 20× faster per sentence than {what}", f"{v:.1f}×", v >= EDGE["speedup_vs_tutorial"]))
            limit = EDGE["time_vs_ctranslate2_int8"]
            for key, label, _, _ in CT2_SETTINGS:
                v = r.get(f"time_over_ctranslate2_int8_{key}")
                if v is not None:
                    goal = "goal ≤ 1× met" if v <= 1.0 else "goal ≤ 1× not met"
                    rows.append((
                        family,
                        f"`{recipe}` per token ≤ {limit}× CTranslate2 int8's time, {label}",
                        f"{v:.2f}× ({goal})",
                        v <= limit,
                    ))
    return rows


def _greedy_profile(latency):
    """Where a LiteRT decoder's greedy time goes, as a clause for the closing note."""
    p = latency.get("profile") or {}
    one = p.get("single_call") or {}
    if not p:
        return ""
    where = f"; {p['decode_step_share']:.0%} of our time is inside `decode_step`"
    if one.get("invoke_only_ms") is not None:
        where += (
            f", whose isolated call takes {one['call_ms']:.3f} ms of which {one['invoke_only_ms']:.3f} ms is "
            f"`Invoke` ({one.get('decode_step_ops')} ops per step): the time goes to the interpreter "
            "running many small ops, not to copying the cache"
            if one["call_ms"] - one["invoke_only_ms"] < 0.25 * one["call_ms"]
            else f", whose isolated call takes {one['call_ms']:.3f} ms of which only {one['invoke_only_ms']:.3f} ms "
            "is `Invoke`: copying the state in and out dominates"
        )
    return where


def closing_note(results):
    """Summary of the figures and the largest remaining gap, from the measurements."""
    lines = ["## Closing note", ""]
    gaps = []  # (factor by which the target is missed, sentence)
    for family, fam in _translation(results):
        keras, recipes = fam.get("keras") or {}, fam.get("recipes") or {}
        lc5 = _lc(keras, 5)
        target = _target(fam)
        parts = []
        if lc5 is not None:
            parts.append(f"Keras float32 reaches {lc5:.2f} lowercased BLEU (beam 5) on {keras.get('sentences')} test sentences")
            if target and lc5 < target["target"]:
                gaps.append((target["target"] / lc5, f"{family} quality: {lc5:.2f} vs the {target['target']} target ({target['target'] - lc5:.2f} BLEU short)"))
        sizes = {r: v["model_bytes"] / 1e6 for r, v in recipes.items() if "model_bytes" in v}
        if sizes:
            parts.append("files " + ", ".join(f"`{r}` {mb:.1f} MB ({_f(_lc(recipes[r], 5), 2)} BLEU)" for r, mb in sizes.items()))
        lat = {k: v for k, v in fam.get("latency", {}).items() if "error" not in v and "1" in v.get("beams", {})}
        litert = {k: v for k, v in lat.items() if k.startswith("litert_")}
        if litert:
            best_name, best = min(litert.items(), key=lambda kv: kv[1]["beams"]["1"]["ms_per_token"])
            best_ms = best["beams"]["1"]["ms_per_token"]
            parts.append(f"the fastest LiteRT recipe at batch 1 is `{best_name.removeprefix('litert_')}` at {best_ms:.2f} ms per token")
            ratios = speed_ratios(fam).get(best_name, {})
            for key, label in (("vs_tutorial_per_sentence", "the tutorial approach (`tf.function`)"), ("vs_tutorial_eager_per_sentence", "the eager tutorial approach")):
                if key in ratios:
                    ratio = ratios[key]
                    parts.append(f"{ratio:.1f}× faster per sentence than {label}")
                    if ratio < EDGE["speedup_vs_tutorial"]:
                        gaps.append((EDGE["speedup_vs_tutorial"] / ratio, f"{family} speed vs {label}: {ratio:.1f}× instead of ≥ 20×"))
            if "ctranslate2_int8" in lat:
                ct2_ms = lat["ctranslate2_int8"]["beams"]["1"]["ms_per_token"]
                parts.append(f"CTranslate2 int8 takes {ct2_ms:.2f} ms per token at greedy batch 1")
            for key, label, _, _ in CT2_SETTINGS:
                factor = ratios.get(f"time_over_ctranslate2_int8_{key}")
                if factor is None:
                    continue
                parts.append(f"{label}: {factor:.2f}× CTranslate2 int8's time per token")
                if factor > 1:
                    gaps.append((factor, f"{family} decode speed, {label}: {factor:.1f}× CTranslate2 int8's time per token"
                                 + (_greedy_profile(best) if key == "greedy_b1" else "")))
        if parts:
            lines.append(f"- **{family}**: " + "; ".join(parts) + ".")
    for family, fam in results["families"].items():
        summary = vae_summary(fam) if fam.get("task", "translation") != "translation" else None
        if summary:
            lines.append(f"- **{family}**: {summary}.")
    if gaps:
        factor, sentence = max(gaps)
        lines += ["", f"Largest remaining gap: {sentence}."]
    elif len(lines) > 2:
        lines += ["", "Every measured target is met."]
    return lines + [""]


def plot_bleu_vs_size(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for family, fam in _translation(results):
        points = [(r["model_bytes"] / 1e6, _lc(r, 5), name) for name, r in fam.get("recipes", {}).items() if "model_bytes" in r and _lc(r, 5) is not None]
        ct2 = [(r["model_bytes"] / 1e6, _lc(r, 5), f"CT2 {name}") for name, r in _ct2(fam).items() if "beams" in r]
        for group, marker, label, offset in ((points, "o", f"{family} LiteRT", (4, 3)), (ct2, "x", f"{family} CTranslate2", (4, -9))):
            if not group:
                continue
            ax.scatter([p[0] for p in group], [p[1] for p in group], marker=marker, label=label)
            for x, y, name in group:
                ax.annotate(name, (x, y), textcoords="offset points", xytext=offset, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("model file (MB, log scale)")
    ax.set_ylabel("test BLEU, lowercased, beam 5")
    ax.set_title("Quality vs file size")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    with atomic.staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def plot_latency(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [(f, fam) for f, fam in results["families"].items() if fam.get("latency")]
    fig, axes = plt.subplots(len(families) or 1, 1, figsize=(8, 0.5 + 0.42 * max([len(f["latency"]) for _, f in families] or [1]) * max(1, len(families))), squeeze=False)
    for ax, (family, fam) in zip(axes[:, 0], families):
        items = [(n, r["beams"]["1"]["ms_per_token"]) for n, r in fam["latency"].items() if "error" not in r and "1" in r["beams"]]
        names = [n.replace("litert_", "LiteRT ").replace("ctranslate2_", "CT2 ").replace("keras_", "Keras ") for n, _ in items]
        values = [v for _, v in items]
        colors = ["tab:blue" if n.startswith("litert") else "tab:gray" for n, _ in items]
        ax.barh(names, values, color=colors)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.2f}", va="center", fontsize=7)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_title(f"{family}: greedy ms per generated token (batch 1, 1 thread; log scale)", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    with atomic.staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_report(results, out_dir, command=None):
    """Write `BENCHMARKS.md`, `bleu_vs_size.png`, `latency_per_token.png` into `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    plot_bleu_vs_size(results, os.path.join(out_dir, "bleu_vs_size.png"))
    plot_latency(results, os.path.join(out_dir, "latency_per_token.png"))
    env, o = results["environment"], results["options"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `zoo bench` on {datetime.date.today().isoformat()}"
        + (" in **quick mode** (tiny models, a few sentences: a smoke test, not a benchmark)" if o.get("quick") else "")
        + f". Machine: {env['cpu']}, {env['cores']} cores, load average {env['load_average_at_start']} at the start "
        "(shared and noisy: compare the ratios measured side by side, not absolute times across runs). "
        + "Versions: "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
        + ".",
        "",
        f"BLEU on {o.get('max_sentences') or 'all'} test sentences, beams {o['beams']}; latency on a fixed sample of "
        f"{o['latency_sentences']} test sentences, batch 1 and batch {o['batch_size']}, 1 thread, every decoder in its "
        "own subprocess.",
        "",
    ]
    rows = edge_checks(results)
    if rows:
        lines += ["## Targets", "", "| family | target | measured | met |", "| --- | --- | --- | --- |"]
        lines += [f"| {f} | {t} | {m} | {'yes' if ok else '**no**'} |" for f, t, m, ok in rows]
        for family, fam in _translation(results):
            target, lc5 = _target(fam), _lc(fam.get("keras"), 5)
            if target and lc5 is not None:
                ok = lc5 >= target["target"]
                lines.append(f"| {family} | test2016 lowercased BLEU beam 5 ≥ {target['target']} | {lc5:.2f} | {'yes' if ok else '**no**'} |")
        lines.append("")
    lines += ["![BLEU vs file size](bleu_vs_size.png)", "", "![latency per token](latency_per_token.png)", ""]
    for family, fam in results["families"].items():
        lines += _family_tables(family, fam) if fam.get("task", "translation") == "translation" else vae_tables(family, fam)
    lines += closing_note(results)
    atomic.write_text(os.path.join(out_dir, "BENCHMARKS.md"), "\n".join(lines) + "\n")
