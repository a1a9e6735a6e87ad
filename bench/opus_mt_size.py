"""Size and decoding speed of one run's artifacts beside CTranslate2 on the same weights.

Made for an OPUS-MT-sized Marian model (`tools/make_random_marian.py` + `zoo import marian`,
random weights of the real shape): random weights never emit `</s>`, so every sentence decodes
exactly `--steps` tokens and ms per token compares decoders on equal work. Greedy, batch 1,
one thread each, rounds interleaved (the machine is shared), the fastest round kept.

    python -m bench.opus_mt_size --run runs/opus_random --artifacts float32=DIR dynamic_int8=DIR \\
        --ctranslate2 float32=DIR int8=DIR --out docs/bench/opus_mt_size.md
"""

import argparse
import json
import os
import time

from bench.baselines import LiteRTDecoder
from zoo.datasets.parallel_text import load_corpus


def _size_mb(path):
    files = [os.path.join(path, n) for n in os.listdir(path)] if os.path.isdir(path) else [path]
    return sum(os.path.getsize(f) for f in files if os.path.isfile(f)) / 1e6


def measure(decoders, id_lists, rounds):
    """Fastest-round seconds per decoder, rounds interleaved."""
    best = {name: float("inf") for name in decoders}
    tokens = {}
    for _ in range(rounds):
        for name, decoder in decoders.items():
            start = time.perf_counter()
            out = [decoder.translate_ids([ids])[0] for ids in id_lists]
            best[name] = min(best[name], time.perf_counter() - start)
            tokens[name] = sum(len(o) for o in out)
    return best, tokens


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--artifacts", nargs="+", required=True, metavar="RECIPE=DIR")
    parser.add_argument("--ctranslate2", nargs="*", default=[], metavar="COMPUTE=DIR")
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True, help="a Markdown report (results JSON beside it)")
    args = parser.parse_args(argv)

    from converters.ctranslate2_converter import CTranslate2Decoder
    from zoo.training import run_tokenizers

    source, _ = run_tokenizers(args.run)
    with open(os.path.join(args.run, "run.json"), encoding="utf-8") as f:
        config = json.load(f)["config"]
    sentences = [s for s, _ in load_corpus(None).split("val")[: args.sentences]]
    id_lists = [source.tokenize(s) for s in sentences]
    decoders, sizes = {}, {}
    for item in args.artifacts:
        recipe, path = item.split("=", 1)
        decoder = LiteRTDecoder(path, threads=1)
        decoder.max_steps = args.steps
        decoders[f"LiteRT {recipe}"], sizes[f"LiteRT {recipe}"] = decoder, _size_mb(os.path.join(path, "model.tflite"))
    for item in args.ctranslate2:
        compute, path = item.split("=", 1)
        decoder = CTranslate2Decoder(path, compute_type=compute, threads=1, max_decoding_length=args.steps)
        decoders[f"CTranslate2 {compute}"], sizes[f"CTranslate2 {compute}"] = decoder, _size_mb(os.path.join(path, "model.bin"))
    seconds, tokens = measure(decoders, id_lists, args.rounds)
    results = {
        name: {"size_mb": round(sizes[name], 1), "ms_per_token": round(1000 * seconds[name] / max(tokens[name], 1), 2), "tokens": tokens[name]}
        for name in decoders
    }
    shape = (
        f"{config['num_encoder_layers']}+{config['num_decoder_layers']} layers, width {config['hidden_dim']}, "
        f"feed-forward {config['intermediate_dim']}, {config['num_heads']} heads, {config['source_vocabulary_size']} tokens"
    )
    lines = [
        f"# OPUS-MT-sized model: size and greedy speed ({shape}; random weights)",
        "",
        f"{len(id_lists)} sentences, batch 1, greedy, {args.steps} tokens each, 1 thread, fastest of {args.rounds} interleaved rounds.",
        "",
        "| decoder | model file (MB) | ms / token |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {r['size_mb']} | {r['ms_per_token']} |" for name, r in results.items()]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump({"shape": shape, "steps": args.steps, "sentences": len(id_lists), "results": results}, f, indent=2)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
