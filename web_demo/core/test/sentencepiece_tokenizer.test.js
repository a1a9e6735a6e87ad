// Port of the Kotlin core's SentencePieceTokenizerTest.kt: the JS SentencePiece tokenizer
// against the Python `sentencepiece` library, on the goldens of
// `android_demo/tools/make_sentencepiece_goldens.py` (gzipped models + `cases.json`).

import assert from 'node:assert/strict';
import test from 'node:test';
import { gunzipSync } from 'node:zlib';

import { ArtifactError, InputError, ValueError } from '../errors.js';
import { codePointLength, pyRepr } from '../python.js';
import { SentencePieceTokenizer } from '../sentencepiece_tokenizer.js';
import { goldenBytes, goldenJson } from '../testing/goldens.js';

const goldens = goldenJson('sentencepiece/cases.json');
const models = goldens.models;
const modelBytesCache = new Map();

/** The decompressed bytes of a golden model (a fresh copy). */
function modelBytes(model) {
  if (!modelBytesCache.has(model.file)) {
    modelBytesCache.set(model.file, new Uint8Array(gunzipSync(goldenBytes(`sentencepiece/${model.file}`))));
  }
  return modelBytesCache.get(model.file).slice();
}

function tokenizer(model) {
  return SentencePieceTokenizer.fromBytes(modelBytes(model), `goldens/sentencepiece/${model.file}`);
}

