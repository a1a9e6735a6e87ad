"""`zoo import marian`: a Hugging Face Marian (OPUS-MT) checkpoint -> a zoo run directory.

The checkpoint becomes an ordinary `TransformerTranslator` run (`eval`,
`convert`, `translate`, `bench`, fine-tuning with `train --init` work on it
unchanged). What Marian has and how it maps:

- post-norm blocks, no final layer norms  -> `normalize_first=False`
- sinusoidal positions (sines, then cosines; from 0) -> `positions="sinusoidal"`
  (the checkpoint's table, when stored, is checked against ours)
- embeddings times sqrt(d_model)          -> `scale_embeddings`
- `swish` / `gelu` / `relu` feed-forward   -> `activation`
- one table for encoder input, decoder input and output -> `shared_vocabulary`
- `final_logits_bias`                     -> `logits_bias`
- ids: Marian's `</s>`=0, `<unk>`=1, `<pad>`=last, decoder start = `<pad>`.
  The zoo's reserved ids are `[PAD]`=0, `[UNK]`=1, `[START]`=2, `[END]`=3, so
  the vocabulary is reordered: `<pad>`, `<unk>`, `[START]` (a copy of
  `<pad>`'s row: Marian's decoder starts with `<pad>`), `</s>`, then every
  other piece in Marian's order. The searches never generate `[PAD]` or
  `[START]` (Marian's `bad_words_ids=[[pad]]`).
- tokenizer: `source.spm` / `target.spm` cut text into pieces, `vocab.json`
  gives their ids; the source ends with `</s>` (`ondevice.sentencepiece_tokenizer`).

Weights are read from `model.safetensors` with `safetensors` (numpy; no
torch, no pickle).
"""

import dataclasses
import json
import os
import shutil

import numpy as np

from ondevice.errors import ZooError
from zoo import atomic
from zoo.training import MODEL_FILE, RUN_FILE, SHARED_VOCAB, TOKENIZER_FILE
from zoo.training_config import TrainingConfig
from zoo.transformer import TransformerConfig, build_model
from zoo.transformer.transformer_translator import sinusoidal_positions

HF_FILES = ("config.json", "source.spm", "target.spm", "vocab.json")
HUB_PATTERNS = ["*.json", "*.spm", "model.safetensors"]
START_PIECE = "[START]"
ACTIVATIONS = {"swish": "silu", "silu": "silu", "gelu": "gelu", "relu": "relu"}
DEFAULT_MAX_LENGTH = 256
FINE_TUNING = TrainingConfig(batch_size=32, learning_rate=5e-5, warmup_steps=100, label_smoothing=0.1, epochs=3, patience=0)
"""The training config an imported run records: what `zoo train --init` fine-tunes with
(a small rate, no long warmup) unless `--set` says otherwise."""


class CheckpointError(ZooError):
    """A checkpoint this importer cannot read (one-line message)."""


def resolve_source(source, cache_dir=None):
    """A local checkpoint directory for `source`: the directory itself, or a
    Hugging Face hub id (`Helsinki-NLP/opus-mt-en-de`) downloaded with
    `huggingface_hub` (only the config, tokenizer and safetensors files)."""
    if os.path.isdir(source):
        return source
    if os.path.exists(source) or source.count("/") != 1 or source.startswith((".", "/")):
        raise CheckpointError(f"{source}: not a checkpoint directory (expected a directory or a hub id like Helsinki-NLP/opus-mt-en-de)")
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(source, allow_patterns=HUB_PATTERNS, cache_dir=cache_dir)
    except Exception as e:  # offline, unknown repository, gated, ...
        raise CheckpointError(f"{source}: cannot download from the Hugging Face hub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not readable JSON ({e})") from None


