// Port of the Kotlin core's ManifestTest.kt, with the checks and messages of the current
// ondevice/manifest.py (tests/test_web_core.py also compares every message with Python's on a
// list of broken manifests).

import assert from 'node:assert/strict';
import test from 'node:test';

import { ArtifactError } from '../errors.js';
import { parseJson } from '../json.js';
import { MANIFEST_FILE, Manifest, checkModelSha256, parseManifest, sha256Hex, validate } from '../manifest.js';
import { goldenManifest, goldenText } from '../testing/goldens.js';

const golden = parseJson(goldenText(MANIFEST_FILE));

/** A deep copy of the golden manifest, changed by `edit`. */
function edited(edit) {
  const data = structuredClone(golden);
  edit(data);
  return data;
}

function invalid(expected, data) {
  assert.throws(
    () => validate(data),
    (e) => {
      assert.ok(e instanceof ArtifactError, `not an ArtifactError: ${e}`);
      assert.equal(e.message, expected);
      return true;
    },
  );
}

/** The first append state of `signature`'s inputs, to edit. */
function cache(data, signature = 'decode_step') {
  return data.signatures[signature].inputs.find((t) => t.update === 'append');
}

test('golden manifest parses', () => {
  const m = goldenManifest();
  assert.equal(m.family, 'transformer');
  assert.equal(m.task, 'translation');
  assert.equal(m.recipe, 'float32');
  assert.deepEqual(m.specialTokens, { pad: 0, unk: 1, start: 2, end: 3 });
  assert.ok(m.maxSourceLength > 0 && m.maxTargetLength > 0);
  assert.equal(m.path('source_vocabulary'), 'goldens/source_vocab.txt');
  assert.equal(m.path('model_file'), 'goldens/model.tflite');
  const decoder = m.decoderTensors();
  assert.ok(decoder.length > 0);
  assert.ok(decoder.every((t) => (t.role === 'memory' || t.role === 'state') && t.batchAxis !== null));
  const encodeOutputs = new Set(m.tensors('encode', 'outputs').map((t) => t.name));
  // Memory and replace states come from encode; append states (the K/V caches) do not.
  assert.ok(decoder.filter((t) => !t.isAppend).every((t) => encodeOutputs.has(t.name)));
  const caches = decoder.filter((t) => t.isAppend);
  assert.ok(caches.length > 0);
  assert.ok(caches.every((t) => t.update === 'append' && t.timeAxis !== t.batchAxis && !encodeOutputs.has(t.name)));
  assert.deepEqual(m.decodeSignatures, ['decode_step_16', 'decode_step']);
  // The variants differ only in the cache length along the time axis.
  const short = new Map(
    m
      .tensors('decode_step_16', 'inputs')
      .filter((t) => t.isAppend)
      .map((t) => [t.name, t]),
  );
  for (const t of caches) {
    const s = short.get(t.name);
    assert.equal(s.shape[s.timeAxis], 16);
    assert.equal(t.shape[t.timeAxis], m.maxTargetLength);
    assert.deepEqual(
      t.shape.filter((_, i) => i !== t.timeAxis),
      s.shape.filter((_, i) => i !== t.timeAxis),
    );
  }
  const step = m.tensors('decode_step', 'inputs').find((t) => t.role === 'step');
  assert.deepEqual(step.shape, []);
  assert.equal(step.batchAxis, null);
  assert.deepEqual(caches[0].toDict(), golden.signatures.decode_step.inputs.find((t) => t.name === caches[0].name));
  // Floats stay floats (Python's json), integers plain numbers.
  assert.ok(golden.parity.max_abs_logit_diff instanceof Number);
  assert.equal(typeof golden.max_source_length, 'number');
});

test('shared vocabulary is one file for both sides', () => {
  // `shared_vocabulary` runs name one file (vocabulary.txt) for both sides.
  const data = edited((m) => {
    m.tokenizer.source_vocabulary = 'vocabulary.txt';
    m.tokenizer.target_vocabulary = 'vocabulary.txt';
  });
  validate(data);
  const m = new Manifest(data, 'dir');
  assert.equal(m.path('source_vocabulary'), 'dir/vocabulary.txt');
  assert.equal(m.path('source_vocabulary'), m.path('target_vocabulary'));
});

test('missing top-level key', () => {
  for (const key of ['format_version', 'family', 'signatures', 'special_tokens', 'tokenizer', 'model_file']) {
    invalid(
      `manifest.json has no '${key}'`,
      edited((m) => delete m[key]),
    );
  }
  invalid(
    "manifest.json is malformed (KeyError: 'end')",
    edited((m) => delete m.special_tokens.end),
  );
});

