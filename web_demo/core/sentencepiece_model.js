/**
 * The parts of a SentencePiece model file the unigram tokenizer needs, read without a protobuf
 * library, and sentencepiece's text normalizer (`src/normalizer.cc`). A port of the Kotlin
 * core's `SentencePieceModel.kt`, which follows the C++ sources of sentencepiece 0.2.3.
 *
 * A `.model` / `.spm` file is a serialized `sentencepiece.ModelProto`
 * (`src/sentencepiece_model.proto`, proto2). Only these fields are read; everything else is
 * skipped as the C++ parser skips unknown fields:
 *
 * - `pieces` (1): `piece` (1), `score` (2, float), `type` (3);
 * - `trainer_spec` (2): `model_type` (3), `treat_whitespace_as_suffix` (24), `byte_fallback` (35),
 *   `unk_surface` (44), `unk_piece` / `bos_piece` / `eos_piece` / `pad_piece` (45-48);
 * - `normalizer_spec` (3) and `denormalizer_spec` (5): `name` (1), `precompiled_charsmap` (2),
 *   `add_dummy_prefix` (3), `remove_extra_whitespaces` (4), `escape_whitespaces` (5).
 *
 * Proto2 semantics are kept: absent fields take the `.proto` defaults, a message field that
 * occurs twice is merged, the last value of a scalar wins, and an enum value the `.proto` does
 * not define leaves the field unchanged (C++ stores it as an unknown field).
 *
 * Everything works on UTF-8 bytes (`Uint8Array`), as sentencepiece does; a varint is read as two
 * unsigned 32-bit halves and judged as the Kotlin code judges its signed 64-bit `Long`. Every
 * problem with the bytes of a file is an `ArtifactError`, never a `RangeError` or `TypeError`.
 */

import { ArtifactError } from './errors.js';

/** The piece types of `ModelProto.SentencePiece.Type`. */
export const PieceType = Object.freeze({
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
});

/** `TrainerSpec.ModelType`: only `UNIGRAM` is supported by `SentencePieceTokenizer`. */
export const SentencePieceModelType = Object.freeze({
  UNIGRAM: 1,
  BPE: 2,
  WORD: 3,
  CHAR: 4,
});

/** The name of a `TrainerSpec.ModelType` value (its number if unknown). */
export function modelTypeName(type) {
  return ['UNIGRAM', 'BPE', 'WORD', 'CHAR'][type - 1] ?? String(type);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LENIENT_UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const ENCODER = new TextEncoder();

/**
 * The text of UTF-8 `bytes` (Kotlin's strict `decodeUtf8`): a BOM is kept, malformed bytes
 * throw a `TypeError` (the callers turn it into their `ArtifactError`).
 */
export function decodeUtf8Strict(bytes) {
  return STRICT_UTF8.decode(bytes);
}

/** The text of `bytes[from, to)`, known to be valid UTF-8 (Kotlin's `String(bytes, UTF_8)`). */
export function decodeUtf8(bytes, from = 0, to = bytes.length) {
  return LENIENT_UTF8.decode(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to));
}

/**
 * The UTF-8 of `text` as Java's `String.toByteArray(Charsets.UTF_8)` writes it: a lone
 * surrogate becomes `?` (TextEncoder would write U+FFFD).
 */
export function encodeUtf8(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return ENCODER.encode(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?'));
  }
  return ENCODER.encode(text);
}

/** One vocabulary entry: its UTF-8 bytes, log-probability score (a float32) and `PieceType`. */
export class SentencePieceEntry {
  constructor(piece, score, type) {
    /** @type {Uint8Array} */
    this.piece = piece;
    this.score = score;
    this.type = type;
  }
}