def read_checkpoint(directory):
    """`(config dict, tokenizer config dict, vocab dict, weights dict)` of a
    Marian checkpoint in the Hugging Face layout."""
    for name in HF_FILES:
        if not os.path.exists(os.path.join(directory, name)):
            raise CheckpointError(f"{directory}: no {name} (expected a Hugging Face Marian checkpoint: {', '.join(HF_FILES)}, model.safetensors)")
    weights_path = os.path.join(directory, "model.safetensors")
    if not os.path.exists(weights_path):
        other = [n for n in ("pytorch_model.bin", "tf_model.h5") if os.path.exists(os.path.join(directory, n))]
        if other:
            raise CheckpointError(
                f"{directory}: only {other[0]}, no model.safetensors. A pickled checkpoint can run code when loaded, "
                "so this importer reads safetensors only: take the hub's safetensors revision, or convert once "
                "where torch is installed: MarianMTModel.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)"
            )
        raise CheckpointError(f"{directory}: no model.safetensors")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        weights = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights_path}: not a readable safetensors file ({e})") from None
    weights = {k[len("model.") :] if k.startswith("model.") else k: v for k, v in weights.items()}
    tokenizer_config_path = os.path.join(directory, "tokenizer_config.json")
    tokenizer_config = _read_json(tokenizer_config_path) if os.path.exists(tokenizer_config_path) else {}
    return _read_json(os.path.join(directory, "config.json")), tokenizer_config, _read_json(os.path.join(directory, "vocab.json")), weights


def translator_config(config, max_length=None):
    """The `TransformerConfig` of a Marian `config.json` (refuses what the
    zoo's Transformer cannot express)."""

    def need(condition, what):
        if not condition:
            raise CheckpointError(f"config.json: {what}; the zoo's Transformer cannot import this checkpoint")

    need(config.get("model_type") == "marian", f"model_type is {config.get('model_type')!r}, not 'marian'")
    need(config.get("share_encoder_decoder_embeddings", True), "separate source and target vocabularies (share_encoder_decoder_embeddings=false)")
    need(config.get("tie_word_embeddings", True), "an output projection not tied to the embeddings")
    need(not config.get("normalize_before", False), "pre-norm blocks (normalize_before=true)")
    need(config.get("static_position_embeddings", True), "learned position embeddings")
    need(not config.get("normalize_embedding", False) and not config.get("add_final_layer_norm", False), "embedding or final layer norms")
    need(config["encoder_attention_heads"] == config["decoder_attention_heads"], "different encoder and decoder head counts")
    need(config["encoder_ffn_dim"] == config["decoder_ffn_dim"], "different encoder and decoder feed-forward widths")
    need(config["d_model"] % config["encoder_attention_heads"] == 0, "d_model not divisible by the head count")
    activation = config.get("activation_function", "swish")
    need(activation in ACTIVATIONS, f"activation {activation!r}")
    length = min(int(config.get("max_position_embeddings", 512)), max_length or DEFAULT_MAX_LENGTH)
    vocabulary_size = int(config["vocab_size"]) + 1  # + [START]
    return TransformerConfig(
        source_vocabulary_size=vocabulary_size,
        target_vocabulary_size=vocabulary_size,
        hidden_dim=int(config["d_model"]),
        intermediate_dim=int(config["encoder_ffn_dim"]),
        num_heads=int(config["encoder_attention_heads"]),
        num_encoder_layers=int(config["encoder_layers"]),
        num_decoder_layers=int(config["decoder_layers"]),
        dropout=float(config.get("dropout", 0.1)),
        attention_dropout=float(config.get("attention_dropout", 0.0)),  # transformers' MarianConfig default
        max_source_length=length,
        max_target_length=length,
        shared_vocabulary=True,
        normalize_first=False,
        positions="sinusoidal",
        scale_embeddings=bool(config.get("scale_embedding", True)),
        activation=ACTIVATIONS[activation],
        logits_bias=True,
    )


