/**
 * WordPiece tokenizer of the on-device runtime (mirrors `ondevice/tokenizer.py`, id for id).
 *
 * The rules, as in the Python module:
 *
 * 1. Normalize the text to NFC (Python 3.11's Unicode 14 NFC, see `nfc` in python.js).
 * 2. Truncate the text at the first U+0000 (NUL).
 * 3. Classify each code point (unicode_table.js, generated from the Python rules by
 *    web_demo/tools/make_unicode_table.py): whitespace (ASCII " \t\n\r\f", categories Cc and Cf:
 *    a dropped delimiter), punctuation (the ASCII punctuation ranges, categories P*) and CJK
 *    ideographs (each kept as its own word), and everything else (part of a word).
 * 4. WordPiece each word: longer than `MAX_BYTES_PER_WORD` UTF-8 bytes -> the oov token;
 *    otherwise greedy longest-match-first, pieces after the first carrying the suffix
 *    indicator; a word that cannot be fully covered -> a single oov token.
 *
 * Lengths are counted in code points, as Python counts `len(str)`.
 */

import { ArtifactError, ValueError } from './errors.js';
import { codePointLength, codePoints, nfc, pyRepr, pythonRstrip } from './python.js';
import { KEEP, WORD, charClass, isDecimalDigit, isLetterOrNumber } from './unicode_table.js';

/** Tokens with ids 0..3 in every vocabulary the project writes. */
export const RESERVED_TOKENS = ['[PAD]', '[UNK]', '[START]', '[END]'];

/** Words longer than this many UTF-8 bytes map to the oov token. */
export const MAX_BYTES_PER_WORD = 100;

