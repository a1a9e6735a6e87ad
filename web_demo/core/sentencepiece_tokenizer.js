/**
 * A unigram SentencePiece tokenizer in plain JavaScript (OPUS-MT / Marian `source.spm`,
 * `target.spm`), giving the ids, pieces and decoded text of the Python `sentencepiece` library
 * 0.2.x. A port of the Kotlin core's `SentencePieceTokenizer.kt`, written against the C++
 * sources of 0.2.3 (whose unigram scoring differs from 0.2.0's). Each step follows the C++ code
 * it names:
 *
 * 1. Normalize (`normalizer.cc`, `Normalizer::Normalize`): see `SentencePieceNormalizer`
 *    (sentencepiece_model.js), the model's own precompiled charsmap (`nmt_nfkc` and the like),
 *    never the engine's `String.prototype.normalize`.
 * 2. Segment (`unigram_model.cc`, `Model::EncodeOptimized`): a Viterbi over UTF-8 byte
 *    positions. Every vocabulary piece starting at a character boundary is a candidate (UNUSED
 *    pieces excepted), scoring its score, or `0.1 * (length_in_bytes - 1)` for a user-defined
 *    symbol; a character that no single-character piece covers gets an unknown node scoring
 *    `min_score - 10` (min_score: the lowest NORMAL score). Path scores are float32 sums
 *    (`Math.fround`, a `Float32Array`), the first of equal paths wins, and once a path score
 *    passes ±100000 the stored scores are shifted back to 0 as the C++ code does
 *    (kScoreResetThreshold).
 * 3. Emit (`sentencepiece_processor.cc`, `SentencePieceProcessor::EncodeOptimized`): with
 *    `byte_fallback` an unknown piece becomes its UTF-8 bytes' `<0xXX>` pieces; otherwise
 *    consecutive unknown pieces merge into one (its text the normalized characters, its id the
 *    unknown id).
 *
 * Decoding follows `SentencePieceProcessor::DecodeOptimized`: pieces map to ids by `PieceToId`
 * (unknown pieces to the unknown id), ids to pieces by index; control pieces vanish; the unknown
 * piece itself becomes `unk_surface` (default " ⁇ ") while another unknown piece is copied
 * verbatim; runs of byte pieces are decoded as UTF-8 (each malformed byte -> U+FFFD); `▁`
 * becomes a space; while nothing has been output, one leading `▁` of a piece is dropped when the
 * model adds a dummy prefix or removes extra whitespace; the `denormalizer_spec` charsmap, if
 * any, is applied last.
 *
 * Not supported (an `ArtifactError` at load, never a silent difference): model types other than
 * UNIGRAM, and pieces or string fields that are not UTF-8 (the Python library cannot return
 * them as `str` either). Not implemented: sampling and n-best encoding, `encode` options
 * (`add_bos`, `add_eos`, `reverse`, `emit_unk_piece`, extra options), and the offsets of pieces
 * in the original text. Text with a lone UTF-16 surrogate is not Unicode and cannot be encoded
 * as UTF-8: an `InputError` (the Python library raises too). Bytes that are not UTF-8 can be
 * given as a `Uint8Array`, which is treated as the library treats Python `bytes`.
 */

import { ArtifactError, InputError, ValueError } from './errors.js';
import {
  ByteBuilder,
  PieceType,
  REPLACEMENT_CHARACTER_UTF8,
  SentencePieceModelProto,
  SentencePieceModelType,
  SentencePieceNormalizer,
  SortedKeyTrie,
  decodeUtf8,
  decodeUtf8Strict,
  encodeUtf8,
  modelTypeName,
  oneCharLen,
  validUtf8CharLength,
} from './sentencepiece_model.js';

const UNK_PENALTY = 10.0;
const SCORE_RESET_THRESHOLD = 100000.0;
const MAX_PIECE_BYTES = 8000;
const NULL_PIECE = '\u0000';
const SPACE_SYMBOL = '\u2581';
const DEFAULT_UNK_SURFACE = ' \u2047 ';
/** C++'s FLT_MAX, the minimum score when there is no NORMAL piece. */
const FLT_MAX = 3.4028234663852886e38;
const BYTE_PIECES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
const BYTE_OF_PIECE = new Map(BYTE_PIECES.map((piece, b) => [piece, b]));

