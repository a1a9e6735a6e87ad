"""The `zoo` command line: train, eval, convert, translate.

`translate` runs with only numpy + ai-edge-litert installed; the other
subcommands import TensorFlow lazily, when they run.
"""

import argparse
import os
import sys


def _train(args):
    from zoo.training import train

    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("learning_rate", args.learning_rate)) if v}
    train(
        args.family,
        args.out,
        preset=args.preset,
        data=args.data,
        epochs=args.epochs,
        overrides=overrides,
        max_train_pairs=args.max_train_pairs,
        strategy=args.strategy,
    )
    print(f"trained model written to {args.out}")


def _eval(args):
    from zoo.evaluation import evaluate

    beams = sorted({1, args.beam})
    results = evaluate(args.path, args.data, args.split, beams, args.max_sentences, args.length_penalty)
    for r in results:
        name = "greedy" if r["beam"] == 1 else f"beam {r['beam']}"
        print(
            f"{name:>8}: sacreBLEU {r['bleu_cased']:.2f} cased, {r['bleu_lowercased']:.2f} lowercased "
            f"({r['sentences']} sentences, {args.split}, {r['seconds']} s)"
        )
    for source, hypothesis, reference in results[-1]["examples"]:
        print(f"  src: {source}\n  hyp: {hypothesis}\n  ref: {reference}")


def _convert(args):
    from converters.convert import convert

    convert(args.run, args.out, recipe=args.quant, data=args.data, num_verify=args.num_verify)
    print(f"artifact written to {args.out}")


def _translate(args):
    from ondevice.cli import translate_main

    return translate_main(args)


def build_parser():
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model with Keras fit")
    p.add_argument("family", help="model family, e.g. transformer")
    p.add_argument("--preset", default="small", help="tiny | mini | small | base")
    p.add_argument("--data", default=None, help="data spec (default: bundled Tatoeba en-es subset)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--max-train-pairs", type=int, default=None, help="use only the first N training pairs")
    p.add_argument(
        "--strategy",
        default="default",
        choices=["default", "mirrored", "multiworker"],
        help="tf.distribute strategy: one device; all local GPUs (mirrored); the TF_CONFIG cluster (multiworker). "
        "--batch-size is per replica",
    )
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="sacreBLEU of a run or an artifact")
    p.add_argument("path", help="runs/NAME or artifacts/NAME")
    p.add_argument("--data", default=None)
    p.add_argument("--split", default="test", choices=["test", "val"])
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--length-penalty", type=float, default=1.0)
    p.add_argument("--max-sentences", type=int, default=None)
    p.set_defaults(func=_eval)

    p = sub.add_parser("convert", help="convert a run to a verified split-signature .tflite")
    p.add_argument("run", help="runs/NAME")
    p.add_argument("--quant", default="float32", help="float32 | float16 | dynamic_int8 | int8 | int16x8")
    p.add_argument("--out", required=True, help="artifact directory")
    p.add_argument("--data", default=None, help="data for calibration/verification (default: the run's)")
    p.add_argument("--num-verify", type=int, default=64, help="validation sentences for the parity check")
    p.set_defaults(func=_convert)

    p = sub.add_parser("translate", help="translate on device (numpy + LiteRT only)")
    p.add_argument("artifact", help="artifacts/NAME")
    p.add_argument("text", nargs="*", help="sentences; without any, one sentence per line from stdin")
    p.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
    p.add_argument("--length-penalty", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=_translate)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    from ondevice.errors import ZooError

    try:
        return args.func(args) or 0
    except (ZooError, ValueError, FileNotFoundError) as e:
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
