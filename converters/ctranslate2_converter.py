"""Map a trained keras-hub Transformer into a CTranslate2 `TransformerSpec`.

CTranslate2 (OpenNMT) is the fastest CPU runtime for Transformer translation
models; mapping the same trained weights into it lets the benchmark compare
our split-signature LiteRT decoding with it on equal terms.

The mapping (pre-norm Transformer, no embedding scaling, learned position
tables, output projection untied or tied to the target embedding, separate source/target vocabularies):

| Keras (keras-hub)                                  | CTranslate2 spec                              |
| -------------------------------------------------- | --------------------------------------------- |
| `TokenAndPositionEmbedding` token / position table | `embeddings.weight`, `position_encodings`     |
| `MultiHeadAttention` query/key/value `EinsumDense` | self-attention: fused `linear[0]` (Q, K, V)   |
|                                                    | cross-attention: `linear[0]` Q, `linear[1]` KV |
| attention output `EinsumDense`                     | `linear[-1]`                                  |
| `_self_attention_layer_norm` etc. (pre-norm)       | `self_attention.layer_norm`, `ffn.layer_norm` |
| `encoder_norm` / `decoder_norm`                    | final `layer_norm`                            |
| `output_projection` `Dense`                        | `decoder.projection`                          |
| (tied) decoder token table, zero bias              | `decoder.projection`                          |

`convert_ctranslate2` checks the result before writing it: the greedy tokens
of CTranslate2 must equal the Keras model's on real validation sentences.
"""

import os

import numpy as np

from ondevice.errors import ZooError
from zoo import atomic

SPECIAL_TOKENS = {"unk_token": "[UNK]", "bos_token": "[START]", "eos_token": "[END]", "decoder_start_token": "[START]"}
REPORT_FILE = "conversion.json"


class CTranslate2Error(ZooError):
    """The model cannot be mapped, or the mapped model disagrees with Keras."""


def _import_ctranslate2():
    try:
        import ctranslate2
    except ImportError:
        raise CTranslate2Error("ctranslate2 is not installed: pip install '.[bench]'") from None
    return ctranslate2


def _linear(spec, kernel, bias):
    """A Keras kernel (in, ...out) -> CTranslate2 weight (out, in)."""
    kernel = np.asarray(kernel, np.float32)
    spec.weight = np.ascontiguousarray(kernel.reshape(kernel.shape[0], -1).T)
    spec.bias = np.asarray(bias, np.float32).reshape(-1)


def _output_linear(spec, dense):
    """Attention output `EinsumDense`: kernel (heads, head_dim, hidden)."""
    kernel = np.asarray(dense.kernel.numpy(), np.float32)
    spec.weight = np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]).T)
    spec.bias = np.asarray(dense.bias.numpy(), np.float32)


def _dense(spec, dense):
    _linear(spec, dense.kernel.numpy(), dense.bias.numpy())


def _layer_norm(spec, layer):
    spec.gamma = np.asarray(layer.gamma.numpy(), np.float32)
    spec.beta = np.asarray(layer.beta.numpy(), np.float32)


def _attention(spec, attention, fuse_keys_with_queries):
    """Keras `MultiHeadAttention` -> CTranslate2 `MultiHeadAttentionSpec`."""
    from ctranslate2.specs import common_spec

    parts = []
    for dense in (attention._query_dense, attention._key_dense, attention._value_dense):
        part = common_spec.LinearSpec()
        _dense(part, dense)
        parts.append(part)

    def fuse(target, linears):
        target.weight = np.concatenate([p.weight for p in linears])
        target.bias = np.concatenate([p.bias for p in linears])

    if fuse_keys_with_queries:  # self-attention: one fused QKV projection
        fuse(spec.linear[0], parts)
    else:  # cross-attention: Q from the decoder, fused KV from the memory
        spec.linear[0].weight, spec.linear[0].bias = parts[0].weight, parts[0].bias
        fuse(spec.linear[1], parts[1:])
    _output_linear(spec.linear[-1], attention._output_dense)


def _ffn(spec, layer):
    _layer_norm(spec.layer_norm, layer._feedforward_layer_norm)
    _dense(spec.linear_0, layer._feedforward_intermediate_dense)
    _dense(spec.linear_1, layer._feedforward_output_dense)