/** `PieceToByte`: 0..255 for `<0x00>`..`<0xFF>` (upper-case hex), else -1. */
function pieceToByte(piece) {
  return BYTE_OF_PIECE.get(piece) ?? -1;
}

/** UTF-8 of `text`; `InputError` for a lone surrogate (not Unicode text). */
function utf8Of(text) {
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
    const hex = c.toString(16).toUpperCase().padStart(4, '0');
    throw new InputError(`text has a lone surrogate U+${hex} at index ${i}: not valid Unicode`);
  }
  return encodeUtf8(text);
}

/** A string is UTF-8 encoded; a `Uint8Array` (or other byte view) is taken as it is. */
function inputBytes(text) {
  return typeof text === 'string' ? utf8Of(text) : text instanceof Uint8Array ? text : new Uint8Array(text);
}

/**
 * A SentencePiece unigram model: `encode*` as `SentencePieceProcessor.encode`, `decode*` as
 * `decode_pieces` / `decode_ids`, ids being the model's own piece indices.
 */
export class SentencePieceTokenizer {
  /**
   * @param {SentencePieceModelProto} model the parsed model file.
   * @param {string} where names it in errors.
   * @throws {ArtifactError} if the model is not UNIGRAM or is inconsistent (the checks of
   *     `SentencePieceProcessor::Load`, `ModelInterface::InitializePieces`, `unigram::Model` and
   *     the normalizer's charsmap validation).
   */
  constructor(model, where = 'SentencePiece model') {
    const trainer = model.trainerSpec;
    if (trainer.modelType !== SentencePieceModelType.UNIGRAM) {
      throw new ArtifactError(
        `${where}: model_type ${modelTypeName(trainer.modelType)} is not supported ` +
          '(only UNIGRAM SentencePiece models)',
      );
    }
    const count = model.pieces.length;
    const pieceStrings = model.pieces.map((entry, i) => {
      try {
        return decodeUtf8Strict(entry.piece);
      } catch {
        throw new ArtifactError(`${where}: piece ${i} is not UTF-8`);
      }
    });
    const scores = Float32Array.from(model.pieces, (entry) => entry.score);
    // Load(): with byte_fallback, a "\0" piece is made UNUSED.
    const types = Int32Array.from(model.pieces, (entry, i) =>
      trainer.byteFallback && pieceStrings[i] === NULL_PIECE ? PieceType.UNUSED : entry.type,
    );
    for (const entry of model.pieces) {
      if (entry.piece.length >= MAX_PIECE_BYTES) throw new ArtifactError(`${where}: piece is too long.`);
    }
    /** NORMAL, USER_DEFINED, UNUSED pieces. */
    const pieceIds = new Map();
    /** UNKNOWN, CONTROL, BYTE pieces. */
    const reservedIds = new Map();
    const userDefined = [];
    const byteFound = new Int32Array(256).fill(-1);
    let unk = -1;
    for (let i = 0; i < count; i++) {
      const piece = pieceStrings[i];
      const type = types[i];
      if (piece.length === 0) throw new ArtifactError(`${where}: piece must not be empty.`);
      if (piece === NULL_PIECE && type === PieceType.UNUSED) continue;
      if (piece.includes('\u0000')) throw new ArtifactError(`${where}: piece must not include null character.`);
      const normal = type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
      const map = normal ? pieceIds : reservedIds;
      if (map.has(piece)) throw new ArtifactError(`${where}: ${piece} is already defined.`);
      map.set(piece, i);
      if (type === PieceType.USER_DEFINED) userDefined.push(model.pieces[i].piece);
      if (type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new ArtifactError(`${where}: unk is already defined.`);
        unk = i;
      }
      if (type === PieceType.BYTE) {
        if (!trainer.byteFallback) {
          throw new ArtifactError(`${where}: byte piece ${piece} is found although \`byte_fallback\` is false.`);
        }
        const byte = pieceToByte(piece);
        if (byte < 0) throw new ArtifactError(`${where}: byte piece ${piece} is invalid.`);
        byteFound[byte] = i;
      }
    }
    if (unk < 0 && !trainer.byteFallback) throw new ArtifactError(`${where}: unk is not defined.`);
    if (trainer.byteFallback && byteFound.some((id) => id < 0)) {
      throw new ArtifactError(`${where}: there are not 256 byte pieces although \`byte_fallback\` is true.`);
    }
    if (scores.some((s) => !Number.isFinite(s))) throw new ArtifactError(`${where}: score is NaN or Inf.`);
    if (pieceIds.size === 0) throw new ArtifactError(`${where}: no pieces are loaded.`);

    this._pieceStrings = pieceStrings;
    this._scores = scores;
    this._types = types;
    this._pieceIds = pieceIds;
    this._reservedIds = reservedIds;
    /** The UNKNOWN piece; -1 if none (allowed with byte_fallback). */
    this._modelUnkId = unk;
    /** The id of each byte's piece, with byte_fallback; else null. */
    this._byteIds = trainer.byteFallback ? byteFound : null;

    let low = FLT_MAX; // FLT_MAX when there is no NORMAL piece, as in C++
    for (let i = 0; i < count; i++) if (types[i] === PieceType.NORMAL) low = Math.min(low, scores[i]);
    this._minScore = low;

    // The pieces the Viterbi can use: PieceToId's map without the UNUSED pieces.
    const keys = [];
    const values = [];
    for (const id of pieceIds.values()) {
      if (types[id] !== PieceType.UNUSED) {
        keys.push(model.pieces[id].piece);
        values.push(id);
      }
    }
    this._trie = new SortedKeyTrie(keys, values);
    const matcher = new SortedKeyTrie(userDefined, new Int32Array(userDefined.length));
    const suffix = trainer.treatWhitespaceAsSuffix;
    this._normalizer = new SentencePieceNormalizer(model.normalizerSpec, suffix, matcher, where);
    const denormalizerSpec = model.denormalizerSpec;
    this._denormalizer =
      denormalizerSpec !== null && denormalizerSpec.precompiledCharsmap.length > 0
        ? new SentencePieceNormalizer(denormalizerSpec, false, null, `${where} (denormalizer)`)
        : null;
    const surface = trainer.unkSurface;
    if (surface === null) {
      this._unkSurface = DEFAULT_UNK_SURFACE;
    } else {
      try {
        this._unkSurface = decodeUtf8Strict(surface);
      } catch {
        throw new ArtifactError(`${where}: unk_surface is not UTF-8`);
      }
    }
    this._removeExtraWhitespaces = model.normalizerSpec.removeExtraWhitespaces;
    /** add_dummy_prefix || remove_extra_whitespaces */
    this._stripFirstSpace = model.normalizerSpec.addDummyPrefix || this._removeExtraWhitespaces;

    /** `unk_id()`: the id of the `unk_piece` (`<unk>`) if it is the UNKNOWN piece, else -1. */
    this.unkId = this._specialId(trainer.unkPiece, '<unk>', PieceType.UNKNOWN);
    /** `bos_id()`: the id of the CONTROL piece `bos_piece` (`<s>`), or -1. */
    this.bosId = this._specialId(trainer.bosPiece, '<s>', PieceType.CONTROL);
    /** `eos_id()`: the id of the CONTROL piece `eos_piece` (`</s>`), or -1. */
    this.eosId = this._specialId(trainer.eosPiece, '</s>', PieceType.CONTROL);
    /** `pad_id()`: the id of the CONTROL piece `pad_piece` (`<pad>`), or -1. */
    this.padId = this._specialId(trainer.padPiece, '<pad>', PieceType.CONTROL);
  }

