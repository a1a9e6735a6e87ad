// Port of the Kotlin core's SearchTest.kt: the recorded Python decodes (decode_*.json) replayed
// call for call through the JavaScript search, array decoding state and translator.

import assert from 'node:assert/strict';
import test from 'node:test';

import { ValueError } from '../errors.js';
import { TensorInfo } from '../manifest.js';
import { argmax, beamSearch, logSoftmax, pairwiseSum, topIndices } from '../search.js';
import { Tensor } from '../tensor.js';
import { Translator } from '../translator.js';
import { goldenJson, goldenManifest, goldenTokenizer } from '../testing/goldens.js';
import { ReplayStepModel } from '../testing/replay_step_model.js';

const NAMES = ['greedy', 'greedy_stream', 'beam4', 'beam4_fairseq', 'beam5_lp06', 'beam3_max_steps', 'beam3_max_steps_fairseq'];

function translator(model, golden) {
  return Translator.fromManifest(goldenManifest(), model, goldenTokenizer('source'), goldenTokenizer('target'), golden.batch_size);
}

function optionsOf(golden) {
  return {
    beamSize: golden.beam_size,
    maxSteps: golden.max_steps,
    lengthPenalty: golden.length_penalty,
    beamStop: golden.beam_stop ?? 'early',
  };
}

for (const name of NAMES) {
  test(`${name} golden`, async () => {
    const golden = goldenJson(`decode_${name}.json`);
    const decoder = goldenManifest().decoderTensors();

    // Token ids: the same calls, the same output ids.
    const model = new ReplayStepModel(golden, decoder);
    const t = translator(model, golden);
    const ids = await t.translateIds(
      golden.sentences.map((s) => t.encodeText(s)),
      optionsOf(golden),
    );
    model.assertFinished();
    assert.deepEqual(ids, golden.output_ids, `${name} output ids`);

    // Text end to end: tokenize, decode, detokenize.
    const again = new ReplayStepModel(golden, decoder);
    const texts = await translator(again, golden).translate(golden.sentences, optionsOf(golden));
    again.assertFinished();
    assert.deepEqual(texts, golden.translations, `${name} translations`);
  });
}

test('translateStream golden', async () => {
  // The partial translations of Python's `translate_stream`, from the same recorded decode.
  const golden = goldenJson('decode_greedy_stream.json');
  const model = new ReplayStepModel(golden, goldenManifest().decoderTensors());
  const partials = [];
  for await (const text of translator(model, golden).translateStream(golden.sentences[0], { maxSteps: golden.max_steps })) {
    partials.push(text);
  }
  model.assertFinished();
  assert.deepEqual(partials, golden.stream);
  assert.equal(partials[partials.length - 1], golden.translations[0]);
});

for (const stop of ['early', 'fairseq']) {
  test(`synthetic ${stop} stop golden`, async () => {
    // A small random step model whose decode depends on every beam rule of its stop rule (e.g.
    // for "fairseq", end tokens ranked between beamSize and 2 * beamSize); its replace state has
    // batch axis 1, its append state batch axis 2 and time axis 1.
    const golden = goldenJson(`decode_synthetic_${stop}.json`);
    assert.equal(golden.beam_stop, stop);
    const decoder = golden.decoder_tensors.map(
      (d) => new TensorInfo(d.name, 'float32', d.shape, d.role, d.batch_axis, d.time_axis ?? null),
    );
    assert.equal(decoder.filter((t) => t.role === 'state' && t.timeAxis === null)[0].batchAxis, 1);
    assert.equal(decoder.filter((t) => t.isAppend)[0].batchAxis, 2);
    const model = new ReplayStepModel(golden, decoder);
    const ids = await beamSearch(model, golden.segments[0].source_ids, golden.start_id, golden.end_id, golden.max_steps, {
      beamSize: golden.beam_size,
      lengthPenalty: golden.length_penalty,
      stop,
    });
    model.assertFinished();
    assert.deepEqual(ids, golden.output_ids);
  });
}