def _embeddings(side_spec, embedding_spec, layer):
    """`TokenAndPositionEmbedding` (token + learned position, no scaling)."""
    embedding_spec.weight = np.asarray(layer.token_embedding.embeddings.numpy(), np.float32)
    side_spec.position_encodings.encodings = np.asarray(layer.position_embedding.position_embeddings.numpy(), np.float32)
    side_spec.scale_embeddings = False


def _check_supported(model):
    import keras_hub

    needed = ("encoder_embedding", "encoder_layers", "encoder_norm", "decoder_embedding", "decoder_layers", "decoder_norm")
    if not getattr(model, "tie_embeddings", False):
        needed += ("output_projection",)
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise CTranslate2Error(
            f"{type(model).__name__} is not a keras-hub Transformer encoder-decoder (no {', '.join(missing)}); "
            "CTranslate2 export maps TransformerEncoder/TransformerDecoder models only"
        )
    for layer in model.encoder_layers + model.decoder_layers:
        if not isinstance(layer, (keras_hub.layers.TransformerEncoder, keras_hub.layers.TransformerDecoder)):
            raise CTranslate2Error(f"layer {layer.name} is a {type(layer).__name__}, not a keras-hub Transformer layer")
        if not layer.normalize_first or layer.activation.__name__ != "relu":
            raise CTranslate2Error(f"layer {layer.name}: only pre-norm ReLU layers map to CTranslate2")