  /** A tokenizer for the bytes (`Uint8Array`) of a `.model` / `.spm` file; `where` names it in errors. */
  static fromBytes(bytes, where) {
    return new SentencePieceTokenizer(SentencePieceModelProto.parse(bytes, where), where);
  }

  _specialId(piece, fallback, type) {
    const id = this.pieceToId(piece === '' ? fallback : piece);
    return id >= 0 && this._types[id] === type ? id : -1;
  }

  /** The number of pieces (ids are 0 until this). */
  get vocabularySize() {
    return this._pieceStrings.length;
  }

  /**
   * The id of `piece` (`piece_to_id`): the unknown piece's id if the model does not have it,
   * -1 if the model has no unknown piece either (possible with `byte_fallback`).
   */
  pieceToId(piece) {
    return this._reservedIds.get(piece) ?? this._pieceIds.get(piece) ?? this._modelUnkId;
  }

  /** The piece of `id`; `ValueError` if out of range. */
  idToPiece(id) {
    if (!Number.isInteger(id) || id < 0 || id >= this._pieceStrings.length) {
      throw new ValueError(`piece id is out of range: ${id} (vocabulary size ${this._pieceStrings.length})`);
    }
    return this._pieceStrings[id];
  }

  /** The `PieceType` of `id` (NORMAL, UNKNOWN, CONTROL, ...). */
  pieceType(id) {
    this.idToPiece(id);
    return this._types[id];
  }

