// Port of the Kotlin core's MarianTokenizerTest.kt: the `sentencepiece` tokenizer kind
// (`MarianTokenizer`) against the Python runtime's `SentencePieceTokenizer` (the goldens of
// `android_demo/tools/make_marian_goldens.py`: the tiny Marian fixture's tokenizer files as
// `import_marian` writes them, and `cases.json`), and `loadTokenizers` / `parseManifest` /
// `Translator` on a `sentencepiece` artifact.

import assert from 'node:assert/strict';
import test from 'node:test';
import { gunzipSync } from 'node:zlib';

import { ArtifactError, ValueError } from '../errors.js';
import { Logits } from '../decoder_state.js';
import { parseJson } from '../json.js';
import { MANIFEST_FILE, parseManifest } from '../manifest.js';
import { MARIAN_SPECIAL_PIECES, MarianTokenizer } from '../marian_tokenizer.js';
import { pyRepr, pythonIsBlank } from '../python.js';
import { SentencePieceTokenizer } from '../sentencepiece_tokenizer.js';
import { loadTokenizers, tokenizerFiles } from '../tokenizers.js';
import { Translator } from '../translator.js';
import { WordPieceTokenizer } from '../wordpiece_tokenizer.js';
import { goldenBytes, goldenJson, goldenManifest, goldenText, goldenTokenizer } from '../testing/goldens.js';

const goldens = goldenJson('marian/cases.json');
const spec = goldenJson('marian/tokenizer.json');
const special = goldens.special_tokens;

/** The artifact-side files (the `.spm` models decompressed), by name. */
const files = new Map(
  ['source.spm', 'target.spm', 'vocabulary.txt', 'tokenizer.json'].map((name) => [
    name,
    name.endsWith('.spm') ? new Uint8Array(gunzipSync(goldenBytes(`marian/${name}.gz`))) : goldenBytes(`marian/${name}`),
  ]),
);

