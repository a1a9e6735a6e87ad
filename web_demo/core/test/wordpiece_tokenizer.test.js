// Port of the Kotlin core's WordPieceTokenizerTest.kt: the same goldens (tokens.json), the same
// rules.

import assert from 'node:assert/strict';
import test from 'node:test';

import { ArtifactError, ValueError } from '../errors.js';
import { pyRepr } from '../python.js';
import { WordPieceTokenizer, detokenizeWords } from '../wordpiece_tokenizer.js';
import { goldenJson, goldenTokenizer } from '../testing/goldens.js';

const tokens = goldenJson('tokens.json');

function checkGoldens(side) {
  const tokenizer = goldenTokenizer(side);
  const entries = tokens[side];
  assert.ok(entries.length >= 150, `too few golden ${side} sentences`);
  const failures = [];
  for (const entry of entries) {
    const where = `${side} text ${pyRepr(entry.text)}`;
    const words = tokenizer.words(entry.text);
    const checks = [
      ['ids', tokenizer.tokenize(entry.text), entry.ids],
      ['words', words, entry.words],
      ['detokenized ids', tokenizer.detokenize(entry.ids), entry.detokenized],
      ['joined words', detokenizeWords(words), entry.joined],
    ];
    for (const [what, actual, expected] of checks) {
      try {
        assert.deepEqual(actual, expected);
      } catch {
        failures.push(`${what} of ${where}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} mismatches`);
  return entries.length;
}

test('source language goldens', () => {
  checkGoldens('source');
});

test('target language goldens', () => {
  checkGoldens('target');
});

test('goldens cover the hard cases', () => {
  const texts = tokens.target.map((e) => e.text);
  for (const needle of ['ß', 'Ü', 'ñ', '¿', '„', '中', '😀', '\u0000', '\u200b', 'e\u0301']) {
    assert.ok(
      texts.some((t) => t.includes(needle)),
      `no golden text with ${pyRepr(needle)}`,
    );
  }
  // Code points Python 3.11 (Unicode 14) does not assign but Node's ICU does (Unicode 15 Kawi
  // punctuation, Egyptian format controls): the table, not the engine, must classify them.
  for (const needle of ['\u{11f43}', '\u{13439}', '\u{11b00}']) {
    assert.ok(texts.some((t) => t.includes(needle)));
  }
  const oov = goldenTokenizer('target').tokenToId('[UNK]');
  assert.ok(tokens.target.some((e) => e.ids.includes(oov)), 'no out-of-vocabulary word in the goldens');
});

test('docstring example', () => {
  const vocab = ['[PAD]', '[UNK]', '[START]', '[END]', 'T', '-', 'Sh', '##irt', '.'];
  const tokenizer = new WordPieceTokenizer(vocab);
  assert.deepEqual(tokenizer.words('T-Shirt.'), ['T', '-', 'Shirt', '.']);
  assert.deepEqual(tokenizer.tokenize('T-Shirt.'), [4, 5, 6, 7, 8]);
  assert.equal(tokenizer.detokenize([2, 4, 5, 6, 7, 8, 3]), 'T-Shirt.');
  assert.deepEqual(tokenizer.tokenize('Shirts'), [1]); // cannot be covered: one oov token
  assert.deepEqual(tokenizer.tokenize('T'.repeat(101)), [1]); // longer than 100 bytes
  assert.equal(tokenizer.detokenize([1, 0, 4]), '[UNK] T');
  assert.equal(tokenizer.detokenize([7]), 'irt');
  assert.equal(tokenizer.vocabularySize, 9);
  assert.equal(tokenizer.idToToken(6), 'Sh');
});

test('lengths count code points, not UTF-16 units', () => {
  // 25 emoji = 25 code points, 50 UTF-16 units, 100 UTF-8 bytes: still a word; 26 are not.
  const vocab = ['[PAD]', '[UNK]', '[START]', '[END]', '😀', '##😀'];
  const tokenizer = new WordPieceTokenizer(vocab);
  assert.deepEqual(tokenizer.tokenize('😀'.repeat(25)), [4, ...new Array(24).fill(5)]);
  assert.deepEqual(tokenizer.tokenize('😀'.repeat(26)), [1]);
  assert.equal(tokenizer.detokenize([4, 5, 5]), '😀😀😀');
});

test('vocabulary file is read like Python', () => {
  // Universal newlines and rstrip(); no extra entry for the final newline.
  const text = '[PAD]\r\n[UNK]\r[START]\n[END] \u00a0\nword\t\n\n';
  assert.deepEqual(WordPieceTokenizer.readVocabulary(text), ['[PAD]', '[UNK]', '[START]', '[END]', 'word', '']);
  assert.deepEqual(WordPieceTokenizer.readVocabulary('a\nb'), ['a', 'b']);
  assert.deepEqual(WordPieceTokenizer.readVocabulary(''), []);
  // U+2028 and U+0085 are not line breaks of a file read in text mode (but rstrip() drops them).
  assert.deepEqual(WordPieceTokenizer.readVocabulary('a\u2028b\u0085\nc'), ['a\u2028b', 'c']);
  assert.throws(
    () => WordPieceTokenizer.fromBytes(new Uint8Array([0x5b, 0xff, 0x0a]), 'v.txt'),
    (e) => e instanceof ArtifactError && e.message === 'v.txt: vocabulary is not UTF-8',
  );
  // A BOM stays part of the first token, as with Python's 'utf-8' codec.
  const bom = WordPieceTokenizer.fromBytes(new TextEncoder().encode('\ufeff[PAD]\n[UNK]\n'), 'v.txt');
  assert.deepEqual(bom.vocabulary, ['\ufeff[PAD]', '[UNK]']);
});

test('bad vocabularies', () => {
  const error = (fn, message) => assert.throws(fn, (e) => e instanceof ValueError && e.message === message);
  error(() => new WordPieceTokenizer(['[UNK]', 'a', 'a']), "Tokens in the vocabulary must be unique. Duplicate: 'a'");
  error(() => new WordPieceTokenizer(['a']), "Cannot find `oov_token='[UNK]'` in the vocabulary.");
  error(() => new WordPieceTokenizer(['[UNK]']).idToToken(1), '`id` must be in range [0, 0]. Received: 1');
  error(() => new WordPieceTokenizer(['[UNK]']).tokenToId('x'), "Token 'x' is not in the vocabulary.");
});

test('detokenize rules', () => {
  const join = (...words) => detokenizeWords(words);
  assert.equal(join('Es', '3', '.', '5', 'km', ',', 'a', 'las', '10', ':', '30', '.'), 'Es 3.5 km, a las 10:30.');
  assert.equal(join('¿', 'Qué', 'tal', '?', '¡', 'Hola', '!'), '¿Qué tal? ¡Hola!');
  assert.equal(join('Er', 'sagte', ':', '„', 'Open', '“', '-', 'Schild', '.'), 'Er sagte: „Open“-Schild.');
  assert.equal(join('He', 'said', '"', 'hi', '"', 'and', '"', 'bye', '"', '.'), 'He said "hi" and "bye".');
  assert.equal(join('“', 'Hi', '”', 'don', "'", 't', 'dogs', "'", 'toys'), "“Hi” don't dogs'toys");
  assert.equal(
    join('Obst', '-', 'und', 'Gemüse', ',', 'T', '-', 'Shirt', 'and', '/', 'or'),
    'Obst- und Gemüse, T-Shirt and/or',
  );
  assert.equal(join('a', '-', ','), 'a -,');
  assert.equal(join('(', 'x', ')', '-', 'y', '%'), '(x)-y%');
  assert.equal(join(), '');
});