function hexBytes(hex) {
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function repr(value) {
  if (typeof value === 'string') return pyRepr(value);
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  return String(value);
}

function expect(mismatches, what, expected, actual) {
  if (repr(expected) !== repr(actual)) mismatches.push(`${what}: expected ${repr(expected)}, got ${repr(actual)}`);
}

/** Runs `check` on every golden model, collecting mismatches; fails listing the first ones. */
function checkEveryModel(check) {
  assert.equal(models.length, 5, 'golden models');
  const mismatches = [];
  let checked = 0;
  for (const model of models) checked += check(tokenizer(model), model, mismatches) ?? 0;
  assert.ok(mismatches.length === 0, `${mismatches.length} mismatches:\n${mismatches.slice(0, 25).join('\n')}`);
  return checked;
}

/** `java.util.Random`, so that the corruption test corrupts the bytes the Kotlin test does. */
class JavaRandom {
  constructor(seed) {
    this.seed = (BigInt(seed) ^ 0x5deece66dn) & ((1n << 48n) - 1n);
  }

  next(bits) {
    this.seed = (this.seed * 0x5deece66dn + 0xbn) & ((1n << 48n) - 1n);
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(bound) {
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) return Number((BigInt(bound) * BigInt(r)) >> 31n);
    for (let u = r; ((u - (r = u % bound) + m) | 0) < 0; u = this.next(31));
    return r;
  }
}

test('java.util.Random port', () => {
  // new java.util.Random(42): nextInt(), nextInt(10), nextInt(10), nextInt(100), nextInt(256),
  // nextInt(8), nextInt(1000000007), nextInt(142995), as Java 17 gives them.
  const random = new JavaRandom(42);
  const bounds = [10, 10, 100, 256, 8, 1000000007, 142995];
  assert.deepEqual(
    [random.next(32), ...bounds.map((b) => random.nextInt(b))],
    [-1170105035, 3, 8, 84, 79, 7, 595021505, 46058],
  );
});

test('encode and decode golden texts', () => {
  let count = 0;
  checkEveryModel((tok, model, mismatches) => {
    const cases = model.cases;
    assert.ok(cases.length >= 100, 'too few golden texts');
    for (const c of cases) {
      const text = c.text;
      const where = `${model.name} ${pyRepr(text)}`;
      expect(mismatches, `normalized ${where}`, c.normalized, tok.normalize(text));
      expect(mismatches, `pieces ${where}`, c.pieces, tok.encodeAsPieces(text));
      expect(mismatches, `ids ${where}`, c.ids, tok.encodeAsIds(text));
      expect(mismatches, `decoded pieces ${where}`, c.decoded_pieces, tok.decodePieces(c.pieces));
      expect(mismatches, `decoded ids ${where}`, c.decoded_ids, tok.decodeIds(c.ids));
    }
    count += cases.length;
  });
  assert.equal(count, 635);
});

test('encode malformed UTF-8 bytes', () => {
  checkEveryModel((tok, model, mismatches) => {
    for (const c of model.byte_cases) {
      const bytes = hexBytes(c.hex);
      const where = `${model.name} bytes ${c.hex}`;
      expect(mismatches, `pieces ${where}`, c.pieces, tok.encodeAsPieces(bytes));
      expect(mismatches, `ids ${where}`, c.ids, tok.encodeAsIds(bytes));
    }
  });
});

test('decode hand-made pieces and ids', () => {
  checkEveryModel((tok, model, mismatches) => {
    for (const c of model.decode_pieces) {
      expect(mismatches, `${model.name} decodePieces ${repr(c.pieces)}`, c.text, tok.decodePieces(c.pieces));
    }
    for (const c of model.decode_ids) {
      expect(mismatches, `${model.name} decodeIds ${repr(c.ids)}`, c.text, tok.decodeIds(c.ids));
      expect(mismatches, `${model.name} decodeIds(Int32Array) ${repr(c.ids)}`, c.text, tok.decodeIds(Int32Array.from(c.ids)));
    }
  });
});

test('vocabulary', () => {
  checkEveryModel((tok, model, mismatches) => {
    const name = model.name;
    const pieces = model.pieces;
    expect(mismatches, `${name} vocabularySize`, model.vocabulary_size, tok.vocabularySize);
    expect(mismatches, `${name} unkId`, model.unk_id, tok.unkId);
    expect(mismatches, `${name} bosId`, model.bos_id, tok.bosId);
    expect(mismatches, `${name} eosId`, model.eos_id, tok.eosId);
    expect(mismatches, `${name} padId`, model.pad_id, tok.padId);
    expect(mismatches, `${name} pieces`, pieces, Array.from({ length: tok.vocabularySize }, (_, i) => tok.idToPiece(i)));
    const missing = ['\u2581not in any model', '<0x41>', '<UNK>', ''];
    const pieceIds = model.piece_ids;
    [...pieces, ...missing].forEach((piece, i) => {
      expect(mismatches, `${name} pieceToId(${pyRepr(piece)})`, pieceIds[i], tok.pieceToId(piece));
    });
  });
});

test('goldens cover the hard cases', () => {
  const byName = new Map(models.map((m) => [m.name, m]));
  const cases = (name) => byName.get(name).cases;
  const pieces = (name) => cases(name).flatMap((c) => c.pieces);
  // Consecutive unknown characters merged into one unknown piece (id 0).
  assert.ok(cases('nmt_nfkc').some((c) => c.pieces.some((piece, i) => c.ids[i] === 0 && codePointLength(piece) > 1)));
  assert.ok(pieces('identity_bytes').includes('<0xF0>'), 'no byte fallback');
  assert.ok(pieces('identity_bytes').includes('>>spa<<') && pieces('custom_rules').includes('<sep>'), 'no user-defined symbol');
  assert.ok(cases('nmt_nfkc').some((c) => c.text.includes('\u0000')), 'no NUL');
  assert.ok(cases('nmt_nfkc').some((c) => c.text.includes('e\u0301')), 'no decomposed accent');
  assert.ok(cases('nmt_nfkc').some((c) => c.text.length >= 200), 'no text over 200 characters');
  // The crafted model's texts pin down the Viterbi's rules (see make_sentencepiece_goldens.py).
  const crafted = new Map(cases('crafted').map((c) => [c.text, c.pieces]));
  assert.deepEqual(crafted.get('ab'), ['\u2581', 'ab']); // ties: the first path found
  assert.deepEqual(crafted.get('xy xyxy').slice(0, 2), ['\u2581', 'xy']); // float sums
  assert.deepEqual(crafted.get('wwgh'), ['\u2581', 'w', 'w', 'g', 'h']); // reset past 100000
  assert.deepEqual(crafted.get('wwr'), ['\u2581', 'w', 'wr']); // reset shifts later ends too
  assert.deepEqual(crafted.get('\u00e9\u00e9 \u00e9\u00e9\u00e9').slice(0, 2), ['\u2581', '\u00e9\u00e9']); // bytes
});

test('a non-unigram model is rejected', () => {
  const bytes = modelBytes(models[1]);
  // A second trainer_spec (field 2) is merged into the first: model_type (3) = BPE (2).
  const bpe = concat(bytes, Uint8Array.of(0x12, 0x02, 0x18, 0x02));
  assert.throws(
    () => SentencePieceTokenizer.fromBytes(bpe, 'bpe.model'),
    (e) =>
      e instanceof ArtifactError &&
      e.message === 'bpe.model: model_type BPE is not supported (only UNIGRAM SentencePiece models)',
  );
  // An enum value the .proto does not define is ignored, as the C++ parser does.
  assert.equal(SentencePieceTokenizer.fromBytes(concat(bytes, Uint8Array.of(0x12, 0x02, 0x18, 0x09)), 'm').vocabularySize, 600);
});

test('corrupt models raise ArtifactError', () => {
  for (const model of models) {
    const bytes = modelBytes(model);
    const lengths = [];
    for (let n = 0; n < Math.min(bytes.length, 64); n++) lengths.push(n);
    const step = Math.max(1, Math.floor(bytes.length / 300));
    for (let n = 64; n < bytes.length; n += step) lengths.push(n);
    let rejected = 0;
    for (const n of lengths) {
      try {
        const tok = SentencePieceTokenizer.fromBytes(bytes.slice(0, n), 'cut.model');
        tok.decodeIds(tok.encodeAsIds('Hello, ¿qué tal? 中文 ＡＢＣ'));
      } catch (e) {
        if (!(e instanceof ArtifactError)) assert.fail(`${model.file} cut to ${n} bytes: ${e.name} instead of ArtifactError: ${e.stack}`);
        assert.ok(e.message.startsWith('cut.model'), e.message);
        rejected++;
      }
    }
    assert.ok(rejected > lengths.length / 2, `${model.file}: no truncation rejected`);
  }
  assert.throws(
    () => SentencePieceTokenizer.fromBytes(new Uint8Array(0), 'empty.model'),
    (e) => e instanceof ArtifactError && e.message === 'empty.model: unk is not defined.',
  );
  assert.throws(
    () => SentencePieceTokenizer.fromBytes(new TextEncoder().encode('not a model at all'), 'text.model'),
    (e) => e instanceof ArtifactError && e.message.startsWith('text.model: not a SentencePiece model file'),
  );
});

test('corrupted bytes never escape as other exceptions', () => {
  const random = new JavaRandom(1234);
  for (const model of models) {
    const original = modelBytes(model);
    for (let trial = 0; trial < 200; trial++) {
      const bytes = original.slice();
      const changes = 1 + random.nextInt(8);
      for (let k = 0; k < changes; k++) {
        const at = random.nextInt(bytes.length); // the index first, as the JVM evaluates it
        bytes[at] = random.nextInt(256);
      }
      try {
        const tok = SentencePieceTokenizer.fromBytes(bytes, 'bad.model');
        for (const text of ['Hello world', '  ¿Qué tal?  ', 'ＡＢＣ ﬁ Ⅻ 😀 e\u0301', '\u0000\u200b']) {
          tok.decodePieces(tok.encodeAsPieces(text));
          tok.decodeIds(tok.encodeAsIds(text));
        }
      } catch (e) {
        if (!(e instanceof ArtifactError)) assert.fail(`${model.file} trial ${trial}: ${e.name}: ${e.message}\n${e.stack}`);
      }
    }
  }
});

test('bad inputs', () => {
  const tok = tokenizer(models[0]);
  assert.throws(
    () => tok.encodeAsIds('bad \uD800 surrogate'),
    (e) => e instanceof InputError && e.message === 'text has a lone surrogate U+D800 at index 4: not valid Unicode',
  );
  assert.throws(
    () => tok.decodeIds([5, 400]),
    (e) => e instanceof ValueError && e.message === 'piece id is out of range: 400 (vocabulary size 400)',
  );
  assert.deepEqual(tok.encodeAsPieces('\uD83D\uDE00'), ['\u2581', '\uD83D\uDE00']);
});

test('UTF-16 details (JavaScript only)', () => {
  const tok = tokenizer(models[0]);
  // A lone low surrogate, and a high one at the end, are lone surrogates too.
  assert.throws(() => tok.encodeAsPieces('a\uDC00'), (e) => e instanceof InputError && e.message.includes('U+DC00 at index 1'));
  assert.throws(() => tok.normalize('\uD83D'), (e) => e instanceof InputError && e.message.includes('U+D83D at index 0'));
  // A piece with a lone surrogate decodes as the Kotlin core's does (Java's UTF-8 encoder writes '?').
  assert.equal(tok.decodePieces(['\uD800']), '?');
  // Astral characters are one code point, four UTF-8 bytes: same pieces as the bytes.
  const text = 'a 😀😀 b';
  assert.deepEqual(tok.encodeAsPieces(text), tok.encodeAsPieces(new TextEncoder().encode(text)));
});