function utf8Length(cp) {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

/**
 * A WordPiece tokenizer with exactly the ids of the Python runtime's `WordPieceTokenizer` (and
 * so of keras-hub's, see `ondevice/tokenizer.py`).
 */
export class WordPieceTokenizer {
  /**
   * @param {string[]} vocabulary the WordPiece tokens; a token's id is its index. Unique,
   *     containing `oovToken`.
   * @param {string} oovToken the token substituted for words that cannot be tokenized.
   * @param {string} suffixIndicator the prefix marking a piece that continues a word (`##ing`).
   */
  constructor(vocabulary, oovToken = '[UNK]', suffixIndicator = '##') {
    this.vocabulary = [...vocabulary];
    const tokenToId = new Map();
    this.vocabulary.forEach((token, i) => {
      if (typeof token !== 'string') throw new ValueError(`Vocabulary tokens must be str. Received: ${pyRepr(token)}`);
      if (tokenToId.has(token)) {
        throw new ValueError(`Tokens in the vocabulary must be unique. Duplicate: ${pyRepr(token)}`);
      }
      tokenToId.set(token, i);
    });
    if (!tokenToId.has(oovToken)) throw new ValueError(`Cannot find \`oov_token=${pyRepr(oovToken)}\` in the vocabulary.`);
    if (!suffixIndicator) throw new ValueError('`suffix_indicator` must be a non-empty string.');
    this.oovToken = oovToken;
    this.suffixIndicator = suffixIndicator;
    this._tokenToId = tokenToId;
    this._oovId = tokenToId.get(oovToken);
    // Longest piece (in code points) for each position kind, to bound the greedy search.
    let prefix = 0;
    let suffix = 0;
    const indicatorLength = codePointLength(suffixIndicator);
    for (const token of this.vocabulary) {
      const length = codePointLength(token);
      if (token.startsWith(suffixIndicator)) suffix = Math.max(suffix, length - indicatorLength);
      prefix = Math.max(prefix, length);
    }
    this._maxPrefixChars = prefix;
    this._maxSuffixChars = suffix;
    this._skipIds = new Set(
      RESERVED_TOKENS.filter((t) => tokenToId.has(t) && t !== oovToken).map((t) => tokenToId.get(t)),
    );
  }

  /**
   * Vocabulary lines as Python reads a file in text mode (`from_file`): universal newlines
   * (`\n`, `\r\n`, `\r`) and `line.rstrip()`.
   */
  static readVocabulary(text) {
    const lines = text.split(/\r\n|\r|\n/);
    if (lines[lines.length - 1] === '') lines.pop(); // no line after a final newline
    return lines.map(pythonRstrip);
  }

  /** A tokenizer over the text of a vocabulary file (one token per line). */
  static fromText(text, oovToken = '[UNK]', suffixIndicator = '##') {
    return new WordPieceTokenizer(WordPieceTokenizer.readVocabulary(text), oovToken, suffixIndicator);
  }

  /** A tokenizer over the bytes of a vocabulary file (strict UTF-8); `where` names it in errors. */
  static fromBytes(bytes, where, oovToken = '[UNK]', suffixIndicator = '##') {
    let text;
    try {
      // ignoreBOM: keep a BOM as Python's 'utf-8' codec does (it becomes part of the first token).
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (e) {
      throw new ArtifactError(`${where}: vocabulary is not UTF-8`);
    }
    return WordPieceTokenizer.fromText(text, oovToken, suffixIndicator);
  }

  /** The number of tokens in the vocabulary. */
  get vocabularySize() {
    return this.vocabulary.length;
  }

  /** The token of id `i`; `ValueError` if out of range. */
  idToToken(i) {
    if (!Number.isInteger(i) || i < 0 || i >= this.vocabulary.length) {
      throw new ValueError(`\`id\` must be in range [0, ${this.vocabulary.length - 1}]. Received: ${i}`);
    }
    return this.vocabulary[i];
  }

  /** The id of token `t`; `ValueError` if not in the vocabulary. */
  tokenToId(t) {
    const id = this._tokenToId.get(t);
    if (id === undefined) throw new ValueError(`Token ${pyRepr(t)} is not in the vocabulary.`);
    return id;
  }

  /**
   * Split text into words, the pre-tokenization step: NFC, truncate at the first NUL, drop
   * whitespace / control / format characters, keep each punctuation mark and CJK ideograph as
   * its own word.
   */
  words(text) {
    let normalized = nfc(text);
    const nul = normalized.indexOf('\0');
    if (nul >= 0) normalized = normalized.slice(0, nul);
    const words = [];
    let start = -1; // UTF-16 index where the current word starts, if any
    for (let index = 0; index < normalized.length; ) {
      const cp = normalized.codePointAt(index);
      const next = index + (cp > 0xffff ? 2 : 1);
      const cls = charClass(cp);
      if (cls === WORD) {
        if (start < 0) start = index;
      } else {
        if (start >= 0) {
          words.push(normalized.slice(start, index));
          start = -1;
        }
        if (cls === KEEP) words.push(normalized.slice(index, next));
      }
      index = next;
    }
    if (start >= 0) words.push(normalized.slice(start));
    return words;
  }

  /** Greedy longest-match-first WordPiece of a single word, appended to `out`. */
  _wordToIds(word, out) {
    const offsets = [0]; // UTF-16 offset of each code point, and the end
    let bytes = 0;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i);
      bytes += utf8Length(cp);
      i += cp > 0xffff ? 2 : 1;
      offsets.push(i);
    }
    if (bytes > MAX_BYTES_PER_WORD) {
      out.push(this._oovId);
      return;
    }
    const length = offsets.length - 1;
    const ids = [];
    let start = 0;
    while (start < length) {
      let end;
      let prefix;
      if (start === 0) {
        end = Math.min(length, this._maxPrefixChars);
        prefix = '';
      } else {
        end = Math.min(length, start + this._maxSuffixChars);
        prefix = this.suffixIndicator;
      }
      let pieceId;
      while (end > start) {
        pieceId = this._tokenToId.get(prefix + word.slice(offsets[start], offsets[end]));
        if (pieceId !== undefined) break;
        end -= 1;
      }
      if (pieceId === undefined) {
        out.push(this._oovId);
        return;
      }
      ids.push(pieceId);
      start = end;
    }
    out.push(...ids);
  }

  /** WordPiece ids of `text` (NFC is applied here); empty for text without words. */
  tokenize(text) {
    const ids = [];
    for (const word of this.words(text)) this._wordToIds(word, ids);
    return ids;
  }

  /**
   * Turn ids back into normal text: `[PAD]`, `[START]`, `[END]` are skipped, the oov token is
   * kept as a word, a piece starting with the suffix indicator is glued (without it) to the
   * previous word, and the words are joined with `detokenizeWords`.
   */
  detokenize(ids) {
    const words = [];
    const indicator = this.suffixIndicator;
    for (const raw of ids) {
      const i = Number(raw);
      if (this._skipIds.has(i)) continue;
      const token = this.idToToken(i);
      if (token.startsWith(indicator) && token.length > indicator.length) {
        const piece = token.slice(indicator.length);
        if (words.length) words[words.length - 1] += piece;
        else words.push(piece);
      } else {
        words.push(token);
      }
    }
    return detokenizeWords(words);
  }
}

// --- Detokenization rules (mirrors the tables of ondevice/tokenizer.py). ---

/** Tokens attached to the previous token. */
export const NO_SPACE_BEFORE = new Set(['.', ',', '!', '?', ';', ':', ')', ']', '}', '%', '\u2026', '\u00bb', '\u201d']);