def transformer_spec(model, source_vocab, target_vocab):
    """The `ctranslate2.specs.TransformerSpec` holding `model`'s weights.

    Args:
        model: a trained Keras encoder-decoder built from keras-hub
            `TokenAndPositionEmbedding`, pre-norm `TransformerEncoder` /
            `TransformerDecoder` layers, final layer norms and an output
            `Dense` (e.g. `zoo.transformer.TransformerTranslator`).
        source_vocab: list of str. Source tokens by id.
        target_vocab: list of str. Target tokens by id.

    Returns:
        A validated `TransformerSpec` (float32 weights).
    """
    _import_ctranslate2()
    from ctranslate2.specs import common_spec
    from ctranslate2.specs import transformer_spec as ct2_transformer

    _check_supported(model)
    num_heads = model.encoder_layers[0].num_heads
    spec = ct2_transformer.TransformerSpec.from_config(
        (len(model.encoder_layers), len(model.decoder_layers)),
        num_heads,
        pre_norm=True,
        activation=common_spec.Activation.RELU,
    )
    spec.config.layer_norm_epsilon = float(model.encoder_layers[0].layer_norm_epsilon)
    for key, token in SPECIAL_TOKENS.items():
        setattr(spec.config, key, token)

    encoder, decoder = spec.encoder, spec.decoder
    _embeddings(encoder, encoder.embeddings[0], model.encoder_embedding)
    for layer_spec, layer in zip(encoder.layer, model.encoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, fuse_keys_with_queries=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _ffn(layer_spec.ffn, layer)
    _layer_norm(encoder.layer_norm, model.encoder_norm)

    _embeddings(decoder, decoder.embeddings, model.decoder_embedding)
    for layer_spec, layer in zip(decoder.layer, model.decoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, fuse_keys_with_queries=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _attention(layer_spec.attention, layer._cross_attention_layer, fuse_keys_with_queries=False)
        _layer_norm(layer_spec.attention.layer_norm, layer._cross_attention_layer_norm)
        _ffn(layer_spec.ffn, layer)
    _layer_norm(decoder.layer_norm, model.decoder_norm)
    if getattr(model, "tie_embeddings", False):  # logits = x @ table.T
        table = decoder.embeddings.weight
        _linear(decoder.projection, table.T, np.zeros(table.shape[0], np.float32))
    else:
        _dense(decoder.projection, model.output_projection)

    spec.register_source_vocabulary(list(source_vocab))
    spec.register_target_vocabulary(list(target_vocab))
    spec.validate()
    return spec


class CTranslate2Decoder:
    """Greedy/beam decoding of token-id batches with a CTranslate2 model dir.

    Args:
        model_dir: str. Written by `convert_ctranslate2`.
        compute_type: str. `float32`, `int8`, ... (CTranslate2 compute type).
        threads: int. Intra-op threads (one translation at a time).
        max_decoding_length: int. Most tokens generated (our `max_target_length`).
    """

    def __init__(self, model_dir, compute_type="default", threads=1, max_decoding_length=64):
        ctranslate2 = _import_ctranslate2()
        self.translator = ctranslate2.Translator(
            model_dir, device="cpu", compute_type=compute_type, inter_threads=1, intra_threads=threads
        )
        self.source_vocab = _read_tokens(model_dir, "source")
        target_vocab = _read_tokens(model_dir, "target")
        self.target_ids = {token: i for i, token in enumerate(target_vocab)}
        self.max_decoding_length = max_decoding_length

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        """Target id lists (no start/end) for source id lists, one batch."""
        tokens = [[self.source_vocab[i] for i in ids] for ids in id_lists]
        results = self.translator.translate_batch(
            tokens,
            beam_size=beam_size,
            length_penalty=length_penalty,
            max_decoding_length=self.max_decoding_length,
            max_batch_size=len(tokens),
        )
        return [[self.target_ids[t] for t in r.hypotheses[0]] for r in results]


def _read_tokens(model_dir, side):
    """A saved vocabulary (CTranslate2 writes one shared file if both are equal)."""
    import json

    path = os.path.join(model_dir, f"{side}_vocabulary.json")
    if not os.path.exists(path):
        path = os.path.join(model_dir, "shared_vocabulary.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


MIN_AGREEMENT = {None: 0.95, "float32": 0.95, "float16": 0.9}  # quantized weights: 0.8


def convert_ctranslate2(run_dir, out_dir, quantization=None, data=None, num_verify=64, min_agreement=None):
    """Write a verified CTranslate2 model directory for a Transformer run.

    Args:
        run_dir: str. A `zoo train` run of a keras-hub Transformer.
        out_dir: str. Output directory (replaced atomically on success).
        quantization: str or None. CTranslate2 weight type to store
            (`int8`, `float16`, ...); None keeps float32.
        data: str or None. Data spec for the verification sentences
            (default: the run's own).
        num_verify: int. Validation sentences whose greedy tokens are
            compared with the Keras model's.
        min_agreement: float or None. Fraction of sentences whose greedy
            tokens must equal Keras's; below it nothing is written. Default:
            0.95 for float32 (a near-tie may flip with other GEMM kernels),
            0.8 for int8 weights.

    Returns:
        Dict with the verification figures (also in `conversion.json`).
    """
    from ondevice.tokenizer import WordPieceTokenizer
    from zoo.datasets.parallel_text import load_corpus
    from zoo.evaluation import load_translator
    from zoo.training import load_run

    if min_agreement is None:
        min_agreement = MIN_AGREEMENT.get(quantization, 0.8)
    model, run_info, source_vocab, target_vocab = load_run(run_dir)
    spec = transformer_spec(model, source_vocab, target_vocab)
    spec.optimize(quantization=quantization)
    corpus = load_corpus(data or run_info.get("data"))
    tokenizer = WordPieceTokenizer(source_vocab)
    ids = [tokenizer.tokenize(s)[: model.max_source_length] for s, _ in corpus.split("val")[:num_verify]]
    ids = [i for i in ids if i]
    keras_translator, _ = load_translator(run_dir)
    expected = keras_translator.translate_ids(ids, beam_size=1)
    with atomic.staged_directory(out_dir) as tmp:
        spec.save(tmp)
        decoder = CTranslate2Decoder(tmp, compute_type="default", threads=2, max_decoding_length=model.max_target_length)
        got = []
        for start in range(0, len(ids), 32):
            got += decoder.translate_ids(ids[start : start + 32])
        agreement = float(np.mean([a == b for a, b in zip(got, expected)]))
        report = {
            "source_run": os.path.abspath(run_dir),
            "quantization": quantization or "float32",
            "verify_sentences": len(ids),
            "greedy_sentence_agreement_with_keras": round(agreement, 4),
            "model_bytes": os.path.getsize(os.path.join(tmp, "model.bin")),
        }
        if agreement < min_agreement:
            raise CTranslate2Error(
                f"CTranslate2 greedy output equals Keras on only {agreement:.1%} of {len(ids)} sentences "
                f"(need {min_agreement:.0%}); nothing written"
            )
        atomic.write_json(os.path.join(tmp, REPORT_FILE), report)
    return report