/** The `TrainerSpec` fields the tokenizer uses (proto defaults when absent). */
export class SentencePieceTrainerSpec {
  constructor() {
    this.modelType = SentencePieceModelType.UNIGRAM;
    this.treatWhitespaceAsSuffix = false;
    this.byteFallback = false;
    /** `unk_surface` bytes if the field is present (even empty), else null: the default ` ⁇ `. */
    this.unkSurface = null;
    this.unkPiece = '';
    this.bosPiece = '';
    this.eosPiece = '';
    this.padPiece = '';
  }
}

/** A `NormalizerSpec` (proto defaults when absent). */
export class SentencePieceNormalizerSpec {
  constructor() {
    this.name = '';
    this.precompiledCharsmap = new Uint8Array(0);
    this.addDummyPrefix = true;
    this.removeExtraWhitespaces = true;
    this.escapeWhitespaces = true;
  }
}

const VARINT = 0;
const FIXED32 = 5;
const LENGTH = 2;

function field(number, wireType) {
  return (number << 3) | wireType;
}

/** A varint's 64 bits as Kotlin's signed `Long`, for messages. */
function longString(lo, hi) {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** A protobuf wire-format reader over `bytes[pos, end)`; every problem is an `ArtifactError`. */
export class ProtoReader {
  constructor(bytes, pos, end, where) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.where = where;
    // The last varint read: its low and high 32 bits, unsigned.
    this.lo = 0;
    this.hi = 0;
  }

  _corrupt(what) {
    return new ArtifactError(`${this.where}: not a SentencePiece model file (${what} at byte ${this.pos})`);
  }

  atEnd() {
    return this.pos >= this.end;
  }

  /**
   * Read a varint into `lo` / `hi` (bits past the 64th dropped, as Kotlin's `Long` drops them);
   * returns `lo`.
   */
  readVarint() {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw this._corrupt('truncated varint');
      const b = this.bytes[this.pos++];
      const v = b & 0x7f;
      if (shift < 32) {
        lo |= v << shift;
        if (shift + 7 > 32) hi |= v >>> (32 - shift);
      } else {
        hi |= v << (shift - 32); // shift 63: only the lowest bit stays, as in a Long
      }
      if ((b & 0x80) === 0) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return this.lo;
      }
      shift += 7;
      if (shift >= 70) throw this._corrupt('varint longer than 10 bytes');
    }
  }

  /** A varint that is not 0 (a `bool`). */
  readBool() {
    this.readVarint();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** A varint enum value if in [low, high], else null. */
  readEnum(low, high) {
    this.readVarint();
    return this.hi === 0 && this.lo >= low && this.lo <= high ? this.lo : null;
  }

  /**
   * A field tag (a signed 32-bit number); field number 0 or more than 32 bits is corrupt
   * (judged on the signed 64-bit value, as the Kotlin code does).
   */
  readTag() {
    this.readVarint();
    const { lo, hi } = this;
    const negative = hi >= 0x80000000;
    if ((hi === 0 && lo < 8) || (hi !== 0 && !negative)) {
      throw this._corrupt(`invalid field tag ${longString(lo, hi)}`);
    }
    return lo | 0;
  }

  /** A little-endian 32-bit float (`intBitsToFloat`). */
  readFloat32() {
    if (this.end - this.pos < 4) throw this._corrupt('truncated fixed32');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  _readLength() {
    this.readVarint();
    const { lo, hi } = this;
    if (hi !== 0 || lo > this.end - this.pos) throw this._corrupt(`length ${longString(lo, hi)} past the end`);
    return lo;
  }

  /** A length-delimited field's bytes (a copy). */
  readBytes() {
    const length = this._readLength();
    const out = this.bytes.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** A length-delimited field as strict UTF-8. */
  readString() {
    return this.utf8(this.readBytes());
  }

  utf8(data) {
    try {
      return decodeUtf8Strict(data);
    } catch {
      throw this._corrupt('string field that is not UTF-8');
    }
  }

  /** A reader over an embedded message. */
  readMessage() {
    const length = this._readLength();
    const sub = new ProtoReader(this.bytes, this.pos, this.pos + length, this.where);
    this.pos += length;
    return sub;
  }

  /** Skip the value of a field with `tag` (an unknown field, or a known one of another wire type). */
  skip(tag) {
    switch (tag & 7) {
      case 0:
        this.readVarint();
        return;
      case 1:
        if (this.end - this.pos < 8) throw this._corrupt('truncated fixed64');
        this.pos += 8;
        return;
      case 2: {
        const length = this._readLength(); // before reading pos: the varint moves it
        this.pos += length;
        return;
      }
      case 3: {
        // a group: skip fields up to its end-group tag
        const number = tag >>> 3;
        for (;;) {
          if (this.atEnd()) throw this._corrupt('unterminated group');
          const inner = this.readTag();
          if ((inner & 7) === 4) {
            if (inner >>> 3 !== number) throw this._corrupt('mismatched end of group');
            return;
          }
          this.skip(inner);
        }
      }
      case 5:
        if (this.end - this.pos < 4) throw this._corrupt('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw this._corrupt(`invalid wire type ${tag & 7}`);
    }
  }
}

function parsePiece(reader) {
  let piece = new Uint8Array(0);
  let score = 0;
  let type = PieceType.NORMAL;
  while (!reader.atEnd()) {
    const tag = reader.readTag();
    if (tag === field(1, LENGTH)) piece = reader.readBytes();
    else if (tag === field(2, FIXED32)) score = reader.readFloat32();
    else if (tag === field(3, VARINT)) type = reader.readEnum(1, 6) ?? type;
    else reader.skip(tag);
  }
  return new SentencePieceEntry(piece, score, type);
}

function parseTrainerSpec(reader, spec) {
  while (!reader.atEnd()) {
    const tag = reader.readTag();
    if (tag === field(3, VARINT)) spec.modelType = reader.readEnum(1, 4) ?? spec.modelType;
    else if (tag === field(24, VARINT)) spec.treatWhitespaceAsSuffix = reader.readBool();
    else if (tag === field(35, VARINT)) spec.byteFallback = reader.readBool();
    else if (tag === field(44, LENGTH)) spec.unkSurface = reader.readBytes();
    else if (tag === field(45, LENGTH)) spec.unkPiece = reader.readString();
    else if (tag === field(46, LENGTH)) spec.bosPiece = reader.readString();
    else if (tag === field(47, LENGTH)) spec.eosPiece = reader.readString();
    else if (tag === field(48, LENGTH)) spec.padPiece = reader.readString();
    else reader.skip(tag);
  }
}

function parseNormalizerSpec(reader, spec) {
  while (!reader.atEnd()) {
    const tag = reader.readTag();
    if (tag === field(1, LENGTH)) spec.name = reader.readString();
    else if (tag === field(2, LENGTH)) spec.precompiledCharsmap = reader.readBytes();
    else if (tag === field(3, VARINT)) spec.addDummyPrefix = reader.readBool();
    else if (tag === field(4, VARINT)) spec.removeExtraWhitespaces = reader.readBool();
    else if (tag === field(5, VARINT)) spec.escapeWhitespaces = reader.readBool();
    else reader.skip(tag);
  }
}

/** The parsed `ModelProto`; `SentencePieceModelProto.parse` throws `ArtifactError` for bytes that are not one. */
export class SentencePieceModelProto {
  /**
   * @param {SentencePieceEntry[]} pieces
   * @param {SentencePieceTrainerSpec} trainerSpec
   * @param {SentencePieceNormalizerSpec} normalizerSpec
   * @param {SentencePieceNormalizerSpec|null} denormalizerSpec null when the file has none.
   */
  constructor(pieces, trainerSpec, normalizerSpec, denormalizerSpec) {
    this.pieces = pieces;
    this.trainerSpec = trainerSpec;
    this.normalizerSpec = normalizerSpec;
    this.denormalizerSpec = denormalizerSpec;
  }

  /** Parse the bytes (`Uint8Array` or `ArrayBuffer`) of a `.model` file; `where` names it in errors. */
  static parse(data, where) {
    // A plain Uint8Array view (a Node Buffer's `slice` would not copy).
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    const reader = new ProtoReader(bytes, 0, bytes.length, where);
    const pieces = [];
    const trainer = new SentencePieceTrainerSpec();
    const normalizer = new SentencePieceNormalizerSpec();
    let denormalizer = null;
    while (!reader.atEnd()) {
      const tag = reader.readTag();
      if (tag === field(1, LENGTH)) pieces.push(parsePiece(reader.readMessage()));
      else if (tag === field(2, LENGTH)) parseTrainerSpec(reader.readMessage(), trainer);
      else if (tag === field(3, LENGTH)) parseNormalizerSpec(reader.readMessage(), normalizer);
      else if (tag === field(5, LENGTH)) {
        const spec = denormalizer ?? new SentencePieceNormalizerSpec();
        parseNormalizerSpec(reader.readMessage(), spec);
        denormalizer = spec;
      } else reader.skip(tag);
    }
    return new SentencePieceModelProto(pieces, trainer, normalizer, denormalizer);
  }
}

// --- UTF-8 as sentencepiece reads it (`src/util.h`, `src/util.cc`). ---

/** `string_util::OneCharLen`: the sequence length announced by a lead byte (1 for others). */
export function oneCharLen(lead) {
  const high = lead >>> 4;
  if (high <= 11) return 1;
  if (high <= 13) return 2;
  return high === 14 ? 3 : 4;
}

function isTrailByte(b) {
  return (b & 0xc0) === 0x80;
}

function isValidCodepoint(c) {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/**
 * `string_util::IsValidDecodeUTF8` at `bytes[pos, end)`: the byte length of the valid
 * character there, or -1 if the bytes there are malformed (sentencepiece then consumes one byte).
 * Surrogates, overlong forms and code points above U+10FFFF are malformed.
 */
export function validUtf8CharLength(bytes, pos, end) {
  const len = end - pos;
  const b0 = bytes[pos];
  if (b0 < 0x80) return 1;
  if (len >= 2 && (b0 & 0xe0) === 0xc0) {
    const cp = ((b0 & 0x1f) << 6) | (bytes[pos + 1] & 0x3f);
    return isTrailByte(bytes[pos + 1]) && cp >= 0x80 && isValidCodepoint(cp) ? 2 : -1;
  }
  if (len >= 3 && (b0 & 0xf0) === 0xe0) {
    const cp = ((b0 & 0x0f) << 12) | ((bytes[pos + 1] & 0x3f) << 6) | (bytes[pos + 2] & 0x3f);
    const ok = isTrailByte(bytes[pos + 1]) && isTrailByte(bytes[pos + 2]) && cp >= 0x800 && isValidCodepoint(cp);
    return ok ? 3 : -1;
  }
  if (len >= 4 && (b0 & 0xf8) === 0xf0) {
    const cp =
      ((b0 & 0x07) << 18) | ((bytes[pos + 1] & 0x3f) << 12) | ((bytes[pos + 2] & 0x3f) << 6) | (bytes[pos + 3] & 0x3f);
    const ok =
      isTrailByte(bytes[pos + 1]) &&
      isTrailByte(bytes[pos + 2]) &&
      isTrailByte(bytes[pos + 3]) &&
      cp >= 0x10000 &&
      isValidCodepoint(cp);
    return ok ? 4 : -1;
  }
  return -1;
}

export const REPLACEMENT_CHARACTER_UTF8 = Uint8Array.of(0xef, 0xbf, 0xbd);

/** U+2581 LOWER ONE EIGHTH BLOCK, sentencepiece's escaped space. */
export const SPACE_SYMBOL_UTF8 = Uint8Array.of(0xe2, 0x96, 0x81);

const ONE_SPACE_UTF8 = Uint8Array.of(0x20);

/** A growable byte buffer. */
export class ByteBuilder {
  constructor(capacity = 16) {
    this.data = new Uint8Array(Math.max(capacity, 16));
    this.size = 0;
  }

  _grow(needed) {
    const data = new Uint8Array(Math.max(this.data.length * 2, needed));
    data.set(this.data.subarray(0, this.size));
    this.data = data;
  }

  /** Append one byte. */
  push(b) {
    if (this.size === this.data.length) this._grow(this.size + 1);
    this.data[this.size++] = b;
  }

  /** Append `src[from, to)`. */
  append(src, from = 0, to = src.length) {
    const n = to - from;
    if (this.size + n > this.data.length) this._grow(this.size + n);
    this.data.set(from === 0 && to === src.length ? src : src.subarray(from, to), this.size);
    this.size += n;
  }

  endsWith(suffix) {
    if (this.size < suffix.length) return false;
    for (let i = 0; i < suffix.length; i++) if (this.data[this.size - suffix.length + i] !== suffix[i]) return false;
    return true;
  }

  /** A copy of the bytes. */
  toBytes() {
    return this.data.slice(0, this.size);
  }
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * A set of byte strings searched by prefix, as sentencepiece searches its darts-clone tries of
 * pieces and of user-defined symbols: the keys, sorted bytewise, are the trie.
 */
export class SortedKeyTrie {
  /**
   * @param {Uint8Array[]} keys
   * @param {ArrayLike<number>} values one per key.
   */
  constructor(keys, values) {
    const order = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a], keys[b]) || a - b);
    this.keys = order.map((i) => keys[i]);
    this.values = Int32Array.from(order, (i) => values[i]);
  }

  get isEmpty() {
    return this.keys.length === 0;
  }

  /**
   * Calls `found(endPosition, value)` for every key that is a prefix of `text[start, end)`,
   * shortest first (darts-clone's `commonPrefixSearch` / `traverse` order).
   */
  forEachPrefix(text, start, end, found) {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    let depth = 0;
    while (start + depth < end && lo < hi) {
      const b = text[start + depth];
      if (keys[lo].length === depth) lo++; // the key equal to the prefix so far sorts first
      lo = this._lowerBound(lo, hi, depth, b);
      hi = this._lowerBound(lo, hi, depth, b + 1);
      depth++;
      if (lo < hi && keys[lo].length === depth) found(start + depth, this.values[lo]);
    }
  }

  /** The first index in [lo, hi) whose key's byte at `depth` is >= `b` (all keys there are longer than `depth`). */
  _lowerBound(lo, hi, depth, b) {
    const keys = this.keys;
    let low = lo;
    let high = hi;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keys[mid][depth] < b) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * A darts-clone double array (`third_party/darts_clone/darts.h`) as stored in a precompiled
 * charsmap: 32-bit little-endian units. `validate` is darts-clone's `validate`, which
 * sentencepiece 0.2.3 runs on every charsmap it loads; reads outside the array throw
 * `ArtifactError` all the same.
 */
export class DoubleArrayTrie {
  constructor(blob, from, byteLength, where) {
    const count = Math.floor(byteLength / 4);
    const units = new Int32Array(count);
    for (let i = 0, p = from; i < count; i++, p += 4) {
      units[i] = blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16) | (blob[p + 3] << 24);
    }
    this.units = units;
    this.where = where;
    // The last longestPrefix match: its length and value.
    this.matchLength = 0;
    this.matchValue = 0;
  }

  _unit(pos) {
    if (pos < 0 || pos >= this.units.length) {
      throw new ArtifactError(`${this.where}: corrupt normalization charsmap (trie)`);
    }
    return this.units[pos];
  }

  static _hasLeaf(unit) {
    return ((unit >>> 8) & 1) === 1;
  }

  static _value(unit) {
    return unit & 0x7fffffff;
  }

  /** `label()` as an unsigned 32-bit value: the byte, or >= 2^31 for a value unit. */
  static _label(unit) {
    return (unit & (0x80000000 | 0xff)) >>> 0;
  }

  static _offset(unit) {
    return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
  }

  /** `DoubleArrayImpl::validate(max_value_limit)`: every child block and value in range. */
  validate(maxValue) {
    const { _label: label, _hasLeaf: hasLeaf, _offset: offset, _value: value } = DoubleArrayTrie;
    const units = this.units;
    const size = units.length;
    if (size === 0) return false;
    const root = units[0];
    if (label(root) !== 0 || hasLeaf(root) || offset(root) === 0 || (offset(root) | 0xff) >= size) return false;
    for (let i = 1; i < size; i++) {
      const u = units[i];
      if (label(u) <= 0xff) {
        if (((i ^ offset(u)) | 0xff) >= size) return false;
        if (hasLeaf(u) && label(units[i ^ offset(u)]) <= 0xff) return false;
      } else if (maxValue >= 0 && value(u) >= maxValue) {
        return false;
      }
    }
    return true;
  }

  /**
   * `commonPrefixSearch(text + start, results, maxResults, end - start)` reduced to what the
   * normalizer uses: whether one of the first `maxResults` keys is a prefix of
   * `text[start, end)`; the longest of them is left in `matchLength` / `matchValue`.
   */
  longestPrefix(text, start, end, maxResults) {
    const { _label: label, _hasLeaf: hasLeaf, _offset: offset, _value: value } = DoubleArrayTrie;
    let matched = false;
    let found = 0;
    let nodePos = offset(this._unit(0));
    for (let i = start; i < end; i++) {
      const c = text[i];
      nodePos ^= c;
      const u = this._unit(nodePos);
      if (label(u) !== c) return matched;
      nodePos ^= offset(u);
      if (hasLeaf(u)) {
        if (found < maxResults) {
          this.matchLength = i + 1 - start;
          this.matchValue = value(this._unit(nodePos));
          matched = true;
        }
        found++;
      }
    }
    return matched;
  }
}

const MAX_TRIE_RESULTS = 32; // Normalizer::kMaxTrieResultsSize
const MAX_USER_DEFINED_RESULTS = 64; // PrefixMatcher's kResultSize
const SPACE = 0x20;

function readUint32LE(blob, p) {
  return (blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16) | (blob[p + 3] << 24)) >>> 0;
}

/**
 * sentencepiece's `normalizer::Normalizer` (`src/normalizer.cc`, 0.2.3) on UTF-8 bytes:
 * rule-based replacement with the precompiled charsmap (the longest of the first 32 matching
 * rules; user-defined symbols are matched first and copied verbatim), malformed UTF-8 -> U+FFFD
 * one byte at a time, leading/trailing/repeated whitespace removal, the dummy prefix (or suffix)
 * space, and spaces escaped as `▁`. A charsmap is checked at construction as 0.2.3 checks it
 * (`DecodePrecompiledCharsMap`, darts-clone `validate`); a bad one is an `ArtifactError`.
 */
export class SentencePieceNormalizer {
  /**
   * @param {SentencePieceNormalizerSpec} spec
   * @param {boolean} treatWhitespaceAsSuffix
   * @param {SortedKeyTrie|null} userDefined the user-defined symbols (`PrefixMatcher`); null
   *     for the denormalizer.
   * @param {string} where names the model in errors.
   */
  constructor(spec, treatWhitespaceAsSuffix, userDefined, where) {
    this.spec = spec;
    this.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
    this.userDefined = userDefined;
    const blob = spec.precompiledCharsmap;
    if (blob.length === 0) {
      this.trie = null;
      this.normalized = blob;
      this.normalizedFrom = 0;
    } else {
      // <trie size (uint32 LE)><double array><normalized strings> (DecodePrecompiledCharsMap)
      const broken = (why) => new ArtifactError(`${where}: ${why}`);
      if (blob.length <= 4) throw broken('Blob for normalization rule is broken.');
      const trieSize = readUint32LE(blob, 0);
      if (trieSize >= blob.length - 4) throw broken('Trie data size exceeds the input blob size.');
      if (trieSize < 1024 || (trieSize & 0x3ff) !== 0) throw broken('Trie data size is not divisible by 1024.');
      this.normalizedFrom = 4 + trieSize;
      if (blob[blob.length - 1] !== 0) throw broken('normalized block must be null terminated.');
      const array = new DoubleArrayTrie(blob, 4, trieSize, where);
      if (!array.validate(blob.length - this.normalizedFrom)) throw broken('precompiled_charsmap is invalid.');
      this.trie = array;
      this.normalized = blob;
    }
    // normalizePrefix's result: the replacement is source[from, to); `consumed` input bytes.
    this._source = this.normalized;
    this._from = 0;
    this._to = 0;
    this._consumed = 0;
  }

  /** `Normalizer::NormalizePrefix` of `input[pos, end)` (non-empty) into the fields above. */
  _normalizePrefix(input, pos, end) {
    const userDefined = this.userDefined;
    if (userDefined !== null && !userDefined.isEmpty) {
      // PrefixMatcher::PrefixMatch: the longest of the first 64 matching symbols.
      let longest = 0;
      let found = 0;
      userDefined.forEachPrefix(input, pos, end, (stop) => {
        if (found++ < MAX_USER_DEFINED_RESULTS) longest = Math.max(longest, stop - pos);
      });
      if (longest > 0) {
        this._setResult(input, pos, pos + longest, longest);
        return;
      }
    }
    const trie = this.trie;
    if (trie !== null && trie.longestPrefix(input, pos, end, MAX_TRIE_RESULTS)) {
      const normalized = this.normalized;
      const start = this.normalizedFrom + trie.matchValue;
      if (start < normalized.length) {
        let stop = start;
        while (stop < normalized.length && normalized[stop] !== 0) stop++;
        this._setResult(normalized, start, stop, trie.matchLength);
        return;
      }
    }
    const length = validUtf8CharLength(input, pos, end);
    if (length < 0) this._setResult(REPLACEMENT_CHARACTER_UTF8, 0, 3, 1);
    else this._setResult(input, pos, pos + length, length);
  }

  _setResult(source, from, to, consumed) {
    this._source = source;
    this._from = from;
    this._to = to;
    this._consumed = consumed;
  }

  _resultIsOneSpace() {
    return this._to - this._from === 1 && this._source[this._from] === SPACE;
  }

  /** `Normalizer::Normalize` of UTF-8 `input` (any bytes); the result is valid UTF-8. */
  normalize(input) {
    const spec = this.spec;
    const end = input.length;
    let pos = 0;
    if (end === 0) return new Uint8Array(0);
    if (spec.removeExtraWhitespaces) {
      // ignores heading space
      while (pos < end) {
        this._normalizePrefix(input, pos, end);
        if (!this._resultIsOneSpace()) break;
        pos += this._consumed;
      }
    }
    if (pos === end) return new Uint8Array(0); // all chars are whitespace
    const out = new ByteBuilder(3 * (end - pos));
    const space = spec.escapeWhitespaces ? SPACE_SYMBOL_UTF8 : ONE_SPACE_UTF8;
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) out.append(space);
    let isPrevSpace = spec.removeExtraWhitespaces;
    while (pos < end) {
      this._normalizePrefix(input, pos, end);
      const source = this._source;
      const to = this._to;
      let start = this._from;
      while (isPrevSpace && start < to && source[start] === SPACE) start++;
      if (start < to) {
        for (let i = start; i < to; i++) {
          if (spec.escapeWhitespaces && source[i] === SPACE) out.append(SPACE_SYMBOL_UTF8);
          else out.push(source[i]);
        }
        isPrevSpace = source[to - 1] === SPACE;
      }
      pos += this._consumed;
      if (!spec.removeExtraWhitespaces) isPrevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      // ignores trailing space
      while (out.endsWith(space)) out.size -= space.length;
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) out.append(space);
    return out.toBytes();
  }
}