  _isType(id, type) {
    return id >= 0 && id < this._types.length && this._types[id] === type;
  }

  /** `IsUnknownId`: the processor's unknown id (-1 included) or an UNKNOWN piece. */
  _isUnknown(id) {
    return id === this.unkId || this._isType(id, PieceType.UNKNOWN);
  }

  /** `normalize(text)`: the text the pieces are cut from (spaces escaped as `▁`). */
  normalize(text) {
    return decodeUtf8(this._normalizer.normalize(utf8Of(text)));
  }

  /**
   * The pieces of `text` (`encode(text, out_type=str)`); a `Uint8Array` is taken as UTF-8,
   * malformed bytes included (`encode(bytes, out_type=str)`).
   */
  encodeAsPieces(text) {
    return this._encode(inputBytes(text)).pieces;
  }

  /** The ids of `text` (`encode(text)`); a `Uint8Array` as in `encodeAsPieces`. */
  encodeAsIds(text) {
    return this._encode(inputBytes(text)).ids;
  }

  /** The text of `pieces` (`decode_pieces`); pieces not in the model are allowed. */
  decodePieces(pieces) {
    const list = [...pieces];
    return this._decode(
      list,
      list.map((piece) => this.pieceToId(piece)),
    );
  }

  /** The text of `ids` (`decode_ids`); `ValueError` for an id out of range. */
  decodeIds(ids) {
    const list = Array.from(ids, Number);
    return this._decode(
      list.map((id) => this.idToPiece(id)),
      list,
    );
  }

  /** `DecodeOptimized` of pieces with their ids. */
  _decode(pieces, ids) {
    const text = new ByteBuilder();
    const byteQueue = new ByteBuilder();
    let isBosWs = true; // whether a leading `▁` may still be dropped
    for (let i = 0; i < pieces.length; i++) {
      const id = ids[i];
      const piece = pieces[i];
      if (this._isType(id, PieceType.BYTE)) {
        byteQueue.push(pieceToByte(piece));
        continue;
      }
      appendBytes(byteQueue, text);
      if (text.size > 0) isBosWs = false;
      if (this._isType(id, PieceType.CONTROL)) continue;
      let body = piece;
      let hasBosWs = false;
      if (isBosWs && this._stripFirstSpace && body.startsWith(SPACE_SYMBOL)) {
        body = body.slice(SPACE_SYMBOL.length);
        hasBosWs = !this._removeExtraWhitespaces; // then every leading `▁` piece is dropped
      }
      let out;
      if (!this._isUnknown(id)) out = body.replaceAll(SPACE_SYMBOL, ' ');
      else if (id >= 0 && this._pieceStrings[id] === piece) out = this._unkSurface;
      else out = piece;
      text.append(encodeUtf8(out));
      if (hasBosWs || text.size > 0) isBosWs = false;
    }
    appendBytes(byteQueue, text);
    const bytes = text.toBytes();
    return decodeUtf8(this._denormalizer !== null ? this._denormalizer.normalize(bytes) : bytes);
  }

