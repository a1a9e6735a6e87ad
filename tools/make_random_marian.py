"""Write a random Marian checkpoint of any size in the Hugging Face layout, without torch.

For measuring what an OPUS-MT-sized model costs on the device (file size, ms per token per
recipe, against CTranslate2 on the same weights) where no real checkpoint can be downloaded:
the shapes, key names, config and tokenizer files are those of `Helsinki-NLP/opus-mt-*`
(6+6 layers, width 512, 8 heads, feed-forward 2048, ~58k shared vocabulary by default); the
weights are random (normal, std `init_std` like transformers' `_init_weights`, layer norms 1/0,
zero biases, a small random logits bias). The SentencePiece models are the tiny fixture's; the
vocabulary is their pieces plus filler pieces up to `vocab_size`.

    python tools/make_random_marian.py --out /tmp/opus_mt_random [--vocab-size 58101 ...]
"""

import argparse
import json
import os
import shutil

import numpy as np

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "marian_tiny")


def write_random_marian(out_dir, vocab_size=58101, d_model=512, layers=6, heads=8, ffn=2048, init_std=0.02, seed=0):
    """Write `config.json`, `model.safetensors`, `vocab.json`, the two `.spm` files and the
    tokenizer config into `out_dir`. Returns the number of parameters."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(FIXTURE, "vocab.json"), encoding="utf-8") as f:
        pieces = [p for p, _ in sorted(json.load(f).items(), key=lambda kv: kv[1]) if p != "<pad>"]
    pieces += [f"\u2581filler{i}" for i in range(vocab_size - 1 - len(pieces))] + ["<pad>"]
    vocab = {p: i for i, p in enumerate(pieces)}
    pad = vocab["<pad>"]

    def normal(*shape):
        return rng.normal(0.0, init_std, shape).astype(np.float32)

    weights = {"model.shared.weight": normal(vocab_size, d_model), "final_logits_bias": normal(1, vocab_size)}
    weights["model.shared.weight"][pad] = 0.0  # transformers zeroes the padding row

    def linear(name, out, into):
        weights[f"{name}.weight"] = normal(out, into)
        weights[f"{name}.bias"] = np.zeros(out, np.float32)

    def norm(name):
        weights[f"{name}.weight"] = np.ones(d_model, np.float32)
        weights[f"{name}.bias"] = np.zeros(d_model, np.float32)

    for side in ("encoder", "decoder"):
        for i in range(layers):
            prefix = f"model.{side}.layers.{i}"
            attentions = ("self_attn", "encoder_attn") if side == "decoder" else ("self_attn",)
            for attention in attentions:
                for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    linear(f"{prefix}.{attention}.{projection}", d_model, d_model)
                norm(f"{prefix}.{attention}_layer_norm")
            linear(f"{prefix}.fc1", ffn, d_model)
            linear(f"{prefix}.fc2", d_model, ffn)
            norm(f"{prefix}.final_layer_norm")
    save_file(weights, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "model_type": "marian", "architectures": ["MarianMTModel"], "activation_function": "swish",
        "d_model": d_model, "encoder_layers": layers, "decoder_layers": layers,
        "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn, "vocab_size": vocab_size, "decoder_vocab_size": vocab_size,
        "max_position_embeddings": 512, "scale_embedding": True, "static_position_embeddings": True,
        "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True, "normalize_before": False,
        "pad_token_id": pad, "decoder_start_token_id": pad, "eos_token_id": 0, "forced_eos_token_id": 0,
        "dropout": 0.1, "init_std": init_std, "_name_or_path": "random-opus-mt-shape",
    }
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    for name in ("source.spm", "target.spm", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(FIXTURE, name), os.path.join(out_dir, name))
    return sum(v.size for v in weights.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--vocab-size", type=int, default=58101)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--ffn", type=int, default=2048)
    args = parser.parse_args(argv)
    count = write_random_marian(args.out, args.vocab_size, args.d_model, args.layers, args.heads, args.ffn)
    print(f"wrote {args.out}: {count / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
