// The Python behaviours the core mirrors: repr, strip, NFC of Python's Unicode version, JSON.

import assert from 'node:assert/strict';
import test from 'node:test';

import { JsonError, parseJson } from '../json.js';
import { floatRepr, nfc, pyRepr, pythonIsBlank, pythonRstrip, pythonStrip, short } from '../python.js';
import { UNICODE_VERSION, charClass, KEEP, WHITESPACE, WORD } from '../unicode_table.js';

test('repr quotes and escapes like Python', () => {
  // repr() of the same values in Python 3.11.
  assert.equal(pyRepr('\u200b\u200b'), "'\\u200b\\u200b'");
  assert.equal(pyRepr("it's"), '"it\'s"');
  assert.equal(pyRepr('it\'s "x"'), "'it\\'s \"x\"'");
  assert.equal(pyRepr('a\\b\tc'), "'a\\\\b\\tc'");
  assert.equal(pyRepr('\u0085é😀\u3000'), "'\\x85é😀\\u3000'");
  assert.equal(pyRepr('\ud800'), "'\\ud800'");
  assert.equal(pyRepr(null), 'None');
  assert.equal(pyRepr(undefined), 'None');
  assert.equal(pyRepr([1, 'a', true, null, [2]]), "[1, 'a', True, None, [2]]");
  assert.equal(pyRepr({ name: 7, dtype: new Number(2.5) }), "{'name': 7, 'dtype': 2.5}"); // eslint-disable-line no-new-wrappers
  assert.equal(pyRepr(12345678901234567890n), '12345678901234567890');
  assert.equal(short('x'.repeat(170)), 'x'.repeat(160) + '...');
});

test('float repr like Python', () => {
  const cases = [
    [2, '2.0'],
    [0.1, '0.1'],
    [-0, '-0.0'],
    [1e16, '1e+16'],
    [1.5e16, '1.5e+16'],
    [123456789012345.6, '123456789012345.6'],
    [1e-4, '0.0001'],
    [1.5e-5, '1.5e-05'],
    [5.0067901611328125e-6, '5.0067901611328125e-06'],
    [1e300, '1e+300'],
    [NaN, 'nan'],
    [-Infinity, '-inf'],
  ];
  for (const [value, text] of cases) assert.equal(floatRepr(value), text, String(value));
});

test('strip like Python', () => {
  assert.equal(pythonStrip(' \u3000a b\u0085\u2028'), 'a b');
  assert.equal(pythonRstrip('x\u200b '), 'x\u200b'); // U+200B is not whitespace in Python
  assert.ok(pythonIsBlank('\u001c\u00a0'));
  assert.ok(!pythonIsBlank('\u200b'));
});

test('NFC of Python 3.11 (Unicode 14), whatever the engine knows', () => {
  assert.equal(UNICODE_VERSION, '14.0.0');
  assert.equal(nfc('e\u0301 A\u030a'), 'é Å');
  assert.equal(nfc('\u1100\u1161\u11a8'), '\uac01');
  // U+105C9 = U+105D2 U+0307 since Unicode 16; Python 3.11 leaves the pair alone.
  assert.equal('\u{105d2}\u0307'.normalize('NFC'), '\u{105c9}');
  assert.equal(nfc('\u{105d2}\u0307'), '\u{105d2}\u0307');
  // A mark after a code point Python does not assign is not reordered across it.
  assert.equal(nfc('a\u{16d67}\u0301'), 'a\u{16d67}\u0301');
});

test('unicode table classes', () => {
  assert.equal(charClass(0x20), WHITESPACE);
  assert.equal(charClass(0x200b), WHITESPACE); // Cf
  assert.equal(charClass(0xa0), WORD); // NBSP is not RE2's \s
  assert.equal(charClass(0x24), KEEP); // $ is ASCII punctuation
  assert.equal(charClass(0x4e2d), KEEP); // CJK
  assert.equal(charClass(0x1f600), WORD);
  assert.equal(charClass(0x11f43), KEEP); // Unicode 15 Kawi punctuation (listed in tokenizer.py)
  assert.equal(charClass(0x10ffff), WORD);
});

test('JSON like Python', () => {
  const value = parseJson('{"a": 1, "b": 2.0, "c": 1e2, "d": [NaN, -Infinity], "a": 3, "e": 12345678901234567890}');
  assert.deepEqual(Object.keys(value), ['a', 'b', 'c', 'd', 'e']); // a repeated key keeps its first place
  assert.equal(value.a, 3);
  assert.ok(value.b instanceof Number && value.b == 2); // eslint-disable-line eqeqeq
  assert.ok(value.c instanceof Number);
  assert.ok(Number.isNaN(Number(value.d[0])));
  assert.equal(value.e, 12345678901234567890n);
  assert.equal(parseJson('"\\ud83d\\ude00\\u00e9"'), '😀é');
  assert.deepEqual(Object.keys(parseJson('{"__proto__": 1}')), ['__proto__']);
  const error = (text, message) => assert.throws(() => parseJson(text), (e) => e instanceof JsonError && e.message === message);
  // Python 3.11's json.loads messages.
  error('', 'Expecting value: line 1 column 1 (char 0)');
  error('{"a": }', 'Expecting value: line 1 column 7 (char 6)');
  error('{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)");
  error('{"a": 1 "b": 2}', "Expecting ',' delimiter: line 1 column 9 (char 8)");
  error('{"a": 1,}', 'Expecting property name enclosed in double quotes: line 1 column 9 (char 8)');
  error('[1,]', 'Expecting value: line 1 column 4 (char 3)');
  error('[1]\n x', 'Extra data: line 2 column 2 (char 5)');
  error('"abc', 'Unterminated string starting at: line 1 column 1 (char 0)');
  error('"a\nb"', 'Invalid control character at: line 1 column 3 (char 2)');
  error('\ufeff{}', 'Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)');
  error(' \ufeff{}', 'Expecting value: line 1 column 2 (char 1)');
  error('01', 'Extra data: line 1 column 2 (char 1)');
});