  /** Normalize, segment and emit: `{pieces, ids}`. */
  _encode(input) {
    const normalized = this._normalizer.normalize(input);
    const pieces = [];
    const ids = [];
    const byteIds = this._byteIds;
    let isPrevUnknown = false;
    let mergedStart = 0; // start of the last piece, when it is a mergeable unknown piece
    for (const [start, end, id] of this._viterbi(normalized)) {
      if (this._isType(id, PieceType.CONTROL)) {
        // unreachable: CONTROL pieces are not in the trie
        pieces.push(decodeUtf8(normalized, start, end));
        ids.push(id);
        isPrevUnknown = false;
        continue;
      }
      const unknown = this._isUnknown(id);
      if (unknown && byteIds !== null) {
        for (let i = start; i < end; i++) {
          const b = normalized[i];
          pieces.push(BYTE_PIECES[b]);
          ids.push(byteIds[b]);
        }
      } else if (unknown && isPrevUnknown) {
        pieces[pieces.length - 1] = decodeUtf8(normalized, mergedStart, end);
      } else {
        pieces.push(decodeUtf8(normalized, start, end));
        ids.push(id);
        mergedStart = start;
      }
      isPrevUnknown = unknown;
    }
    return { pieces, ids };
  }

  /** `Model::EncodeOptimized`: the best segmentation of `text` as `[start, end, id]` byte ranges. */
  _viterbi(text) {
    const size = text.length;
    if (size === 0) return [];
    const types = this._types;
    const scores = this._scores;
    const bestScore = new Float32Array(size + 1);
    const startsAt = new Int32Array(size + 1).fill(-1);
    const bestId = new Int32Array(size + 1).fill(-1);
    const unkScore = Math.fround(this._minScore - UNK_PENALTY);
    let maxFrontier = 0;
    let start = 0;
    let tillHere = 0;
    let charLength = 0;
    let hasSingleNode = false;
    const visit = (stop, id) => {
      maxFrontier = Math.max(maxFrontier, stop);
      const length = stop - start;
      // GetUserDefinedScore: a double, returned as float.
      const score = types[id] === PieceType.USER_DEFINED ? Math.fround(0.1 * (length - 1)) : scores[id];
      const candidate = Math.fround(score + tillHere);
      if (startsAt[stop] === -1 || candidate > bestScore[stop]) {
        bestScore[stop] = candidate;
        startsAt[stop] = start;
        bestId[stop] = id;
      }
      if (length === charLength) hasSingleNode = true;
    };
    while (start < size) {
      tillHere = bestScore[start];
      if (tillHere < -SCORE_RESET_THRESHOLD || tillHere > SCORE_RESET_THRESHOLD) {
        const offset = tillHere;
        for (let i = start; i <= maxFrontier; i++) {
          if (i === start || startsAt[i] !== -1) bestScore[i] -= offset; // float32 store
        }
        tillHere = 0;
      }
      charLength = Math.min(oneCharLen(text[start]), size - start);
      hasSingleNode = false;
      this._trie.forEachPrefix(text, start, size, visit);
      if (!hasSingleNode) {
        const stop = start + charLength;
        maxFrontier = Math.max(maxFrontier, stop);
        const candidate = Math.fround(unkScore + tillHere);
        if (startsAt[stop] === -1 || candidate > bestScore[stop]) {
          bestScore[stop] = candidate;
          startsAt[stop] = start;
          bestId[stop] = this._modelUnkId;
        }
      }
      start += charLength;
    }
    const segments = [];
    for (let end = size; end > 0; end = startsAt[end]) segments.push([startsAt[end], end, bestId[end]]);
    return segments.reverse();
  }
}

/** `ProcessByteQueue`: the queued bytes as UTF-8 into `text`, U+FFFD per malformed byte. */
function appendBytes(queue, text) {
  let offset = 0;
  while (offset < queue.size) {
    const length = validUtf8CharLength(queue.data, offset, queue.size);
    if (length < 0) {
      text.append(REPLACEMENT_CHARACTER_UTF8);
      offset += 1;
    } else {
      text.append(queue.data, offset, offset + length);
      offset += length;
    }
  }
  queue.size = 0;
}