def zoo_vocabulary(vocab, config):
    """`(pieces, marian_ids)`: the zoo's pieces by id and, for each, the
    Marian id whose weights it takes (see the module docstring)."""
    by_id = sorted((i, p) for p, i in vocab.items())
    if [i for i, _ in by_id] != list(range(len(by_id))):
        raise CheckpointError("vocab.json: ids are not 0..N-1")
    pad, eos = int(config["pad_token_id"]), int(config["eos_token_id"])
    start = int(config.get("decoder_start_token_id", pad))
    if start != pad:
        raise CheckpointError(f"config.json: decoder_start_token_id {start} is not the padding token {pad}")
    if "<unk>" not in vocab:
        raise CheckpointError("vocab.json: no <unk>")
    unk = vocab["<unk>"]
    if len(by_id) != int(config["vocab_size"]):
        raise CheckpointError(f"vocab.json has {len(by_id)} pieces but config.json says vocab_size {config['vocab_size']}")
    order = [pad, unk, pad, eos] + [i for i, _ in by_id if i not in (pad, unk, eos)]
    pieces = [by_id[pad][1], "<unk>", START_PIECE, by_id[eos][1]] + [p for i, p in by_id if i not in (pad, unk, eos)]
    if START_PIECE in vocab:
        raise CheckpointError(f"vocab.json already has {START_PIECE!r}, the zoo's start token")
    bad = [p for p in pieces if not p or "\n" in p or "\r" in p]
    if bad:
        raise CheckpointError(f"vocab.json: pieces that a vocabulary file cannot hold (empty or with a line break): {bad[:3]!r}")
    return pieces, np.array(order, np.int64)


def _weight(weights, name, shape):
    if name not in weights:
        raise CheckpointError(f"model.safetensors has no {name!r}")
    value = weights[name].astype(np.float32)
    if tuple(value.shape) != tuple(shape):
        raise CheckpointError(f"model.safetensors: {name} has shape {value.shape}, expected {tuple(shape)}")
    return value


def load_weights(model, weights, marian_ids):
    """Copy Marian's weights into a built `TransformerTranslator`."""
    d, heads, ffn = model.hidden_dim, model.num_heads, model.intermediate_dim
    head_dim = d // heads
    vocabulary_size = len(marian_ids) - 1

    def linear(prefix, into, out):
        """torch `Linear` (out, in) -> (in, out) kernel and bias."""
        return _weight(weights, f"{prefix}.weight", (out, into)).T, _weight(weights, f"{prefix}.bias", (out,))

    def attention(layer, prefix):
        for name, target in (("q_proj", layer._query_dense), ("k_proj", layer._key_dense), ("v_proj", layer._value_dense)):
            kernel, bias = linear(f"{prefix}.{name}", d, d)
            target.kernel.assign(kernel.reshape(d, heads, head_dim))
            target.bias.assign(bias.reshape(heads, head_dim))
        kernel, bias = linear(f"{prefix}.out_proj", d, d)
        layer._output_dense.kernel.assign(kernel.reshape(heads, head_dim, d))
        layer._output_dense.bias.assign(bias)

    def norm(layer, prefix):
        layer.gamma.assign(_weight(weights, f"{prefix}.weight", (d,)))
        layer.beta.assign(_weight(weights, f"{prefix}.bias", (d,)))

    def feedforward(layer, prefix):
        kernel, bias = linear(f"{prefix}.fc1", d, ffn)
        layer._feedforward_intermediate_dense.kernel.assign(kernel)
        layer._feedforward_intermediate_dense.bias.assign(bias)
        kernel, bias = linear(f"{prefix}.fc2", ffn, d)
        layer._feedforward_output_dense.kernel.assign(kernel)
        layer._feedforward_output_dense.bias.assign(bias)
        norm(layer._feedforward_layer_norm, f"{prefix}.final_layer_norm")

    shared = _weight(weights, "shared.weight", (vocabulary_size, d))
    model.shared_embedding.embeddings.assign(shared[marian_ids])
    bias = _weight(weights, "final_logits_bias", (1, vocabulary_size))[0]
    model.output_bias.assign(bias[marian_ids])
    for side, length in (("encoder", model.max_source_length), ("decoder", model.max_target_length)):
        table = weights.get(f"{side}.embed_positions.weight")
        if table is not None:
            rows = min(length, table.shape[0])
            if np.abs(table[:rows] - sinusoidal_positions(rows, d)).max() > 1e-4:
                raise CheckpointError(f"model.safetensors: {side}.embed_positions is not Marian's sinusoidal table")
    for i, layer in enumerate(model.encoder_layers):
        prefix = f"encoder.layers.{i}"
        attention(layer._self_attention_layer, f"{prefix}.self_attn")
        norm(layer._self_attention_layer_norm, f"{prefix}.self_attn_layer_norm")
        feedforward(layer, prefix)
    for i, layer in enumerate(model.decoder_layers):
        prefix = f"decoder.layers.{i}"
        attention(layer._self_attention_layer, f"{prefix}.self_attn")
        norm(layer._self_attention_layer_norm, f"{prefix}.self_attn_layer_norm")
        attention(layer._cross_attention_layer, f"{prefix}.encoder_attn")
        norm(layer._cross_attention_layer_norm, f"{prefix}.encoder_attn_layer_norm")
        feedforward(layer, prefix)


