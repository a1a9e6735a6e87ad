/**
 * Text <-> ids with a SentencePiece model and a separate piece vocabulary: the tokenizer of the
 * `sentencepiece` tokenizer kind (imported Marian / OPUS-MT models). A port of the Kotlin core's
 * `MarianTokenizer.kt`, the twin of the Python runtime's
 * `ondevice.sentencepiece_tokenizer.SentencePieceTokenizer`. It is named after transformers'
 * `MarianTokenizer`, whose rules (transformers 5) it follows, because the name
 * `SentencePieceTokenizer` is the raw SentencePiece model it uses to cut text into pieces
 * (sentencepiece_tokenizer.js).
 *
 * The model's ids are not its SentencePiece ids: the vocabulary (one piece per line of
 * `vocabulary.txt`, line number = id) gives the pieces' ids.
 *
 * - `tokenize`: the text is split around the special tokens it contains (`MARIAN_SPECIAL_PIECES`,
 *   kept whole); in each other segment a leading language code `>>xx<<` (up to the first `<<`)
 *   is a token of its own and the rest is cut into pieces by the SentencePiece model
 *   (`encodeAsPieces`). Pieces missing from the vocabulary become `unkToken`. With `addEnd`,
 *   `endId` is appended.
 * - `detokenize`: `specialIds` are skipped, the pieces are joined by the model (`decodePieces`),
 *   `▁` becomes a space and the ends are stripped (Python's `str.strip`); with `cleanUpSpaces`,
 *   transformers' `clean_up_tokenization` follows (" ." -> ".", " n't" -> "n't", ...).
 */

import { ArtifactError, ValueError } from './errors.js';
import { pyRepr, pythonStrip } from './python.js';
import { decodeUtf8Strict } from './sentencepiece_model.js';

/** The special tokens `MarianTokenizer.pieces` keeps whole (transformers' `MarianTokenizer`). */
export const MARIAN_SPECIAL_PIECES = Object.freeze(['</s>', '<unk>', '<pad>']);

/** transformers' `clean_up_tokenization`: replacements applied in this order. */
const CLEAN_UP = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

const SPACE_SYMBOL = '\u2581';

export class MarianTokenizer {
  /**
   * @param {import('./sentencepiece_tokenizer.js').SentencePieceTokenizer} model the
   *     SentencePiece model of this side (`source.spm` or `target.spm`).
   * @param {string[]} vocabulary the pieces; a piece's id is its index. Unique, containing
   *     `unkToken`.
   * @param {object} [options]
   * @param {Iterable<number>} [options.specialIds] ids never written by `detokenize` (padding,
   *     unknown, start, end).
   * @param {string} [options.unkToken] the piece whose id unknown pieces get.
   * @param {number|null} [options.endId] appended by `tokenize` when `addEnd`.
   * @param {boolean} [options.addEnd] end every tokenized text with `endId` (Marian's sources
   *     end with `</s>`).
   * @param {boolean} [options.cleanUpSpaces] apply transformers' clean-up when detokenizing.
   * @throws {ValueError} a duplicate piece, no `unkToken`, or `addEnd` without `endId` (the
   *     Python `ValueError`s; `loadTokenizers` makes them `ArtifactError`s).
   */
  constructor(
    model,
    vocabulary,
    { specialIds = [], unkToken = '<unk>', endId = null, addEnd = false, cleanUpSpaces = false } = {},
  ) {
    this.model = model;
    this.vocabulary = [...vocabulary];
    this.unkToken = unkToken;
    this.endId = endId;
    this.addEnd = addEnd;
    this.cleanUpSpaces = cleanUpSpaces;
    this._pieceToId = new Map();
    this._skipIds = new Set(Array.from(specialIds, Number));
    this.vocabulary.forEach((piece, i) => {
      if (this._pieceToId.has(piece)) throw new ValueError(`duplicate piece ${pyRepr(piece)} in the vocabulary`);
      this._pieceToId.set(piece, i);
    });
    if (!this._pieceToId.has(unkToken)) throw new ValueError(`the vocabulary has no ${pyRepr(unkToken)}`);
    /** The id of `unkToken`. */
    this.unkId = this._pieceToId.get(unkToken);
    if (addEnd && (endId === null || endId === undefined)) throw new ValueError('add_end needs end_id');
  }

  /**
   * The pieces of a vocabulary file as Python's `read_pieces` reads it: UTF-8, one piece per
   * line, only the `\n` line break removed (a `\r` stays part of the piece). `data` is the
   * file's text, or its bytes (strict UTF-8, a BOM kept) with `where` naming it in errors.
   */
  static readPieces(data, where = 'vocabulary') {
    let text = data;
    if (typeof data !== 'string') {
      try {
        text = decodeUtf8Strict(data);
      } catch {
        throw new ArtifactError(`${where}: vocabulary is not UTF-8`);
      }
    }
    const pieces = text.split('\n');
    if (pieces[pieces.length - 1] === '') pieces.pop(); // no line after a final newline
    return pieces;
  }

  /** The number of ids. */
  get vocabularySize() {
    return this.vocabulary.length;
  }

  /** The piece of id `i`; `ValueError` if out of range. */
  idToToken(i) {
    if (!Number.isInteger(i) || i < 0 || i >= this.vocabulary.length) {
      throw new ValueError(`\`id\` must be in range [0, ${this.vocabulary.length - 1}]. Received: ${i}`);
    }
    return this.vocabulary[i];
  }

  /** The id of `piece`, `unkId` if the vocabulary does not have it. */
  tokenToId(piece) {
    return this._pieceToId.get(piece) ?? this.unkId;
  }

  /**
   * The pieces of `text` (special tokens and language codes included). `InputError` for text
   * with a lone UTF-16 surrogate (not Unicode; the Python library raises too).
   */
  pieces(text) {
    const out = [];
    let pos = 0;
    for (;;) {
      // The next special token (re.split with "</s>|<unk>|<pad>": at most one matches at a position).
      let at = -1;
      let special = '';
      for (const piece of MARIAN_SPECIAL_PIECES) {
        const i = text.indexOf(piece, pos);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          special = piece;
        }
      }
      const end = at < 0 ? text.length : at;
      if (end > pos) this._segmentPieces(text.slice(pos, end), out);
      if (at < 0) return out;
      out.push(special);
      pos = at + special.length;
    }
  }

  /** A segment without special tokens: an optional leading `>>xx<<`, then SentencePiece pieces. */
  _segmentPieces(segment, out) {
    let rest = segment;
    if (segment.startsWith('>>')) {
      const end = segment.indexOf('<<');
      if (end !== -1) {
        out.push(segment.slice(0, end + 2));
        rest = segment.slice(end + 2);
      }
    }
    out.push(...this.model.encodeAsPieces(rest));
  }

  /** Ids of `text` (ending with `endId` when `addEnd`). */
  tokenize(text) {
    const ids = this.pieces(text).map((piece) => this.tokenToId(piece));
    if (this.addEnd) ids.push(this.endId);
    return ids;
  }

  /** Text of `ids`, `specialIds` skipped; `ValueError` for an id out of range. */
  detokenize(ids) {
    const pieces = [];
    for (const raw of ids) {
      const i = Number(raw);
      if (!this._skipIds.has(i)) pieces.push(this.idToToken(i));
    }
    let text = pythonStrip(this.model.decodePieces(pieces).replaceAll(SPACE_SYMBOL, ' '));
    if (this.cleanUpSpaces) for (const [old, replacement] of CLEAN_UP) text = text.replaceAll(old, replacement);
    return text;
  }
}
