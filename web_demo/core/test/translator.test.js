// Port of the Kotlin core's TranslatorTest.kt, plus the manifest checks of `from_artifact`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { ArtifactError, InputError } from '../errors.js';
import { Manifest } from '../manifest.js';
import { loadTokenizers } from '../tokenizers.js';
import { Translator, padBatch } from '../translator.js';
import { WordPieceTokenizer } from '../wordpiece_tokenizer.js';
import { GOLDENS, goldenManifest, goldenTokenizer } from '../testing/goldens.js';

/** A step model that must not be called (input errors happen before decoding). */
const unused = {
  decoderTensors: [],
  encode() {
    throw new Error('encode called');
  },
  decodeStep() {
    throw new Error('decode_step called');
  },
};

const translator = Translator.fromManifest(goldenManifest(), unused, goldenTokenizer('source'), goldenTokenizer('target'));

function inputError(text, truncate = false) {
  try {
    translator.encodeText(text, truncate);
  } catch (e) {
    assert.ok(e instanceof InputError, `not an InputError: ${e}`);
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

test('input errors', async () => {
  assert.equal(inputError(''), 'empty input: nothing to translate');
  assert.equal(inputError(' \t\n\u3000\u0085'), 'empty input: nothing to translate');
  assert.equal(inputError('\u200b\u200b'), "input has no translatable characters: '\\u200b\\u200b'");
  // Python's text[:40] counts code points.
  assert.equal(inputError('\u200b'.repeat(39) + '\u{e0001}\u{e0001}'), `input has no translatable characters: '${'\\u200b'.repeat(39)}\\U000e0001'`);
  const long = new Array(translator.maxSourceLength + 1).fill('the').join(' ');
  assert.equal(
    inputError(long),
    `input is ${translator.maxSourceLength + 1} tokens long; this model accepts at most ` +
      `${translator.maxSourceLength} (split it into sentences)`,
  );
  assert.equal(translator.encodeText(long, true).length, translator.maxSourceLength);
  await assert.rejects(
    translator.translate(['fine', '']),
    (e) => e instanceof InputError && e.message === 'empty input: nothing to translate',
  );
  await assert.rejects(translator.translateStream(' ').next(), (e) => e instanceof InputError);
});

test('padBatch pads to the longest', () => {
  const batch = padBatch(
    [
      [5, 6],
      [7],
      [8, 9, 10],
    ],
    0,
  );
  assert.deepEqual(
    batch.map((row) => [...row]),
    [
      [5, 6, 0],
      [7, 0, 0],
      [8, 9, 10],
    ],
  );
});

test('fromManifest refuses other tasks and foreign vocabularies', () => {
  const m = goldenManifest();
  const vae = new Manifest({ ...m.data, task: 'text_vae' }, 'dir');
  assert.throws(
    () => Translator.fromManifest(vae, unused, goldenTokenizer('source'), goldenTokenizer('target')),
    (e) => e instanceof ArtifactError && e.message === "dir: a 'transformer' model for task 'text_vae'; translation needs a 'translation' model",
  );
  const small = new WordPieceTokenizer(['[PAD]', '[UNK]', '[START]', '[END]']);
  assert.throws(
    () => Translator.fromManifest(m, unused, goldenTokenizer('source'), small),
    (e) =>
      e instanceof ArtifactError &&
      e.message === "goldens/target_vocab.txt has 4 tokens but the model's logits have 600; the vocabulary does not belong to this model",
  );
});

test('loadTokenizers reads the manifest tokenizer', async () => {
  const m = goldenManifest();
  const dir = fileURLToPath(GOLDENS);
  const read = (path) => new Uint8Array(fs.readFileSync(path));
  const [source, target] = await loadTokenizers(m.data.tokenizer, dir, m.specialTokens, read);
  assert.equal(source.vocabularySize, 575);
  assert.equal(target.vocabularySize, 600);
  assert.deepEqual(target.tokenize('Acepté.'), [24, 231, 581, 440, 10]);
  const shared = { ...m.data.tokenizer, target_vocabulary: m.data.tokenizer.source_vocabulary };
  const [a, b] = await loadTokenizers(shared, dir, m.specialTokens, read);
  assert.equal(a, b);
  await assert.rejects(
    loadTokenizers({ ...m.data.tokenizer, source_vocabulary: 'missing.txt' }, 'goldens', m.specialTokens, read),
    (e) => e instanceof ArtifactError && e.message.startsWith('goldens: tokenizer files not usable (goldens/missing.txt: '),
  );
  await assert.rejects(
    loadTokenizers({ kind: 'sentencepiece', source_vocabulary: 'v', target_vocabulary: 'v', source_model: 's', target_model: 't' }, 'dir', m.specialTokens, read),
    (e) => e instanceof ArtifactError && e.message.startsWith('dir: tokenizer files not usable (dir/s: '),
  );
  await assert.rejects(
    loadTokenizers({ kind: 'bpe' }, 'dir', m.specialTokens, read),
    (e) => e instanceof ArtifactError && e.message === "unknown tokenizer kind 'bpe'; this runtime knows wordpiece, sentencepiece",
  );
});