/** Tokens attached to the next token. */
export const NO_SPACE_AFTER = new Set(['(', '[', '{', '\u00bf', '\u00a1', '\u00ab', '\u201e']);

/** Joined on both sides between two words, else attached to a word before. */
export const APOSTROPHES = new Set(["'", '\u2019']);

/** Joined on both sides between a word (or closing quote/bracket) and a word. */
export const WORD_JOINERS = new Set(['-', '/']);

/** Words before which a `-` after a word glues left only (German "Obst- und Gemüsehändler"). */
export const SUSPENDED_HYPHEN_FOLLOWERS = new Set(['und', 'oder', 'bis', 'sowie', 'bzw']);

/** Joined on both sides between two all-digit tokens (3.5, 1,000, 10:30). */
export const NUMBER_SEPARATORS = new Set(['.', ',', ':']);

/** Tokens that, like a closing quote, may precede a `WORD_JOINERS` join. */
export const CLOSING_BRACKETS = new Set([')', ']', '}', '\u00bb', '\u201d']);

export const STRAIGHT_QUOTE = '"';
export const LOW_OPENING_QUOTE = '\u201e';
export const HIGH_QUOTE = '\u201c';

/** True if some character is a letter or number (category L* or N*). */
function isWord(token) {
  return codePoints(token).some(isLetterOrNumber);
}

/** True for a non-empty token of decimal digits (category Nd) only. */
function isDigits(token) {
  return token.length > 0 && codePoints(token).every(isDecimalDigit);
}

/**
 * Join words and punctuation tokens into normal text (the rules of
 * `ondevice.tokenizer.detokenize_words`, first matching rule wins):
 *
 * 1. A `NUMBER_SEPARATORS` token between two all-digit tokens glues both sides.
 * 2. `NO_SPACE_BEFORE` tokens glue left.
 * 3. `NO_SPACE_AFTER` tokens glue right; `„` also opens a German quotation.
 * 4. A straight double quote alternates: odd ones open (glue right), even ones close.
 * 5. `“` closes (glues left) when a `„` is open, else opens (glues right).
 * 6. An apostrophe between two words glues both sides; after a word only, it glues left.
 * 7. `-` or `/` glues both sides when the next token is a word and the previous one a word or a
 *    closing bracket/quote, except `-` before a `SUSPENDED_HYPHEN_FOLLOWERS` word (left only).
 * 8. Anything else is a plain token.
 *
 * The result is NFC.
 */
export function detokenizeWords(words) {
  const pieces = [];
  let glueNext = false; // the previous token glues right
  let straightOpen = false; // a `"` quotation is open
  let lowOpen = false; // a German `„` quotation is open
  let prevCloses = false; // the previous token was a closing bracket/quote
  const count = words.length;
  words.forEach((token, index) => {
    const prev = index > 0 ? words[index - 1] : null;
    const next = index + 1 < count ? words[index + 1] : null;
    let glueLeft = false;
    let glueRight = false;
    let closes = false;
    if (NUMBER_SEPARATORS.has(token) && prev !== null && next !== null && isDigits(prev) && isDigits(next)) {
      glueLeft = true;
      glueRight = true;
    } else if (NO_SPACE_BEFORE.has(token)) {
      glueLeft = true;
      closes = CLOSING_BRACKETS.has(token);
    } else if (NO_SPACE_AFTER.has(token)) {
      glueRight = true;
      if (token === LOW_OPENING_QUOTE) lowOpen = true;
    } else if (token === STRAIGHT_QUOTE) {
      if (straightOpen) {
        glueLeft = true;
        closes = true;
      } else {
        glueRight = true;
      }
      straightOpen = !straightOpen;
    } else if (token === HIGH_QUOTE) {
      if (lowOpen) {
        glueLeft = true;
        closes = true;
        lowOpen = false;
      } else {
        glueRight = true;
      }
    } else if (APOSTROPHES.has(token)) {
      const prevWord = prev !== null && isWord(prev);
      const nextWord = next !== null && isWord(next);
      if (prevWord && nextWord) {
        glueLeft = true;
        glueRight = true;
      } else if (prevWord) {
        glueLeft = true;
      }
    } else if (WORD_JOINERS.has(token)) {
      const leftOk = prev !== null && (isWord(prev) || prevCloses);
      if (leftOk && next !== null && isWord(next)) {
        glueLeft = true;
        glueRight = !(token === '-' && SUSPENDED_HYPHEN_FOLLOWERS.has(next));
      }
    }
    if (pieces.length && !glueNext && !glueLeft) pieces.push(' ');
    pieces.push(token);
    glueNext = glueRight;
    prevCloses = closes;
  });
  return nfc(pieces.join(''));
}
