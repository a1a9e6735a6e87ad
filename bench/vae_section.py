"""The VAE part of `zoo bench`: ELBO / reconstruction and latency per recipe.

Text VAEs (`text_vae`) and image VAEs (`image_vae`) share one section. Every
recipe's artifact is evaluated by the on-device code (`ondevice.vae`) on the
same test examples as the Keras model (`zoo.vae_evaluation.keras_vae`, the
same code over Keras signatures), with the same posterior noise; latency is
measured per example at batch 1 on 1 thread (encode; encode + decode, the
round trip of `zoo reconstruct`) and per example at a larger batch, each
decoder in its own subprocess (`bench.worker.measure_vae`, spec kind `vae`).
"""

import os

from bench.common import run_summary, run_worker
from zoo.vae_evaluation import load_examples

# Figures shown per task: (key, label, digits).
FIGURES = {
    "text_vae": (
        ("nll_bound", "NLL bound (-ELBO), nats/sentence", 2),
        ("reconstruction", "reconstruction, nats/sentence", 2),
        ("kl", "KL, nats", 2),
        ("perplexity_bound", "perplexity bound", 1),
        ("active_units", "active units", 0),
    ),
    "image_vae": (
        ("nll_bound", "NLL bound (-ELBO), nats/image", 3),
        ("reconstruction", "reconstruction, nats/image", 3),
        ("kl", "KL, nats", 3),
        ("mean_abs_pixel_error", "mean abs. pixel error", 4),
        ("active_units", "active units", 0),
    ),
}


def vae_section(bench, family, run_info):
    """Quality per recipe (ELBO figures vs Keras), file size and latency."""
    run_dir, o, task = bench.runs[family], bench.o, run_info["task"]
    res = bench.results["families"].setdefault(family, {})
    res["task"], res["run"] = task, run_summary(run_dir, run_info)
    data = bench.data or run_info.get("data")
    count = o["max_sentences"]
    state = {}

    def examples():
        if "examples" not in state:
            state["examples"], state["corpus"] = load_examples(task, data, "test", count)
        return state["examples"]

    def reference():
        from zoo.vae_evaluation import load_vae

        vae = load_vae(run_dir)[0]
        res["keras"] = {**vae.evaluate(examples(), seed=0), "split": "test", "corpus": state["corpus"]}

    def recipe_quality(recipe):
        from ondevice.manifest import load_manifest
        from ondevice.vae import ImageVAERunner, SentenceVAERunner

        artifact = bench.artifact(family, recipe)
        manifest = load_manifest(artifact)
        vae = (SentenceVAERunner if task == "text_vae" else ImageVAERunner).from_artifact(artifact, num_threads=2)
        res.setdefault("recipes", {})[recipe] = {
            "artifact": os.path.abspath(artifact),
            "model_bytes": os.path.getsize(manifest.path("model_file")),
            "parity": manifest.data.get("parity"),
            **vae.evaluate(examples(), seed=0),
        }

    def latency(name, round_index, decoder, path_fn):
        spec = {
            "kind": "vae",
            "task": task,
            "decoder": decoder,
            "path": path_fn(),
            "data": data,
            "count": o["latency_sentences"],
            "batch_size": o["batch_size"],
            "warmup": o["warmup"],
            "threads": 1,
        }
        result = run_worker(spec, bench.log_path)
        res.setdefault("vae_latency_rounds", {}).setdefault(name, {})[str(round_index)] = result

    def latency_summary():
        """Each decoder's fastest round (mean round trip at batch 1)."""
        res["vae_latency"] = {}
        for name, rounds in res.get("vae_latency_rounds", {}).items():
            good = [r for r in rounds.values() if "error" not in r]
            res["vae_latency"][name] = min(good, key=lambda r: r["roundtrip"]["mean_ms"]) if good else next(iter(rounds.values()))

    stages = [("Keras reference ELBO", reference, ("keras",))]
    for recipe in bench.recipes:
        stages.append((f"{recipe}: convert + ELBO", lambda r=recipe: recipe_quality(r), ("recipes", recipe)))
    decoders = [("keras", "keras", lambda: run_dir)] if "baselines" not in o["skip"] else []
    decoders += [(f"litert_{r}", "litert", lambda r=r: bench.artifact(family, r)) for r in bench.recipes]
    for i in range(o["latency_rounds"]):
        for name, kind, path_fn in decoders:
            stages.append(
                (
                    f"latency {name} (round {i + 1}/{o['latency_rounds']})",
                    lambda n=name, i=i, k=kind, p=path_fn: latency(n, i, k, p),
                    ("vae_latency_rounds", name, str(i)),
                )
            )
    stages.append(("latency summary", latency_summary, None))
    return stages