test('format versions', () => {
  invalid(
    'manifest format 3 is newer than this runtime (2); upgrade it',
    edited((m) => (m.format_version = 3)),
  );
  invalid(
    'manifest format 1 is from an older converter (this runtime reads 2: runtime-owned caches); ' +
      'reconvert the model with `zoo convert`',
    edited((m) => (m.format_version = 1)),
  );
  invalid(
    'manifest.json: format_version must be an integer',
    edited((m) => (m.format_version = new Number(2))), // eslint-disable-line no-new-wrappers
  );
  invalid(
    'manifest.json: format_version must be an integer',
    edited((m) => (m.format_version = true)),
  );
  // Beyond 2^53, as exactly as Python prints it.
  invalid(
    'manifest format 123456789012345678901234567890 is newer than this runtime (2); upgrade it',
    parseJson(goldenText(MANIFEST_FILE).replace('"format_version": 2', '"format_version": 123456789012345678901234567890')),
  );
});

test('tasks', () => {
  invalid(
    "manifest.json has no 'latent_dim'",
    edited((m) => (m.task = 'text_vae')),
  );
  invalid(
    "manifest.json: unknown task 'poetry'; this runtime knows translation, text_vae, image_vae",
    edited((m) => (m.task = 'poetry')),
  );
});

test('lengths are bounded', () => {
  invalid(
    'manifest.json: max_target_length must be an integer from 1 to 4096',
    edited((m) => (m.max_target_length = 4097)),
  );
  invalid(
    'manifest.json: max_source_length must be an integer from 1 to 4096',
    edited((m) => (m.max_source_length = 0)),
  );
  invalid(
    'manifest.json: special_tokens.end must be an integer',
    edited((m) => (m.special_tokens.end = null)),
  );
  invalid(
    "manifest.json: special_tokens.end = 600 is not below the logits' 600 tokens",
    edited((m) => (m.special_tokens.end = 600)),
  );
});

test('state updates', () => {
  const name = cache(golden).name;
  invalid(
    `manifest.json: decode_step state '${name}' needs update 'replace' or 'append'`,
    edited((d) => delete cache(d).update),
  );
  invalid(
    `manifest.json: decode_step_16 state '${name}' has no valid time_axis`,
    edited((d) => delete cache(d, 'decode_step_16').time_axis),
  );
  invalid(
    `manifest.json: decode_step state '${name}' has no valid time_axis`,
    edited((d) => {
      const c = cache(d);
      c.time_axis = c.batch_axis;
    }),
  );
  invalid(
    `manifest.json: decode_step input '${name}' has time_axis 4, not an axis of its shape [-1, 2, 16, 24]`,
    edited((d) => {
      const c = cache(d);
      c.time_axis = c.shape.length;
    }),
  );
  invalid(
    `manifest.json: decode_step cache '${name}' length must be 1..4096`,
    edited((d) => {
      const c = cache(d);
      c.shape[c.time_axis] = -1;
    }),
  );
  // An append state is not made by encode; a replace state must be.
  invalid(
    `manifest.json: decode_step inputs ['${name}'] are not produced by encode`,
    edited((d) => {
      delete d.decode_signatures;
      delete d.signatures.decode_step_16;
      const c = cache(d);
      c.update = 'replace';
      delete c.time_axis;
    }),
  );
  // The variants differ in their cache length only.
  invalid(
    'manifest.json: decode_step does not have the same tensors as decode_step_16',
    edited((d) => {
      for (const signature of ['decode_step_16', 'decode_step']) {
        const c = cache(d, signature);
        c.update = 'replace';
        delete c.time_axis;
      }
    }),
  );
  invalid(
    'manifest.json: decode_step does not have the same tensors as decode_step_16',
    edited((d) => (cache(d, 'decode_step_16').dtype = 'float16')),
  );
  invalid(
    "manifest.json: decode_step inputs ['cross_key_0'] differ from encode's outputs (dtype or batch_axis)",
    edited((d) => (d.signatures.encode.outputs[0].dtype = 'float16')),
  );
  invalid(
    `manifest.json: decode_step_16 state '${name}' has no 'batch_axis'`,
    edited((d) => delete cache(d, 'decode_step_16').batch_axis),
  );
});

test('decode signature variants', () => {
  const ending = "manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'";
  invalid(
    ending,
    edited((m) => (m.decode_signatures = ['decode_step', 'decode_step_16'])),
  );
  invalid(
    ending,
    edited((m) => (m.decode_signatures = [])),
  );
  invalid(
    ending,
    edited((m) => (m.decode_signatures = 'decode_step')),
  );
  invalid(
    "manifest.json: decode signature 'decode_step_8' is not described",
    edited((m) => (m.decode_signatures = ['decode_step_8', 'decode_step'])),
  );
  invalid(
    "manifest.json: decode signature 'decode_step' is listed twice",
    edited((m) => (m.decode_signatures = ['decode_step', 'decode_step'])),
  );
  invalid(
    'manifest.json: decode_step does not have the same tensors as decode_step_16',
    edited((d) => {
      d.signatures.decode_step_16.inputs = d.signatures.decode_step_16.inputs.filter((t) => t.role !== 'memory');
    }),
  );
  invalid(
    'manifest.json: decode_signatures must go from the shortest cache to the longest, not [24, 16]',
    edited((d) => {
      d.signatures.decode_step_24 = d.signatures.decode_step;
      d.signatures.decode_step = d.signatures.decode_step_16;
      d.decode_signatures = ['decode_step_24', 'decode_step'];
      d.max_target_length = 16;
    }),
  );
  // Without decode_signatures, decode_step is the only variant.
  const single = edited((m) => delete m.decode_signatures);
  validate(single);
  assert.deepEqual(new Manifest(single, '').decodeSignatures, ['decode_step']);
});