/** The golden files as the `marian` directory; a missing one fails as a fetch or `fs` would. */
function read(path) {
  const bytes = files.get(path.replace(/^marian\//, ''));
  if (bytes === undefined) throw new Error('No such file or directory');
  return bytes;
}

/** `[source, target]` of `loadTokenizers` over the golden files, `edit` applied to the spec. */
function tokenizers(edit = () => {}) {
  const edited = { ...spec };
  edit(edited);
  return loadTokenizers(edited, 'marian', special, read);
}

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

function repr(value) {
  if (typeof value === 'string') return pyRepr(value);
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  return String(value);
}

function checkAll(cases, check) {
  const mismatches = [];
  for (const c of cases) check(c, mismatches);
  assert.ok(mismatches.length === 0, `${mismatches.length} mismatches:\n${mismatches.slice(0, 25).join('\n')}`);
}

test('tokenize golden texts', async () => {
  const [source, target] = await tokenizers();
  assert.ok(source instanceof MarianTokenizer && target instanceof MarianTokenizer);
  const cases = goldens.tokenize;
  assert.ok(cases.length >= 60, 'too few golden texts');
  checkAll(cases, (c, mismatches) => {
    for (const [side, tokenizer] of [
      ['source', source],
      ['target', target],
    ]) {
      const expected = c[side];
      const actual = tokenizer.tokenize(c.text);
      if (repr(expected) !== repr(actual)) mismatches.push(`${side} ${pyRepr(c.text)}: expected ${repr(expected)}, got ${repr(actual)}`);
    }
  });
  assert.equal(cases.length, 121);
});

test('detokenize golden ids', async () => {
  const plain = await tokenizers();
  const clean = await tokenizers((s) => {
    s.clean_up_spaces = true;
  });
  const sides = [
    ['source', plain[0]],
    ['target', plain[1]],
    ['source_clean', clean[0]],
    ['target_clean', clean[1]],
  ];
  const cases = goldens.detokenize;
  assert.ok(cases.length >= 40, 'too few golden id lists');
  assert.ok(
    cases.some((c) => 'error' in c),
    'no error case',
  );
  checkAll(cases, (c, mismatches) => {
    for (const [key, tokenizer] of sides) {
      if ('error' in c) {
        assert.equal(c.error, 'IndexError');
        try {
          const text = tokenizer.detokenize(c.ids);
          mismatches.push(`${key} ${repr(c.ids)}: expected an error, got ${pyRepr(text)}`);
        } catch (e) {
          if (!(e instanceof ValueError)) throw e; // Python: IndexError
        }
      } else {
        const actual = tokenizer.detokenize(c.ids);
        if (c[key] !== actual) mismatches.push(`${key} ${repr(c.ids)}: expected ${repr(c[key])}, got ${repr(actual)}`);
      }
    }
  });
  assert.equal(cases.length, 162);
});

test('goldens cover the hard cases', async () => {
  const [source, target] = await tokenizers();
  const texts = new Map(goldens.tokenize.map((c) => [c.text, c]));
  const code = source.tokenToId('>>spa<<');
  assert.ok(code > 3);
  const pieces = source.pieces('>>spa<<Hello');
  assert.equal(pieces[0], '>>spa<<');
  assert.deepEqual(pieces.slice(1), source.model.encodeAsPieces('Hello'));
  assert.equal(texts.get('>>spa<< Hello, how are you?').source[0], code);
  assert.deepEqual(source.pieces('>>xx<< not in the vocabulary').slice(0, 1), ['>>xx<<']);
  assert.equal(texts.get('>>xx<< not in the vocabulary').source[0], 1); // <unk>
  assert.deepEqual(
    source.pieces('a</s>b<unk>c<pad>d').filter((p) => MARIAN_SPECIAL_PIECES.includes(p)),
    [...MARIAN_SPECIAL_PIECES],
  );
  assert.deepEqual(source.tokenize(''), [3]);
  assert.deepEqual(target.tokenize(''), []);
  // Clean-up changes some texts; the two models decode every golden list alike.
  const detokenize = goldens.detokenize.filter((c) => !('error' in c));
  assert.ok(detokenize.filter((c) => c.source !== c.source_clean).length >= 10);
  assert.equal(source.vocabularySize, goldens.vocabulary_size);
});

test('negative ids are refused', async () => {
  // Python's list indexing wraps -1 to the last piece; ids are never negative, so the
  // JavaScript tokenizer refuses them like an id past the vocabulary (as the Kotlin one does).
  for (const tokenizer of await tokenizers()) {
    assert.throws(
      () => tokenizer.detokenize([21, -1]),
      (e) => e instanceof ValueError && e.message === '`id` must be in range [0, 516]. Received: -1',
    );
  }
});

test('vocabulary files keep everything but the line break', () => {
  assert.deepEqual(MarianTokenizer.readPieces('a\nb\r\n\n c \n'), ['a', 'b\r', '', ' c ']);
  assert.deepEqual(MarianTokenizer.readPieces('a\nb'), ['a', 'b']);
  assert.deepEqual(MarianTokenizer.readPieces(''), []);
  assert.deepEqual(MarianTokenizer.readPieces('\n'), ['']);
  assert.deepEqual(MarianTokenizer.readPieces('\ufeffa\n'), ['\ufeffa']);
  assert.deepEqual(MarianTokenizer.readPieces(new TextEncoder().encode('\ufeffa\n'), 'v.txt'), ['\ufeffa']);
  assert.throws(
    () => MarianTokenizer.readPieces(Uint8Array.of(0x61, 0xff, 0x0a), 'v.txt'),
    (e) => e instanceof ArtifactError && e.message === 'v.txt: vocabulary is not UTF-8',
  );
});

test('constructor checks like Python', () => {
  const model = SentencePieceTokenizer.fromBytes(files.get('source.spm'), 'source.spm');
  const refused = (expected, make) => assert.throws(make, (e) => e instanceof ValueError && e.message === expected);
  refused("duplicate piece 'a' in the vocabulary", () => new MarianTokenizer(model, ['<unk>', 'a', 'a']));
  refused("the vocabulary has no '<unk>'", () => new MarianTokenizer(model, ['a']));
  refused('add_end needs end_id', () => new MarianTokenizer(model, ['<unk>'], { addEnd: true }));
  const tokenizer = new MarianTokenizer(model, ['<unk>', '\u2581a', '</s>'], { specialIds: [2], endId: 2, addEnd: true });
  assert.deepEqual(tokenizer.tokenize('a b</s>'), [1, 0, 2, 2]);
  assert.equal(tokenizer.detokenize([2, 1, 2]), 'a');
});

// --- The factory and a `sentencepiece` artifact. ---

async function factoryError(description, directory = 'marian') {
  try {
    await loadTokenizers(description, directory, special, read);
  } catch (e) {
    assert.ok(e instanceof ArtifactError, `not an ArtifactError: ${e}`);
    return e.message;
  }
  assert.fail(`loaded ${JSON.stringify(description)}`);
}

test('unknown kinds and bad file names', async () => {
  const knows = 'this runtime knows wordpiece, sentencepiece';
  assert.equal(await factoryError({ ...spec, kind: 'bpe' }), `unknown tokenizer kind 'bpe'; ${knows}`);
  assert.equal(await factoryError(without(spec, 'kind')), `unknown tokenizer kind None; ${knows}`);
  assert.equal(await factoryError([spec]), `unknown tokenizer kind None; ${knows}`);
  for (const bad of ['../x.spm', '/abs/x.spm', 'sub/x.spm', '', '.', '..']) {
    assert.equal(
      await factoryError({ ...spec, source_model: bad }),
      `tokenizer.source_model must be a file name in the model directory, not ${pyRepr(bad)}`,
    );
  }
  assert.equal(
    await factoryError(without(spec, 'target_model')),
    'tokenizer.target_model must be a file name in the model directory, not None',
  );
  assert.equal(
    await factoryError({ ...spec, target_vocabulary: 3 }),
    'tokenizer.target_vocabulary must be a file name in the model directory, not 3',
  );
  // A wordpiece description needs no models.
  const wordpiece = { kind: 'wordpiece', source_vocabulary: 'v.txt', target_vocabulary: 'v.txt', source_model: '../x' };
  assert.deepEqual(tokenizerFiles(wordpiece), { source_vocabulary: 'v.txt', target_vocabulary: 'v.txt' });
});

test('unusable files are ArtifactErrors', async () => {
  // The JavaScript core names the path of a file it cannot read (a fetch error does not).
  const missing = await factoryError({ ...spec, target_model: 'missing.spm' });
  assert.equal(missing, 'marian: tokenizer files not usable (marian/missing.spm: No such file or directory)');
  const corrupt = await loadTokenizers(spec, 'marian', special, (path) =>
    path.endsWith('.spm') ? Uint8Array.of(0x0a, 0x7f) : read(path),
  ).then(
    () => '',
    (e) => e.message,
  );
  assert.ok(corrupt.startsWith('marian: tokenizer files not usable (marian/source.spm: '), corrupt);
  const noUnk = await loadTokenizers(spec, 'marian', special, (path) =>
    path.endsWith('.txt') ? new TextEncoder().encode('a\nb\n') : read(path),
  ).then(
    () => '',
    (e) => e.message,
  );
  assert.equal(noUnk, "marian: tokenizer files not usable (the vocabulary has no '<unk>')");
  const notUtf8 = await loadTokenizers(spec, 'marian', special, (path) =>
    path.endsWith('.txt') ? Uint8Array.of(0x61, 0xff, 0x0a) : read(path),
  ).then(
    () => '',
    (e) => e.message,
  );
  assert.equal(notUtf8, 'marian: tokenizer files not usable (marian/vocabulary.txt: vocabulary is not UTF-8)');
  // Python reads special_tokens[key] only for this kind.
  await assert.rejects(
    loadTokenizers(spec, 'marian', without(special, 'start'), read),
    (e) => e instanceof ArtifactError && e.message === "manifest.json: special_tokens has no 'start'",
  );
});

test('options', async () => {
  // source_end and clean_up_spaces follow Python's truth values.
  const [source, target] = await tokenizers((s) => {
    s.source_end = 0;
    s.clean_up_spaces = 'yes';
  });
  assert.deepEqual(source.tokenize(''), []);
  assert.ok(source.cleanUpSpaces && target.cleanUpSpaces);
  assert.ok(!source.addEnd && !target.addEnd);
  // parseJson's floats count too: 0.0 is false.
  const [zero] = await tokenizers((s) => {
    s.source_end = new Number(0);
  });
  assert.ok(!zero.addEnd);
  // A sentencepiece vocabulary shared by both sides still gives each side its own model.
  const [s, t] = await tokenizers();
  assert.notEqual(s, t);
  assert.ok(s.addEnd && !t.addEnd);
});

test('wordpiece kind through the factory', async () => {
  const manifest = goldenManifest();
  const readGolden = (path) => goldenBytes(path.replace(/^goldens\//, ''));
  const [source, target] = await loadTokenizers(manifest.data.tokenizer, 'goldens', manifest.specialTokens, readGolden);
  assert.ok(source instanceof WordPieceTokenizer && target instanceof WordPieceTokenizer);
  assert.deepEqual(source.vocabulary, goldenTokenizer('source').vocabulary);
  const shared = { ...manifest.data.tokenizer, target_vocabulary: manifest.data.tokenizer.source_vocabulary };
  const [a, b] = await loadTokenizers(shared, 'goldens', manifest.specialTokens, readGolden);
  assert.equal(a, b); // one vocabulary loaded once, as in Python
});

/**
 * The golden manifest with the Marian tokenizer (the Kotlin test's temporary artifact directory,
 * here the `marian` directory of `read`). The logits are 517 wide: the JavaScript
 * `Translator.fromManifest` checks them against the target vocabulary (Kotlin's does not).
 */
function marianManifest(edit = () => {}) {
  const data = parseJson(goldenText(MANIFEST_FILE));
  data.tokenizer = { ...spec };
  data.special_tokens = { ...special };
  delete data.model_sha256;
  for (const signature of Object.values(data.signatures)) {
    for (const t of signature.outputs) if (t.role === 'logits') t.shape = [-1, goldens.vocabulary_size];
  }
  edit(data);
  return parseManifest(new TextEncoder().encode(JSON.stringify(data)), `marian/${MANIFEST_FILE}`, 'marian');
}

/**
 * A model whose logits pick, for the source ids of a row, the next token of its `script` (the
 * fixture's greedy output); rows of unknown sources fail.
 */
function scriptedModel(script, vocab, padId) {
  return {
    start(sourceIds) {
      let rows = Array.from(sourceIds, (row) => {
        const source = Array.from(row);
        while (source.length && source[source.length - 1] === padId) source.pop();
        const ids = script.get(JSON.stringify(source));
        if (ids === undefined) throw new Error(`no script for source ${JSON.stringify(source)}`);
        return ids;
      });
      return {
        length: 0,
        get batchSize() {
          return rows.length;
        },
        step() {
          const values = new Float32Array(rows.length * vocab);
          rows.forEach((ids, r) => {
            values[r * vocab + ids[this.length]] = 1;
          });
          this.length++;
          return new Logits(rows.length, vocab, values);
        },
        select(keep) {
          const old = rows;
          rows = Array.from(keep, (i) => old[i]);
        },
        close() {},
      };
    },
  };
}

test('sentencepiece manifest loads and translates', async () => {
  const manifest = marianManifest();
  assert.equal(manifest.path('source_model'), 'marian/source.spm');
  assert.equal(manifest.path('target_model'), 'marian/target.spm');
  assert.equal(manifest.path('source_vocabulary'), manifest.path('target_vocabulary'));
  const [sourceTokenizer, targetTokenizer] = await loadTokenizers(
    manifest.data.tokenizer,
    manifest.directory,
    manifest.specialTokens,
    read,
  );
  const translations = goldens.translations.filter((c) => !pythonIsBlank(c.text) && c.ids.length <= manifest.maxTargetLength);
  const tokenize = new Map(goldens.tokenize.map((c) => [c.text, c.source]));
  const usable = translations.filter((c) => tokenize.get(c.text).length <= manifest.maxSourceLength);
  assert.ok(usable.length >= 10, 'too few fixture sentences fit the golden manifest');
  const script = new Map(usable.map((c) => [JSON.stringify(tokenize.get(c.text)), c.ids]));
  const model = scriptedModel(script, goldens.vocabulary_size, special.pad);
  const translator = Translator.fromManifest(manifest, model, sourceTokenizer, targetTokenizer, 4);
  assert.ok(translator.sourceTokenizer instanceof MarianTokenizer && translator.targetTokenizer instanceof MarianTokenizer);
  for (const c of usable) assert.deepEqual(translator.encodeText(c.text), tokenize.get(c.text));
  assert.deepEqual(
    await translator.translate(usable.map((c) => c.text)),
    usable.map((c) => c.translation),
  );
  const first = usable[0];
  const partials = [];
  for await (const partial of translator.translateStream(first.text)) partials.push(partial);
  assert.equal(partials[partials.length - 1], first.translation);
});

test('sentencepiece manifest validation', async () => {
  const invalid = (expected, edit) =>
    assert.throws(
      () => marianManifest(edit),
      (e) => e instanceof ArtifactError && e.message === expected,
    );
  invalid("unknown tokenizer kind 'unigram'; this runtime knows wordpiece, sentencepiece", (d) => {
    d.tokenizer.kind = 'unigram';
  });
  invalid("tokenizer.source_model must be a file name in the model directory, not '../x.spm'", (d) => {
    d.tokenizer.source_model = '../x.spm';
  });
  invalid('unknown tokenizer kind None; this runtime knows wordpiece, sentencepiece', (d) => {
    d.tokenizer = 'sentencepiece';
  });
  // A missing model file is found when the tokenizers are loaded.
  const manifest = marianManifest();
  const withoutTarget = (path) => {
    if (path.endsWith('target.spm')) throw new Error('404 Not Found');
    return read(path);
  };
  await assert.rejects(
    loadTokenizers(manifest.data.tokenizer, manifest.directory, manifest.specialTokens, withoutTarget),
    (e) => e instanceof ArtifactError && e.message.startsWith('marian: tokenizer files not usable ('),
  );
});
