"""Map a trained keras-hub Transformer into a CTranslate2 `TransformerSpec`.

CTranslate2 (OpenNMT) is the fastest CPU runtime for Transformer translation
models; mapping the same trained weights into it lets the benchmark compare
our split-signature LiteRT decoding with it on equal terms.

The mapping (pre- or post-norm Transformer, embeddings scaled or not,
learned or sinusoidal position tables, output projection untied or tied to
the target embedding, separate or shared vocabularies):

| Keras (keras-hub)                                  | CTranslate2 spec                              |
| -------------------------------------------------- | --------------------------------------------- |
| `token_embedding(side)` / `position_table(side)`   | `embeddings.weight`, `position_encodings`     |
| `scale_embeddings`                                 | `scale_embeddings`                            |
| `MultiHeadAttention` query/key/value `EinsumDense` | self-attention: fused `linear[0]` (Q, K, V)   |
|                                                    | cross-attention: `linear[0]` Q, `linear[1]` KV |
| attention output `EinsumDense`                     | `linear[-1]`                                  |
| `_self_attention_layer_norm` etc. (pre-norm)       | `self_attention.layer_norm`, `ffn.layer_norm` |
| `encoder_norm` / `decoder_norm` (pre-norm only)    | final `layer_norm`                            |
| `output_projection` `Dense`                        | `decoder.projection`                          |
| (tied) decoder token table, zero bias              | `decoder.projection`                          |
| `logits_bias` (Marian's `final_logits_bias`)       | `decoder.projection.bias`                     |

`convert_ctranslate2` checks the result before writing it, on real
validation sentences: fed the Keras model's greedy tokens (teacher forcing),
CTranslate2 must choose Keras's next token at (nearly) every position, unless
Keras itself scores the two choices within a tie tolerance; a float32 model
must also give Keras's greedy sentences. A correct float32 mapping matches
Keras's log-probabilities to about 1e-6; a wrong one, or a broken kernel,
flips decisions that are far from ties.

int8 weights are stored in 7 bits (|q| <= 63), not CTranslate2's default
8 bits. Where CTranslate2 runs int8 GEMMs with oneDNN (its default on
non-Intel x86 CPUs, e.g. the AMD EPYC this project benchmarks on) and the
CPU has no VNNI (AVX2 only), the kernel shifts activations to u8 and
multiplies with `vpmaddubsw`, which adds two u8 x s8 products into a
saturating int16: with 8-bit weights that sum reaches 2 x 255 x 127 = 64770
and clips at 32767, so the matmuls are silently wrong (the tiny test model:
log-probabilities off by up to 0.76 nats, greedy output equal to Keras's on
1 of 16 sentences; the same model under CT2_USE_MKL=1: 0.03 nats). With
7-bit weights the sum stays within 2 x 255 x 63 = 32130 on every backend,
at the cost of one bit of weight precision (CTranslate2 likewise keeps int16
weights to 10 bits for accumulation headroom). See `quantize_spec`.
"""

import os

import numpy as np

from ondevice.errors import ZooError
from zoo import atomic

SPECIAL_IDS = {"unk_token": 1, "bos_token": 2, "eos_token": 3, "decoder_start_token": 2}  # zoo.text_tokenizer's ids
"""CTranslate2's special tokens: the zoo's reserved ids (`zoo.text_tokenizer`), named as the
run's vocabulary names them (`[UNK]`... for trained runs, `<unk>`... for imported ones)."""
REPORT_FILE = "conversion.json"
INT8_WEIGHT_BITS = 7  # largest weight magnitude 63: no int16 saturation in u8 x s8 pair sums


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


def _embeddings(side_spec, embedding_spec, model, side):
    """Token table and position table (learned or sinusoidal, given
    explicitly: CTranslate2's own sinusoids have another frequency layout)."""
    embedding_spec.weight = np.asarray(model.token_embedding(side).embeddings.numpy(), np.float32)
    side_spec.position_encodings.encodings = np.asarray(model.position_table(side), np.float32)
    side_spec.scale_embeddings = bool(getattr(model, "scale_embeddings", False))


