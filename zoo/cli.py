"""The `zoo` command line: train, import, average, eval, convert, translate, web, sample, reconstruct, interpolate, bench.

`translate`, `sample`, `reconstruct` and `interpolate` run with only numpy +
ai-edge-litert installed; the other subcommands import TensorFlow lazily,
when they run.
"""

import argparse
import os
import re
import sys


def config_overrides(family, preset, items):
    """`--set FIELD=VALUE` strings -> typed config overrides for `family`.

    Values are cast to the type of the preset's field (`true`/`false` for
    booleans); a tuple or list field takes comma-separated values of the type
    of its default's elements (`--set filters=16,32` -> `(16, 32)`); a field
    annotated `X | None` takes `none` or an X. An
    unknown field or a value that does not cast is a one-line error.
    """

    from zoo.families import get_family

    def cast(raw, kind):
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return raw.lower() in ("true", "1")
        return kind(raw)

    chosen = get_family(family).get_preset(preset)
    base, optional = chosen.fields(), chosen.optional_fields()  # the model's and the training's
    fields = set(base)
    overrides = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in fields:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(sorted(fields))}")
        default = base[key]
        kind = optional.get(key, type(default))
        if key in optional and raw.lower() == "none":
            overrides[key] = None
            continue
        if kind in (tuple, list):
            element = type(default[0]) if default else str
            values = []
            for part in raw.split(","):
                try:
                    values.append(cast(part.strip(), element))
                except ValueError:
                    raise ValueError(
                        f"--set {item!r}: {key} must be comma-separated {element.__name__} values, "
                        f"got {part.strip()!r}"
                    ) from None
            overrides[key] = kind(values)
            continue
        try:
            overrides[key] = cast(raw, kind)
        except ValueError:
            raise ValueError(f"--set {item!r}: {key} must be {kind.__name__}") from None
    return overrides


def _train(args):
    from zoo.training import train

    overrides = config_overrides(args.family, args.preset, args.set)
    overrides.update({k: v for k, v in (("batch_size", args.batch_size), ("learning_rate", args.learning_rate)) if v})
    train(
        args.family,
        args.out,
        preset=args.preset,
        data=args.data,
        epochs=args.epochs,
        overrides=overrides,
        max_train_pairs=args.max_train_pairs,
        strategy=args.strategy,
        init=args.init,
        verbose=1 if sys.stdout.isatty() else 2,  # a bar on a terminal, one line per epoch in a log file
    )
    print(f"trained model written to {args.out}")


def _is_artifact(path):
    from ondevice.manifest import MANIFEST_FILE

    return os.path.exists(os.path.join(path, MANIFEST_FILE))


def _average(args):
    from zoo.training import average_run

    epochs = average_run(args.run, args.last)
    print(f"{args.run}/model.keras is now the average of epochs {', '.join(map(str, epochs))}")


def _eval(args):
    from zoo.vae_evaluation import is_vae, print_vae_evaluation

    if is_vae(args.path):
        return print_vae_evaluation(args.path, args.data, args.split, args.max_sentences)
    from zoo.evaluation import evaluate

    beams = sorted({1, args.beam})
    results = evaluate(args.path, args.data, args.split, beams, args.max_sentences, args.length_penalty, args.beam_stop)
    for r in results:
        name = "greedy" if r["beam"] == 1 else f"beam {r['beam']}"
        print(
            f"{name:>8}: sacreBLEU {r['bleu_cased']:.2f} cased, {r['bleu_lowercased']:.2f} lowercased "
            f"({r['sentences']} sentences, {args.split}, {r['seconds']} s)"
        )
    for source, hypothesis, reference in results[-1]["examples"]:
        print(f"  src: {source}\n  hyp: {hypothesis}\n  ref: {reference}")


def _import(args):
    from converters.marian import import_marian

    run_info = import_marian(args.source, args.out, max_length=args.max_length)
    config = run_info["config"]
    print(
        f"imported {args.source} as {args.out}: {config['num_encoder_layers']}+{config['num_decoder_layers']} layers, "
        f"width {config['hidden_dim']}, {config['source_vocabulary_size']} tokens"
    )