test('goldens are non-trivial', () => {
  for (const name of NAMES) {
    const golden = goldenJson(`decode_${name}.json`);
    const calls = golden.segments.reduce((n, s) => n + s.calls.length, 0);
    assert.ok(calls >= 6, `${name} has only ${calls} calls`);
    assert.ok(golden.output_ids.every((ids) => ids.length > 0));
  }
  // Some greedy call decodes fewer rows than its batch: finished sentences left.
  const greedy = goldenJson('decode_greedy.json').segments;
  assert.ok(greedy.some((s) => s.calls.some((c) => c.token.length < s.source_ids.length)));
  // After the first steps the beams of a sentence come from different parents.
  const beam = goldenJson('decode_beam4.json');
  const k = beam.beam_size;
  const mixed = beam.segments.some((s) =>
    s.calls.some((c) =>
      c.inputs.append.some((rows) => {
        for (let i = 0; i < rows.length; i += k) if (new Set(rows.slice(i, i + k)).size > 1) return true;
        return false;
      }),
    ),
  );
  assert.ok(mixed);
  // Beam search decodes fewer rows once a sentence is done.
  const rows = beam.segments[0].calls.map((c) => c.token.length);
  assert.ok(rows[rows.length - 1] < rows[0], String(rows));
});

test('beam stop names', async () => {
  await assert.rejects(
    beamSearch({}, [[1]], 2, 3, 4, { stop: 'never' }),
    (e) => e instanceof ValueError && e.message === "unknown beam stop rule 'never'; choose from early, fairseq",
  );
});

test('setSlice writes one position', () => {
  // (2, 3, 2) zeros; write a (2, 1, 2) row at index 1 of axis 1.
  const t = Tensor.zeros('int32', [2, 3, 2]);
  t.setSlice(1, 1, Tensor.ofInts([2, 1, 2], [1, 2, 3, 4]));
  assert.deepEqual([...t.data], [0, 0, 1, 2, 0, 0, 0, 0, 3, 4, 0, 0]);
});

test('take along any axis', () => {
  // (2, 3, 2) int tensor; take along axis 1 with a repeated index.
  const t = Tensor.ofInts([2, 3, 2], Int32Array.from({ length: 12 }, (_, i) => i));
  const taken = t.take([2, 0, 2], 1);
  assert.deepEqual(taken.shape, [2, 3, 2]);
  assert.deepEqual([...taken.data], [4, 5, 0, 1, 4, 5, 10, 11, 6, 7, 10, 11]);
  assert.deepEqual([...t.take([1], 0).data], [6, 7, 8, 9, 10, 11]);
  assert.deepEqual([...t.take([1], -1).data], [1, 3, 5, 7, 9, 11]);
});

test('logSoftmax and argmax', () => {
  const logits = new Float32Array([1, 3, 3, -2, -Infinity]);
  const lp = logSoftmax(logits);
  assert.ok(Math.abs(lp.reduce((sum, v) => sum + Math.exp(v), 0) - 1) < 1e-12);
  assert.equal(lp[1], lp[2]);
  assert.equal(lp[4], -Infinity);
  assert.equal(argmax(logits, 0, logits.length), 1); // first maximum, like np.argmax
  assert.equal(argmax(new Float32Array([0, 1, NaN, 2]), 0, 4), 2); // first NaN
  assert.equal(pairwiseSum(Float64Array.from({ length: 10 }, (_, i) => i), 0, 10), 45);
  assert.equal(pairwiseSum(Float64Array.from({ length: 1000 }, (_, i) => i), 0, 1000), 499500);
  // numpy's order, not a left-to-right sum: np.add.reduce(1.0 / np.arange(1, n + 1)) in numpy
  // (left to right: 5.44089903057367, 7.485470860550343, 8.89583596141702).
  const harmonic = (n) => Float64Array.from({ length: n }, (_, i) => 1 / (i + 1));
  assert.equal(pairwiseSum(harmonic(129), 0, 129), 5.440899030573669);
  assert.equal(pairwiseSum(harmonic(1000), 0, 1000), 7.485470860550345);
  assert.equal(pairwiseSum(harmonic(4099), 0, 4099), 8.895835961417054);
});

test('topIndices breaks ties by index', () => {
  const values = new Float64Array([1, 5, 3, 5, NaN, -Infinity, 3]);
  assert.deepEqual([...topIndices(values, 4)], [1, 3, 2, 6]);
  assert.deepEqual([...topIndices(values, 7)], [1, 3, 2, 6, 0, 5, 4]);
});