test('missing signature', () => {
  invalid(
    "manifest.json describes no 'encode' signature",
    edited((m) => delete m.signatures.encode),
  );
});

test('wrong role', () => {
  invalid(
    "manifest.json: encode output 'source_bias' has role 'logits'; expected one of ['memory', 'state']",
    edited((d) => (d.signatures.encode.outputs.find((t) => t.name === 'source_bias').role = 'logits')),
  );
});

test('token and step exactly once', () => {
  // (In every variant: variants with different tensors are refused first.)
  const variants = ['decode_step_16', 'decode_step'];
  invalid(
    "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
    edited((d) => {
      for (const v of variants) d.signatures[v].inputs = d.signatures[v].inputs.filter((t) => t.role !== 'step');
    }),
  );
  invalid(
    "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
    edited((d) => {
      for (const v of variants) {
        const inputs = d.signatures[v].inputs;
        inputs.push({ ...inputs.find((t) => t.role === 'token'), name: 'token2' });
      }
    }),
  );
  invalid(
    'manifest.json: decode_step does not have the same tensors as decode_step_16',
    edited((d) => {
      d.signatures.decode_step.inputs = d.signatures.decode_step.inputs.filter((t) => t.role !== 'step');
    }),
  );
});

test('decoder input not made by encode', () => {
  invalid(
    "manifest.json: decode_step inputs ['source_bias'] are not produced by encode",
    edited((d) => {
      d.signatures.encode.outputs = d.signatures.encode.outputs.filter((t) => t.name !== 'source_bias');
    }),
  );
});

test('tensor descriptions are bounded', () => {
  invalid(
    "manifest.json: encode output 'source_bias' has dtype 'complex64'; expected one of float32, float16, int8, uint8, int16, int32, int64, bool",
    edited((d) => (d.signatures.encode.outputs[2].dtype = 'complex64')),
  );
  invalid(
    "manifest.json: encode output 'source_bias' has shape [-1, 1, 1, 0]; dimensions must be -1 (dynamic) or 1 to 16777216",
    edited((d) => (d.signatures.encode.outputs[2].shape = [-1, 1, 1, 0])),
  );
  invalid(
    "manifest.json: encode output 'source_bias' has shape [-1, 4096, 4096, 2]: 33554432 elements per batch row; at most 16777216",
    edited((d) => (d.signatures.encode.outputs[2].shape = [-1, 4096, 4096, 2])),
  );
  invalid(
    "manifest.json: encode output {'name': 7} is malformed (needs name, dtype, shape, role)",
    edited((d) => (d.signatures.encode.outputs[2] = { name: 7 })),
  );
  invalid(
    "manifest.json: encode has two outputs named 'cross_key_0'",
    edited((d) => (d.signatures.encode.outputs[2].name = 'cross_key_0')),
  );
  invalid(
    "manifest.json: model_file must be a file name in the model directory, not '../model.tflite'",
    edited((d) => (d.model_file = '../model.tflite')),
  );
  invalid(
    "tokenizer.target_vocabulary must be a file name in the model directory, not 'a/b.txt'",
    edited((d) => (d.tokenizer.target_vocabulary = 'a/b.txt')),
  );
  invalid(
    "unknown tokenizer kind 'bpe'; this runtime knows wordpiece, sentencepiece",
    edited((d) => (d.tokenizer.kind = 'bpe')),
  );
});

test('structure errors are artifact errors', () => {
  invalid(
    'manifest.json: signatures must be an object (signature name -> inputs, outputs)',
    edited((m) => (m.signatures = [1])),
  );
  invalid('manifest.json: expected a JSON object', [1]);
  assert.throws(
    () => parseManifest('[1, 2]', 'm.json', ''),
    (e) => e instanceof ArtifactError && e.message === 'm.json: expected a JSON object',
  );
  assert.throws(
    () => parseManifest('{"family": ', 'm.json', ''),
    (e) => e instanceof ArtifactError && e.message === 'm.json: not valid JSON (Expecting value: line 1 column 12 (char 11))',
  );
  assert.throws(
    () => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d]), 'm.json', ''),
    (e) => e instanceof ArtifactError && e.message === 'm.json: not valid JSON (not UTF-8)',
  );
});

test('sha256', async () => {
  assert.equal(await sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const m = goldenManifest();
  checkModelSha256(m, m.data.model_sha256, 'goldens/model.tflite');
  assert.throws(
    () => checkModelSha256(m, '0'.repeat(64), 'goldens/model.tflite'),
    (e) => e instanceof ArtifactError && e.message === 'goldens/model.tflite: sha256 does not match manifest.json (file corrupted or replaced)',
  );
});