ACTIVATIONS = {"relu": "RELU", "gelu": "GELU", "swish": "SWISH", "silu": "SWISH"}


def _check_supported(model):
    import keras_hub

    needed = ("encoder_layers", "decoder_layers", "token_embedding", "position_table")
    if getattr(model, "normalize_first", True):
        needed += ("encoder_norm", "decoder_norm")
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
        if layer.activation.__name__ not in ACTIVATIONS:
            raise CTranslate2Error(f"layer {layer.name}: activation {layer.activation.__name__} has no CTranslate2 equivalent")


def transformer_spec(model, source_vocab, target_vocab):
    """The `ctranslate2.specs.TransformerSpec` holding `model`'s weights.

    Args:
        model: a trained `zoo.transformer.TransformerTranslator` (keras-hub
            `TransformerEncoder` / `TransformerDecoder` layers, pre-norm with
            final layer norms or post-norm without).
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
    pre_norm = bool(model.encoder_layers[0].normalize_first)
    activation = ACTIVATIONS[model.encoder_layers[0].activation.__name__]
    spec = ct2_transformer.TransformerSpec.from_config(
        (len(model.encoder_layers), len(model.decoder_layers)),
        num_heads,
        pre_norm=pre_norm,
        activation=getattr(common_spec.Activation, activation),
    )
    spec.config.layer_norm_epsilon = float(model.encoder_layers[0].layer_norm_epsilon)
    for key, token_id in SPECIAL_IDS.items():
        setattr(spec.config, key, target_vocab[token_id])

    encoder, decoder = spec.encoder, spec.decoder
    _embeddings(encoder, encoder.embeddings[0], model, "source")
    for layer_spec, layer in zip(encoder.layer, model.encoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, fuse_keys_with_queries=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _ffn(layer_spec.ffn, layer)
    if pre_norm:
        _layer_norm(encoder.layer_norm, model.encoder_norm)

    _embeddings(decoder, decoder.embeddings, model, "target")
    for layer_spec, layer in zip(decoder.layer, model.decoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, fuse_keys_with_queries=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _attention(layer_spec.attention, layer._cross_attention_layer, fuse_keys_with_queries=False)
        _layer_norm(layer_spec.attention.layer_norm, layer._cross_attention_layer_norm)
        _ffn(layer_spec.ffn, layer)
    if pre_norm:
        _layer_norm(decoder.layer_norm, model.decoder_norm)
    if getattr(model, "tie_embeddings", False):  # logits = x @ table.T
        table = decoder.embeddings.weight
        _linear(decoder.projection, table.T, np.zeros(table.shape[0], np.float32))
    else:
        _dense(decoder.projection, model.output_projection)
    if getattr(model, "logits_bias", False):  # Marian's final_logits_bias
        decoder.projection.bias = decoder.projection.bias + np.asarray(model.output_bias.numpy(), np.float32)

    spec.register_source_vocabulary(list(source_vocab))
    spec.register_target_vocabulary(list(target_vocab))
    spec.validate()
    return spec


def quantize_spec(spec, quantization=None, int8_weight_bits=INT8_WEIGHT_BITS):
    """`spec.optimize(quantization)`, with int8 weights in `int8_weight_bits` bits.

    CTranslate2 quantizes each weight row symmetrically to [-127, 127]. For
    the int8 types this re-quantizes every such row from its float values to
    [-(2**(bits-1) - 1), 2**(bits-1) - 1] with the matching per-row scale, so
    that no int8 GEMM backend overflows its int16 intermediate sums (see the
    module docstring). Other quantizations are left as CTranslate2 makes them.

    Args:
        spec: a validated `TransformerSpec` holding float32 weights.
        quantization: str or None. CTranslate2 weight type (`int8`, ...).
        int8_weight_bits: int. Bits of each int8 weight, sign included (2..8).

    Returns:
        The names of the re-quantized variables.
    """
    from ctranslate2.specs import model_spec

    int8 = bool(quantization) and quantization.startswith("int8")
    floats = {}
    if int8:
        floats = {
            name: np.array(value.numpy(), np.float32)
            for name, value in spec.variables().items()
            if isinstance(value, model_spec.Variable) and not value.is_scalar()
        }
    spec.optimize(quantization=quantization)
    if not int8 or int8_weight_bits == 8:
        return []
    if not 2 <= int8_weight_bits <= 8:
        raise ValueError(f"int8_weight_bits must be in 2..8, got {int8_weight_bits}")
    limit = float(2 ** (int8_weight_bits - 1) - 1)
    requantized = []

    def requantize(layer, name, value):
        key = name.split("/")[-1]
        if not (isinstance(value, model_spec.Variable) and value.dtype == "int8" and hasattr(layer, f"{key}_scale")):
            return
        weight = floats[name].reshape(floats[name].shape[0], -1)  # (rows, in): one scale per row
        amax = np.abs(weight).max(axis=1)
        amax[amax == 0] = limit
        amax = np.maximum(amax, np.float32(limit) / np.finfo(np.float32).max)
        scale = (limit / amax).astype(np.float32)
        quantized = np.rint(weight * scale[:, None]).astype(np.int8).reshape(floats[name].shape)
        setattr(layer, key, model_spec.NumpyVariable(quantized))
        setattr(layer, f"{key}_scale", model_spec.NumpyVariable(scale))
        requantized.append(name)

    model_spec.visit_spec(spec, requantize)
    return requantized


def _log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    logits = logits - logits.max(axis=-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def teacher_forced_comparison(model, decoder, source_ids, target_ids, tie_tolerance, batch_size=32):
    """Compare CTranslate2's next-token decisions with Keras's on the same prefixes.

    Both models are fed each sentence's `target_ids` (teacher forcing) and
    predict every next token, `[END]` after the last one included (unless the
    sentence fills all `max_target_length` positions). Unlike comparing greedy
    outputs, one flipped decision does not turn the rest of a sentence into
    different prefixes, and a flip of a near-tie (Keras itself scores the two
    tokens within `tie_tolerance`) is told apart from a real disagreement.

    Args:
        model: the Keras translator (`call()` gives teacher-forced logits).
        decoder: a `CTranslate2Decoder` of the converted model.
        source_ids: list of source id lists.
        target_ids: list of target id lists (no start/end), e.g. Keras greedy.
        tie_tolerance: float. Largest Keras log-probability margin (nats)
            between Keras's best token and CTranslate2's pick that counts as
            a near-tie.
        batch_size: int. Sentences per call.

    Returns:
        Dict: `decisions` (positions compared), `decision_agreement` (fraction
        where the argmaxes are equal), `agreement_with_ties` (equal or a
        near-tie), `largest_flip_margin` (Keras's margin at the worst flipped
        decision, 0 if none), `max_logprob_error` (largest |log p_CTranslate2 -
        log p_Keras| of the fed tokens).
    """
    from zoo.text_tokenizer import END_ID, START_ID

    length = model.max_target_length
    decisions = equal = ties = 0
    largest_flip, max_error = 0.0, 0.0
    for start in range(0, len(source_ids), batch_size):
        sources, targets = source_ids[start : start + batch_size], target_ids[start : start + batch_size]
        predicted = [(t + [END_ID])[:length] for t in targets]  # the token after each fed prefix
        encoder_inputs = np.zeros((len(sources), max(len(s) for s in sources)), np.int32)
        decoder_inputs = np.zeros((len(targets), max(len(p) for p in predicted)), np.int32)
        for i, (s, p) in enumerate(zip(sources, predicted)):
            encoder_inputs[i, : len(s)] = s
            decoder_inputs[i, : len(p)] = [START_ID] + p[:-1]
        keras_logits = np.asarray(model({"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs}, training=False))
        # The target prefix is forced; CTranslate2 returns the logits of every position.
        results = decoder.translator.translate_batch(
            [[decoder.source_vocab[i] for i in s] for s in sources],
            target_prefix=[[decoder.target_vocab[i] for i in t] for t in targets],
            beam_size=1,
            max_decoding_length=length,
            min_decoding_length=0,
            return_logits_vocab=True,
            max_batch_size=len(sources),
        )
        for i, result in enumerate(results):
            ct2_logits = np.asarray(result.logits[0], np.float32)  # (positions, vocab)
            positions = min(len(predicted[i]), ct2_logits.shape[0])
            vocab = min(ct2_logits.shape[1], keras_logits.shape[-1])  # Keras may have unused extra ids
            keras = _log_softmax(keras_logits[i, :positions, :vocab])
            ct2 = _log_softmax(ct2_logits[:positions, :vocab])
            rows, fed = np.arange(positions), predicted[i][:positions]
            max_error = max(max_error, float(np.abs(ct2[rows, fed] - keras[rows, fed]).max()))
            keras_best, ct2_best = keras.argmax(axis=-1), ct2.argmax(axis=-1)
            margins = keras[rows, keras_best] - keras[rows, ct2_best]  # 0 where they agree
            decisions += positions
            equal += int((keras_best == ct2_best).sum())
            ties += int(((keras_best != ct2_best) & (margins <= tie_tolerance)).sum())
            largest_flip = max(largest_flip, float(margins.max()))
    return {
        "decisions": decisions,
        "decision_agreement": equal / decisions,
        "agreement_with_ties": (equal + ties) / decisions,
        "largest_flip_margin": largest_flip,
        "max_logprob_error": max_error,
    }


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
        self.target_vocab = _read_tokens(model_dir, "target")
        self.target_ids = {token: i for i, token in enumerate(self.target_vocab)}
        self.max_decoding_length = max_decoding_length

    def translate_ids(self, id_lists, beam_size=1, length_penalty=1.0):
        """Target id lists (no start/end) for source id lists, one batch."""
        PAD_ID = 0  # zoo.text_tokenizer.PAD_ID, without importing TensorFlow into the bench's decoder

        tokens = [[self.source_vocab[i] for i in ids] for ids in id_lists]
        results = self.translator.translate_batch(
            tokens,
            beam_size=beam_size,
            length_penalty=length_penalty,
            max_decoding_length=self.max_decoding_length,
            min_decoding_length=0,  # like our searches: `[END]` may come first (CTranslate2's default is 1)
            max_batch_size=len(tokens),
            suppress_sequences=[[self.target_vocab[PAD_ID]]],  # our searches never generate padding either
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


# The check of a conversion (see `convert_ctranslate2`).
# Greedy sentences equal to Keras's: required for float32 only, where both
# runtimes compute the same logits to about 1e-6 (it also checks the search
# settings: start/end tokens, lengths). Quantized weights change the logits a
# little, and whether that flips whole greedy sentences depends on how many
# near-ties the model has (an undertrained model: many), not on the
# conversion; for them the figure is reported, not required.
MIN_AGREEMENT = {None: 0.95, "float32": 0.95}
# Teacher-forced next-token decisions (see `teacher_forced_comparison`):
# CTranslate2 must pick Keras's token at this fraction of the positions, or a
# token Keras scores within the tie tolerance (nats) of its best.
MIN_DECISION_AGREEMENT = 0.99
TIE_TOLERANCE = {None: 1e-3, "float32": 1e-3}  # other weight types: QUANTIZED_TIE_TOLERANCE
# int8 noise, measured on 4 tiny test models (different seeds, 110-438
# decisions each) and a 4+4-layer width-256 Multi30k model (2978 decisions):
# with 7-bit weights no flipped decision had a Keras margin above 0.066 nats
# (log-probabilities off by at most 0.093); with CTranslate2's 8-bit weights
# on an AVX2 CPU (int16 saturation) 3.0 to 12 % of all decisions flipped by
# more than 0.1 nats, the largest by 0.39 to 1.3.
QUANTIZED_TIE_TOLERANCE = 0.1


def convert_ctranslate2(
    run_dir, out_dir, quantization=None, data=None, num_verify=64, min_agreement=None, int8_weight_bits=INT8_WEIGHT_BITS
):
    """Write a verified CTranslate2 model directory for a Transformer run.

    The check, on `num_verify` validation sentences, before anything is
    written: (1) teacher-forced decisions: fed Keras's greedy tokens,
    CTranslate2's next-token argmax equals Keras's at `MIN_DECISION_AGREEMENT`
    of the positions, near-ties aside (`TIE_TOLERANCE`); a wrong mapping or a
    broken kernel fails it, a near-tie flipped by quantization does not.
    (2) float32 only: greedy decoding gives Keras's sentences (`min_agreement`).

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
            not required (0) for quantized weights.
        int8_weight_bits: int. Bits of int8 weights (see `quantize_spec`);
            8 is CTranslate2's own quantization.

    Returns:
        Dict with the verification figures (also in `conversion.json`):
        `greedy_sentence_agreement_with_keras`, the `teacher_forced_*`
        figures of `teacher_forced_comparison` and, for int8 weights,
        `int8_weight_bits`.
    """
    from zoo.datasets.parallel_text import load_corpus
    from zoo.evaluation import keras_translator
    from zoo.training import load_run

    if min_agreement is None:
        min_agreement = MIN_AGREEMENT.get(quantization, 0.0)
    tie_tolerance = TIE_TOLERANCE.get(quantization, QUANTIZED_TIE_TOLERANCE)
    model, run_info, source_vocab, target_vocab = load_run(run_dir)
    spec = transformer_spec(model, source_vocab, target_vocab)
    int8_requantized = quantize_spec(spec, quantization, int8_weight_bits)
    corpus = load_corpus(data or run_info.get("data"))
    # Keras's greedy reference, decoded by the model loaded above (not loaded again).
    reference = keras_translator(model, run_dir)
    ids = [reference.source_tokenizer.tokenize(s)[: model.max_source_length] for s, _ in corpus.split("val")[:num_verify]]
    ids = [i for i in ids if i]
    expected = reference.translate_ids(ids, beam_size=1)
    with atomic.staged_directory(out_dir) as tmp:
        spec.save(tmp)
        decoder = CTranslate2Decoder(tmp, compute_type="default", threads=2, max_decoding_length=model.max_target_length)
        got = []
        for start in range(0, len(ids), 32):
            got += decoder.translate_ids(ids[start : start + 32])
        agreement = float(np.mean([a == b for a, b in zip(got, expected)]))
        forced = teacher_forced_comparison(model, decoder, ids, expected, tie_tolerance)
        report = {
            "source_run": os.path.abspath(run_dir),
            "quantization": quantization or "float32",
            "verify_sentences": len(ids),
            "greedy_sentence_agreement_with_keras": round(agreement, 4),
            "teacher_forced_decisions": forced["decisions"],
            "teacher_forced_decision_agreement": round(forced["decision_agreement"], 4),
            "teacher_forced_agreement_with_ties": round(forced["agreement_with_ties"], 4),
            "teacher_forced_tie_tolerance": tie_tolerance,
            "teacher_forced_largest_flip_margin": float(f"{forced['largest_flip_margin']:.3g}"),
            "teacher_forced_max_logprob_error": float(f"{forced['max_logprob_error']:.3g}"),
            "model_bytes": os.path.getsize(os.path.join(tmp, "model.bin")),
        }
        if int8_requantized:
            report["int8_weight_bits"] = int8_weight_bits
        problems = []
        if forced["agreement_with_ties"] < MIN_DECISION_AGREEMENT:
            problems.append(
                f"teacher-forced, its next token differs from Keras's beyond a near-tie ({tie_tolerance:g} nats) at "
                f"{1 - forced['agreement_with_ties']:.1%} of {forced['decisions']} positions (allowed "
                f"{1 - MIN_DECISION_AGREEMENT:.0%}; flipped margins up to {forced['largest_flip_margin']:.2g} nats, "
                f"log-probabilities off by up to {forced['max_logprob_error']:.2g}): a wrong mapping or kernel"
            )
        if agreement < min_agreement:
            problems.append(
                f"its greedy output equals Keras on only {agreement:.1%} of {len(ids)} sentences (need {min_agreement:.0%})"
            )
        if problems:
            raise CTranslate2Error(f"CTranslate2 {quantization or 'float32'} model: {'; '.join(problems)}; nothing written")
        atomic.write_json(os.path.join(tmp, REPORT_FILE), report)
    return report