def vae_tables(family, fam):
    """The Markdown lines of one VAE family."""
    task = fam["task"]
    run, keras, recipes = fam.get("run", {}), fam.get("keras") or {}, fam.get("recipes") or {}
    unit = "sentence" if task == "text_vae" else "image"
    lines = [f"## {family}", ""]
    cfg = run.get("config") or {}
    lines += [
        f"{task.replace('_', ' ')} (`{run.get('preset')}` preset, {run.get('epochs_logged')} epochs, "
        f"best val loss {run.get('best_val_loss') or 0:.3f}), data {run.get('data') or 'bundled default'}"
        + (f"; latent_dim {cfg.get('latent_dim')}" if cfg.get("latent_dim") else "")
        + ".",
        "",
        f"### Quality per recipe ({keras.get('sentences') or keras.get('images') or '?'} test {unit}s of {keras.get('corpus')}, same posterior noise)",
        "",
        "| model | file | " + " | ".join(label for _, label, _ in FIGURES[task]) + " | Δ NLL bound vs Keras |",
        "| --- | --- | " + " | ".join("---" for _ in FIGURES[task]) + " | --- |",
    ]

    def row(name, entry, size):
        if "error" in entry:
            return f"| {name} | not measured: {entry['error']} |"
        cells = [f"{entry[k]:.{d}f}" if isinstance(entry.get(k), float) else str(entry.get(k, "–")) for k, _, d in FIGURES[task]]
        delta = entry["nll_bound"] - keras["nll_bound"] if "nll_bound" in keras and "nll_bound" in entry else None
        return f"| {name} | {size} | " + " | ".join(cells) + f" | {'–' if delta is None else f'{delta:+.3f}'} |"

    if keras:
        lines.append(row("Keras float32", keras, "–"))
    for recipe, entry in recipes.items():
        size = f"{entry['model_bytes'] / 1e6:.2f} MB" if "model_bytes" in entry else "–"
        lines.append(row(f"LiteRT `{recipe}`", entry, size))
    lines.append("")
    lat = fam.get("vae_latency") or {}
    if lat:
        step = " | ms per decode step" if task == "text_vae" else ""
        lines += [
            f"### Latency ({unit}s of the test split, 1 thread, fastest of the rounds)",
            "",
            f"| decoder | encode p50 ms | round trip p50 / p95 ms{step} | batch {next(iter(lat.values())).get('batch', {}).get('batch_size', '?')}: ms per {unit} | peak RSS MB |",
            "| --- | --- | --- |" + (" --- |" if step else "") + " --- | --- |",
        ]
        for name, r in lat.items():
            label = "Keras" if name == "keras" else f"LiteRT `{name.removeprefix('litert_')}`"
            if "error" in r:
                lines.append(f"| {label} | not measured: {r['error']} |")
                continue
            cells = [f"{r['encode']['p50_ms']:.3f}", f"{r['roundtrip']['p50_ms']:.3f} / {r['roundtrip']['p95_ms']:.3f}"]
            if step:
                cells.append(f"{r['ms_per_decode_step']:.3f}")
            cells += [f"{r['batch']['ms_per_example']:.3f}", f"{r['peak_rss_mb']:.0f}"]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        keras_lat = lat.get("keras", {}).get("roundtrip")
        if keras_lat:
            ratios = [
                f"`{n.removeprefix('litert_')}` {keras_lat['mean_ms'] / r['roundtrip']['mean_ms']:.1f}×"
                for n, r in lat.items()
                if n.startswith("litert_") and "roundtrip" in r
            ]
            lines += ["", "Round trip at batch 1, Keras time ÷ LiteRT time (same run): " + ", ".join(ratios) + "."]
        lines.append("")
    return lines


def vae_summary(fam):
    """One sentence for the closing note: size and NLL-bound cost of each recipe, speed vs Keras."""
    keras, recipes, lat = fam.get("keras") or {}, fam.get("recipes") or {}, fam.get("vae_latency") or {}
    float_bytes = (recipes.get("float32") or {}).get("model_bytes")
    parts = []
    if "nll_bound" in keras:
        parts.append(f"Keras NLL bound {keras['nll_bound']:.3f} nats")
    for recipe, entry in recipes.items():
        if "nll_bound" not in entry or "nll_bound" not in keras:
            continue
        size = f"{entry['model_bytes'] / 1e6:.2f} MB"
        if float_bytes:
            size += f" ({entry['model_bytes'] / float_bytes:.0%})"
        parts.append(f"`{recipe}` {size}, {entry['nll_bound'] - keras['nll_bound']:+.3f} nats")
    keras_ms = (lat.get("keras") or {}).get("roundtrip", {}).get("mean_ms")
    fastest = [(r["roundtrip"]["mean_ms"], n) for n, r in lat.items() if n.startswith("litert_") and "roundtrip" in r]
    if keras_ms and fastest:
        ms, name = min(fastest)
        parts.append(f"fastest round trip `{name.removeprefix('litert_')}` {ms:.2f} ms at batch 1, {keras_ms / ms:.1f}× faster than Keras")
    return "; ".join(parts)