def import_marian(source, out_dir, max_length=None, cache_dir=None):
    """Import a Marian checkpoint as the run directory `out_dir` (written
    atomically: an existing directory is replaced only on success).

    Args:
        source: str. A local Hugging Face checkpoint directory or a hub id.
        out_dir: str. The run directory to write.
        max_length: int or None. Longest source and target (tokens); at most
            the checkpoint's `max_position_embeddings` (default 256).
        cache_dir: str or None. Hugging Face download cache.

    Returns:
        The run's `run.json` dict.
    """
    directory = resolve_source(source, cache_dir)
    config, tokenizer_config, vocab, weights = read_checkpoint(directory)
    try:
        model_config = translator_config(config, max_length)
        pieces, marian_ids = zoo_vocabulary(vocab, config)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{directory}: config.json or vocab.json is malformed ({type(e).__name__}: {e})") from None
    model = build_model(model_config)
    model.build()
    load_weights(model, weights, marian_ids)
    tokenizer = {
        "kind": "sentencepiece",
        "source_model": "source.spm",
        "target_model": "target.spm",
        "source_vocabulary": SHARED_VOCAB,
        "target_vocabulary": SHARED_VOCAB,
        "source_end": True,
        "clean_up_spaces": bool(tokenizer_config.get("clean_up_tokenization_spaces", False)),
    }
    run_info = {
        "family": "transformer",
        "preset": "marian",
        "config": dataclasses.asdict(model_config),
        "training": dataclasses.asdict(FINE_TUNING),
        "data": None,
        "source_lang": tokenizer_config.get("source_lang"),
        "target_lang": tokenizer_config.get("target_lang"),
        "imported_from": {
            "format": "marian",
            "source": source,
            "name_or_path": config.get("_name_or_path"),
            "transformers_version": config.get("transformers_version"),
            "marian_vocab_size": int(config["vocab_size"]),
        },
        "status": "done",
    }
    with atomic.staged_directory(out_dir) as tmp:
        for name in ("source.spm", "target.spm"):
            shutil.copyfile(os.path.join(directory, name), os.path.join(tmp, name))
        atomic.write_text(os.path.join(tmp, SHARED_VOCAB), "".join(p + "\n" for p in pieces))
        atomic.write_json(os.path.join(tmp, TOKENIZER_FILE), tokenizer)
        atomic.write_json(os.path.join(tmp, RUN_FILE), run_info)
        model.save(os.path.join(tmp, MODEL_FILE))
    return run_info
