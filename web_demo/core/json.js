/**
 * A JSON reader that keeps what Python's `json.loads` keeps (Kotlin's `Json.kt` does the same).
 *
 * `JSON.parse` cannot tell `2` from `2.0`, but `ondevice/manifest.py` refuses a float where it
 * wants an integer, and it loses the digits of integers beyond 2^53. Here, as in Python:
 *
 * - a number without fraction or exponent is an integer: a primitive `number`, or a `bigint`
 *   when it does not fit a double exactly;
 * - any other number is a float: a `Number` object (`typeof` is `'object'`; arithmetic and
 *   comparisons unbox it, `Number(x)` gives the primitive), so that `isFloat` (python.js)
 *   recognizes it;
 * - `NaN`, `Infinity` and `-Infinity` are accepted (floats), as Python's `json.dump` writes them;
 * - a repeated key keeps its first position and its last value (Python's `dict`);
 * - whitespace is only space, tab, newline and carriage return (a leading BOM is an error);
 * - errors read like Python's (`Expecting value: line 1 column 1 (char 0)`).
 *
 * Objects are plain objects (keys that look like array indices are listed first by
 * JavaScript, unlike Python).
 */

/** A syntax error; `pos` is the UTF-16 offset, `lineno`/`colno` as Python counts them. */
export class JsonError extends Error {
  constructor(message, text, pos) {
    const lineno = text.slice(0, pos).split('\n').length;
    const colno = pos - text.lastIndexOf('\n', pos - 1);
    super(`${message}: line ${lineno} column ${colno} (char ${pos})`);
    this.name = 'JsonError';
    this.pos = pos;
    this.lineno = lineno;
    this.colno = colno;
  }
}

const MAX_DEPTH = 990; // Python's recursion limit (1000) less the caller's frames
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parse `text` as Python's `json.loads` would; throws `JsonError`. */
export function parseJson(text) {
  let pos = 0;

  const fail = (message, at = pos) => {
    throw new JsonError(message, text, at);
  };

  const skip = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else break;
    }
  };

  const readString = () => {
    const begin = pos; // the opening quote
    pos++;
    let out = '';
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail('Unterminated string starting at', begin);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunk, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('Invalid control character at');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(chunk, pos);
      const e = text[pos + 1];
      if (e === undefined) fail('Unterminated string starting at', begin);
      if (e in ESCAPES) {
        out += ESCAPES[e];
        pos += 2;
      } else if (e === 'u') {
        const unit = (at) => {
          const digits = text.slice(at, at + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(digits)) fail('Invalid \\uXXXX escape', at - 1);
          return parseInt(digits, 16);
        };
        let code = unit(pos + 2);
        pos += 6;
        // Python joins a \\uD8xx\\uDCxx pair into one character; a UTF-16 string holds the
        // same two units either way.
        if (code >= 0xd800 && code <= 0xdbff && text[pos] === '\\' && text[pos + 1] === 'u') {
          const low = unit(pos + 2);
          if (low >= 0xdc00 && low <= 0xdfff) {
            out += String.fromCharCode(code, low);
            pos += 6;
            code = -1;
          }
        }
        if (code >= 0) out += String.fromCharCode(code);
      } else {
        fail('Invalid \\escape', pos);
      }
      chunk = pos;
    }
  };

  const readValue = (depth) => {
    if (pos >= text.length) fail('Expecting value');
    const c = text[pos];
    if (c === '"') return readString();
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) {
        const what = c === '{' ? 'an object' : 'an array';
        throw new JsonError(`maximum recursion depth exceeded while decoding ${what}`, text, pos);
      }
      return c === '{' ? readObject(depth + 1) : readArray(depth + 1);
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = pos;
      const m = NUMBER.exec(text);
      if (m) {
        pos += m[0].length;
        if (m[1] === undefined && m[2] === undefined) {
          const value = Number(m[0]);
          return Number.isSafeInteger(value) ? value : BigInt(m[0]);
        }
        return new Number(Number(m[0])); // eslint-disable-line no-new-wrappers
      }
      if (text.startsWith('-Infinity', pos)) {
        pos += 9;
        return new Number(-Infinity); // eslint-disable-line no-new-wrappers
      }
      fail('Expecting value');
    }
    for (const [word, value] of [
      ['null', null],
      ['true', true],
      ['false', false],
    ]) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    if (text.startsWith('NaN', pos)) {
      pos += 3;
      return new Number(NaN); // eslint-disable-line no-new-wrappers
    }
    if (text.startsWith('Infinity', pos)) {
      pos += 8;
      return new Number(Infinity); // eslint-disable-line no-new-wrappers
    }
    return fail('Expecting value');
  };

  const readObject = (depth) => {
    const out = {};
    pos++;
    skip();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      if (text[pos] !== '"') fail('Expecting property name enclosed in double quotes');
      const key = readString();
      skip();
      if (text[pos] !== ':') fail("Expecting ':' delimiter");
      pos++;
      skip();
      const value = readValue(depth);
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        out[key] = value;
      }
      skip();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      if (text[pos] !== ',') fail("Expecting ',' delimiter");
      pos++;
      skip();
    }
  };

  const readArray = (depth) => {
    const out = [];
    pos++;
    skip();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      out.push(readValue(depth));
      skip();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      if (text[pos] !== ',') fail("Expecting ',' delimiter");
      pos++;
      skip();
    }
  };

  if (text.startsWith('\ufeff')) throw new JsonError('Unexpected UTF-8 BOM (decode using utf-8-sig)', text, 0);
  skip();
  const value = readValue(0);
  skip();
  if (pos !== text.length) fail('Extra data');
  return value;
}