def _convert(args):
    from converters.convert import convert

    convert(args.run, args.out, recipe=args.quant, data=args.data, num_verify=args.num_verify)
    print(f"artifact written to {args.out}")


def _web(args):
    from converters.web_export import WebExportConfig, export_web, web_model_current
    from zoo.web_server import ensure_runtime, make_server

    batch_sizes = tuple(int(b) for b in args.batch_sizes.split(","))
    if not web_model_current(args.artifact, batch_sizes):
        entry = export_web(args.artifact, WebExportConfig(batch_sizes=batch_sizes))
        parity = entry["parity"]
        print(
            f"wrote {os.path.join(args.artifact, entry['model_file'])} (static shapes for LiteRT.js: source "
            f"{entry['source_length']} tokens, batch {entry['batch_sizes']}; against model.tflite on "
            f"{parity['sources']} sources: max relative logit difference {parity['max_relative_logit_diff']:.2g}, "
            f"argmax agreement {parity['argmax_agreement']:.1%})"
        )
    if args.export_only:
        return 0
    ensure_runtime()
    server = make_server(args.artifact, args.host, args.port)
    host, port = server.server_address[:2]
    name = os.path.basename(os.path.normpath(args.artifact))
    print(f"serving {args.artifact} at http://{host}:{port}/?name={name}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _pairs(items, what):
    """`KEY=VALUE` arguments as a dict (one-line error on a bad one)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{what} must be KEY=PATH, got {item!r}")
        out[key] = value
    return out


def _bench(args):
    from bench.runner import run_benchmark
    from converters.recipes import RECIPES

    runs = _pairs(args.runs, "--runs")
    for family, path in runs.items():
        if not os.path.exists(os.path.join(path, "model.keras")):
            raise FileNotFoundError(f"{path}: no model.keras (is the {family} run finished?)")
    recipes = args.recipes.split(",") if args.recipes else list(RECIPES)
    run_benchmark(
        runs,
        args.out,
        data=args.data,
        artifacts=_pairs(args.artifacts, "--artifacts"),
        work_dir=args.work,
        recipes=recipes,
        quick=args.quick,
        max_sentences=args.max_sentences,
        latency_sentences=args.latency_sentences,
        batch_size=args.batch_size,
        throughput_steps=args.throughput_steps,
        latency_rounds=args.latency_rounds,
        resume=args.resume,
        skip=args.skip.split(",") if args.skip else (),
    )
    print(f"benchmark report written to {os.path.join(args.out, 'BENCHMARKS.md')}")


def _translate(args):
    from ondevice.cli import translate_main

    return translate_main(args)


def _vae_command(name):
    def run(args):
        from ondevice import vae_cli

        return getattr(vae_cli, f"{name}_main")(args)

    return run


def _add_vae_options(p, image_out):
    p.add_argument("--method", default="greedy", choices=["greedy", "beam", "sample"], help="text decoding")
    p.add_argument("--beam", type=int, default=5, help="beam size for --method beam")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature for --method sample")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k best tokens (0 = all)")
    p.add_argument("--out", default=image_out, help=f"PNG written for image VAEs (default {image_out})")
    p.add_argument("--scale", type=int, default=4, help="pixel upscaling of the PNG")
    p.add_argument("--threads", type=int, default=None)


class _TrainHelpFormatter(argparse.HelpFormatter):
    """`zoo train --help`: fills `{presets}` in a help text with the preset
    registry (each family's `PRESETS`, what its `get_preset` accepts), so the
    list cannot drift. Presets import no TensorFlow, so the help is quick."""

    def _get_help_string(self, action):
        text = super()._get_help_string(action)
        if "{presets}" in text:
            from zoo.families import FAMILIES, get_family

            presets = "; ".join(f"{name}: {' | '.join(get_family(name).PRESETS)}" for name in FAMILIES)
            text = text.replace("{presets}", presets.replace("%", "%%"))
        return text


def build_parser():
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model with Keras fit", formatter_class=_TrainHelpFormatter)
    p.add_argument("family", help="model family: transformer, lstm, sentence_vae or image_vae")
    p.add_argument("--preset", default="small", help="a preset of the family's config (default %(default)s); {presets}")
    p.add_argument(
        "--data",
        default=None,
        help="data spec (default: bundled Tatoeba en-es subset; sentence_vae uses its source side; "
        "image_vae: bundled 8x8 digits, an .npz of MNIST-shaped arrays, or mnist)",
    )
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument(
        "--init",
        default=None,
        metavar="RUN",
        help="fine-tune: start from this run's (trained or imported) architecture, tokenizer and weights; "
        "--preset is ignored, --set/--epochs/--learning-rate change its training settings",
    )
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--max-train-pairs", type=int, default=None, help="use only the first N training pairs (sentences, images)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field, e.g. --set attention=bahdanau --set input_feeding=false",
    )
    p.add_argument(
        "--strategy",
        default="default",
        choices=["default", "mirrored", "multiworker"],
        help="tf.distribute strategy: one device; all local GPUs (mirrored); the TF_CONFIG cluster (multiworker). "
        "--batch-size is per replica",
    )
    p.set_defaults(func=_train)

    p = sub.add_parser("import", help="import a pretrained checkpoint as a run (Marian / OPUS-MT from Hugging Face)")
    p.add_argument("format", choices=["marian"], help="checkpoint format")
    p.add_argument("source", help="a local Hugging Face checkpoint directory, or a hub id such as Helsinki-NLP/opus-mt-en-de")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--max-length", type=int, default=None, help="longest source and target in tokens (default 256)")
    p.set_defaults(func=_import)

    p = sub.add_parser("average", help="make a run's model the average of its last N epoch checkpoints")
    p.add_argument("run", help="runs/NAME (trained with keep_checkpoints >= N)")
    p.add_argument("--last", type=int, default=10, help="how many of the last epochs to average")
    p.set_defaults(func=_average)

    p = sub.add_parser("eval", help="sacreBLEU of a translator; ELBO/KL/reconstruction of a VAE")
    p.add_argument("path", help="runs/NAME or artifacts/NAME")
    p.add_argument("--data", default=None)
    p.add_argument("--split", default="test", choices=["test", "val"])
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--length-penalty", type=float, default=1.0)
    p.add_argument("--max-sentences", type=int, default=None)
    p.add_argument("--beam-stop", choices=("early", "fairseq"), default="early", help="beam search stop rule (see translate)")
    p.set_defaults(func=_eval)

    p = sub.add_parser("convert", help="convert a run to a verified split-signature .tflite")
    p.add_argument("run", help="runs/NAME")
    p.add_argument("--quant", default="float32", help="float32 | float16 | dynamic_int8 | int8 | int16x8")
    p.add_argument("--out", required=True, help="artifact directory")
    p.add_argument("--data", default=None, help="data for calibration/verification (default: the run's)")
    p.add_argument("--num-verify", type=int, default=64, help="validation sentences for the parity check")
    p.set_defaults(func=_convert)

    p = sub.add_parser("bench", help="quality, size, speed and memory of every family x recipe, and the alternatives")
    p.add_argument("--runs", nargs="+", required=True, metavar="FAMILY=RUN_DIR", help="e.g. transformer=runs/m30k lstm=runs/m30k_lstm")
    p.add_argument("--artifacts", nargs="*", metavar="FAMILY:RECIPE=DIR", help="existing artifacts (others are converted)")
    p.add_argument("--data", default=None, help="data spec (default: each run's own); BLEU on its test split")
    p.add_argument("--out", required=True, help="output directory for BENCHMARKS.md, plots, results.json")
    p.add_argument("--work", default=None, help="converted models, logs (default: OUT/work)")
    p.add_argument("--recipes", default=None, help="comma-separated (default: all five)")
    p.add_argument("--quick", action="store_true", help="smoke run: few sentences, few training steps")
    p.add_argument("--max-sentences", type=int, default=None, help="test sentences for BLEU (default: all)")
    p.add_argument("--latency-sentences", type=int, default=None, help="fixed latency sample (default 100)")
    p.add_argument("--batch-size", type=int, default=32, help="the larger batch")
    p.add_argument("--throughput-steps", type=int, default=None, help="measured training steps per pipeline")
    p.add_argument("--latency-rounds", type=int, default=None, help="rounds per decoder, fastest kept (default 3)")
    p.add_argument("--resume", action="store_true", help="reuse the stages already measured in the work directory")
    p.add_argument("--skip", default=None, help="comma-separated: baselines, ctranslate2, throughput, jit")
    p.set_defaults(func=_bench)

    p = sub.add_parser("translate", help="translate on device (numpy + LiteRT only)")
    p.add_argument("artifact", help="artifacts/NAME")
    p.add_argument("text", nargs="*", help="sentences; without any, one sentence per line from stdin")
    p.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
    p.add_argument("--length-penalty", type=float, default=1.0)
    p.add_argument(
        "--beam-stop",
        choices=("early", "fairseq"),
        default="early",
        help="when beam search ends a sentence: once no live hypothesis can beat the best finished one "
        "(early, default) or once beam-size hypotheses have finished (fairseq)",
    )
    p.add_argument("--stream", action="store_true", help="greedy: show each translation as it is decoded")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=_translate)

    p = sub.add_parser("web", help="serve a page that translates with the artifact in the browser (LiteRT.js)")
    p.add_argument("artifact", help="artifacts/NAME of a translation model")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--batch-sizes", default="1,4", help="decode batch sizes of the web model (the largest = widest beam)")
    p.add_argument("--export-only", action="store_true", help="write the web model, do not serve")
    p.set_defaults(func=_web)

    p = sub.add_parser("sample", help="VAE: sentences or a PNG grid of images from the prior (on device)")
    p.add_argument("artifact", help="artifacts/NAME of a text or image VAE")
    p.add_argument("--n", type=int, default=8, help="how many samples")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same samples)")
    p.add_argument("--columns", type=int, default=None, help="images per row of the grid")
    _add_vae_options(p, "samples.png")
    p.set_defaults(func=_vae_command("sample"))

    p = sub.add_parser("reconstruct", help="VAE: encode and decode sentences or image files (on device)")
    p.add_argument("artifact", help="artifacts/NAME of a text or image VAE")
    p.add_argument("inputs", nargs="+", help="sentences, or .png/.npy image files")
    _add_vae_options(p, "reconstruction.png")
    p.set_defaults(func=_vae_command("reconstruct"))

    p = sub.add_parser("interpolate", help="VAE: decode along the line between two inputs (on device)")
    p.add_argument("artifact", help="artifacts/NAME of a text or image VAE")
    p.add_argument("a", help="first sentence or image file")
    p.add_argument("b", help="second sentence or image file")
    p.add_argument("--steps", type=int, default=6)
    _add_vae_options(p, "interpolation.png")
    p.set_defaults(func=_vae_command("interpolate"))
    return parser


# TensorFlow's notices printed from C++ before its logging starts (no CUDA
# driver, CPU features, oneDNN on CPUs with AVX-512 VNNI/BF16 or AMX):
# absl-style `I0000 ...` lines and their preamble.
TENSORFLOW_NOTICES = re.compile(
    r"^([IWE]\d{4} [\d:.]+ +\d+ (cudart_stub|cuda_platform|cpu_feature_guard|cuda_executor|gpu_device)\.cc"
    r"|[IWE]\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .*rebuild TensorFlow)"
)
TENSORFLOW_COMMANDS = ("train", "import", "average", "eval", "convert", "bench")


def _start_tensorflow_quietly():
    """Import TensorFlow and let it look for devices with its start-up notices filtered out."""
    from ondevice.native_logs import filtered_stderr

    with filtered_stderr(TENSORFLOW_NOTICES):
        import tensorflow as tf

        tf.config.list_physical_devices()


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    if args.command in TENSORFLOW_COMMANDS and not (args.command == "eval" and _is_artifact(args.path)):
        _start_tensorflow_quietly()
    from ondevice.errors import ZooError

    try:
        return args.func(args) or 0
    except (ZooError, ValueError, FileNotFoundError, OSError) as e:  # OSError: a port in use, ...
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
