/**
 * The bits of Python's behaviour the core mirrors to give the Python runtime's exact results
 * and messages: `repr`, `str.strip`, `unicodedata.normalize('NFC')` of Python 3.11's Unicode
 * version, code-point string order and lengths, `==` of JSON values, and the JSON value model
 * of `parseJson` (json.js).
 *
 * JSON values as Python sees them: a JSON number without fraction or exponent is a Python
 * `int` (here a primitive integral `number`, or a `bigint` beyond 2^53), any other number a
 * Python `float` (here a `Number` object from `parseJson`; a non-integral primitive `number`
 * counts as a float too, but `JSON.parse` gives `2.0` as the integral `2`, so only `parseJson`
 * keeps that difference).
 */

import { PYTHON_SPACES, isPrintable, isUnassigned } from './unicode_table.js';

/** Python `dict`: a plain JSON object. */
export function isDict(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Number) &&
    !(value instanceof String) &&
    !(value instanceof Boolean) &&
    !ArrayBuffer.isView(value)
  );
}

/** Python `int` (not `bool`). */
export function isInt(value) {
  return (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
}

/** Python `float`. */
export function isFloat(value) {
  return value instanceof Number || (typeof value === 'number' && !Number.isInteger(value));
}

/** Python `isinstance(value, str)`. */
export function isStr(value) {
  return typeof value === 'string';
}

/** Python's `None`: `null` or `undefined` (what `dict.get` gives for a missing key). */
export function isNone(value) {
  return value === null || value === undefined;
}

/** Python's `dict.get(key)`: the value, or `undefined` (None) when absent. */
export function get(dict, key) {
  return Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : undefined;
}

/** Python's `key in dict`. */
export function has(dict, key) {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

function numeric(value) {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Number) return value.valueOf();
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  return undefined;
}

/** Python's `a == b` for JSON values (`1 == 1.0 == True`, `None`, lists, dicts). */
export function pyEquals(a, b) {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined || y !== undefined) {
    if (x === undefined || y === undefined) return false;
    // eslint-disable-next-line eqeqeq
    return x == y; // number == bigint compares the values
  }
  if (isNone(a) || isNone(b)) return isNone(a) && isNone(b);
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => pyEquals(v, b[i]));
  }
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => has(b, k) && pyEquals(a[k], b[k]));
  }
  return a === b;
}

/** Python's `value in sequence` (by `==`). */
export function pyIn(value, sequence) {
  for (const item of sequence) if (pyEquals(value, item)) return true;
  return false;
}

/** Python's order of two strings: by code point (not UTF-16 unit). */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Python's `sorted(strings)`. */
export function sortedStrings(strings) {
  return [...strings].sort(compareCodePoints);
}

/** The code points of `text` (Python's `list(text)`, as numbers). */
export function codePoints(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i);
    out.push(cp);
    if (cp > 0xffff) i++;
  }
  return out;
}

/** Python's `len(text)`: code points, not UTF-16 units. */
export function codePointLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Python's `text[:limit]` (code points). */
export function headCodePoints(text, limit) {
  let i = 0;
  for (let n = 0; n < limit && i < text.length; n++) i += text.codePointAt(i) > 0xffff ? 2 : 1;
  return text.slice(0, i);
}

function hex(value, digits) {
  return value.toString(16).padStart(digits, '0');
}

function stringRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const cp of codePoints(text)) {
    if (cp === 0x5c) out += '\\\\';
    else if (cp === quote.charCodeAt(0)) out += '\\' + quote;
    else if (cp === 0x09) out += '\\t';
    else if (cp === 0x0a) out += '\\n';
    else if (cp === 0x0d) out += '\\r';
    else if (isPrintable(cp)) out += String.fromCodePoint(cp);
    else if (cp < 0x100) out += '\\x' + hex(cp, 2);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + quote;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside [1e-4, 1e16). */
export function floatRepr(x) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, e] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(e);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    return `${sign}${whole}.${digits.slice(exp + 1) || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Python's `repr` of a JSON value (str, int, float, bool, None, list, dict). */
export function pyRepr(value) {
  if (isNone(value)) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return stringRepr(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Number) return floatRepr(value.valueOf());
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return floatRepr(value);
    return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  }
  if (Array.isArray(value)) return '[' + value.map(pyRepr).join(', ') + ']';
  if (isDict(value)) {
    return '{' + Object.keys(value).map((k) => `${pyRepr(k)}: ${pyRepr(value[k])}`).join(', ') + '}';
  }
  return String(value);
}

/** Python's `str(value)`: the text of a string, `repr` of anything else. */
export function pyStr(value) {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** `ondevice.manifest._short`: `str(value)` cut to `limit` code points (+ "..."). */
export function short(value, limit = 160) {
  const text = pyStr(value);
  return codePointLength(text) <= limit ? text : headCodePoints(text, limit) + '...';
}

/** Python's `str.rstrip()`. */
export function pythonRstrip(text) {
  let end = text.length;
  while (end > 0) {
    let cp = text.charCodeAt(end - 1);
    let width = 1;
    if (cp >= 0xdc00 && cp <= 0xdfff && end > 1) {
      const high = text.charCodeAt(end - 2);
      if (high >= 0xd800 && high <= 0xdbff) {
        cp = text.codePointAt(end - 2);
        width = 2;
      }
    }
    if (!PYTHON_SPACES.has(cp)) break;
    end -= width;
  }
  return text.slice(0, end);
}

/** Python's `str.strip()`. */
export function pythonStrip(text) {
  const stripped = pythonRstrip(text);
  let start = 0;
  while (start < stripped.length) {
    const cp = stripped.codePointAt(start);
    if (!PYTHON_SPACES.has(cp)) break;
    start += cp > 0xffff ? 2 : 1;
  }
  return stripped.slice(start);
}

/** Python's `not text.strip()`. */
export function pythonIsBlank(text) {
  for (const cp of codePoints(text)) if (!PYTHON_SPACES.has(cp)) return false;
  return true;
}

/**
 * Python 3.11's `unicodedata.normalize('NFC', text)`.
 *
 * The engine's `normalize` knows a newer Unicode than Python 3.11 (14.0). Normalization is
 * stable for assigned characters, so the two can only differ around code points Python does
 * not assign, which Python treats as starters that neither decompose nor compose nor reorder:
 * the text is normalized by the engine between them, and they are kept as they are.
 */
export function nfc(text) {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  let out = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i);
    const width = cp > 0xffff ? 2 : 1;
    if (isUnassigned(cp)) {
      out += text.slice(start, i).normalize('NFC') + text.slice(i, i + width);
      start = i + width;
    }
    i += width - 1;
  }
  return start === 0 ? text.normalize('NFC') : out + text.slice(start).normalize('NFC');
}
