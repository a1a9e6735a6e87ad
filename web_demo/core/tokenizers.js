/**
 * A `tokenizer` description (manifest) -> source and target tokenizers (mirrors
 * `ondevice/tokenizers.py`).
 *
 * Two kinds exist:
 *
 * - `wordpiece`: `source_vocabulary`, `target_vocabulary` (the same file when shared), the zoo's
 *   own models (`WordPieceTokenizer`).
 * - `sentencepiece`: `source_model`, `target_model` (`.spm` files) and `source_vocabulary`,
 *   `target_vocabulary` (a piece per line); `source_end` (the source ends with the end token)
 *   and `clean_up_spaces` (transformers' detokenization clean-up). Imported Marian / OPUS-MT
 *   models (`MarianTokenizer` over a `SentencePieceTokenizer`, as the Kotlin core's
 *   `Tokenizers.kt` builds them).
 *
 * `loadTokenizers` is the only place that looks at the kind: the `Translator` sees objects with
 * `vocabularySize`, `tokenize(text)` and `detokenize(ids)`.
 */

import { ArtifactError, ValueError } from './errors.js';
import { get, isDict, isNone, pyIn, pyRepr } from './python.js';
import { MarianTokenizer } from './marian_tokenizer.js';
import { SentencePieceTokenizer } from './sentencepiece_tokenizer.js';
import { WordPieceTokenizer } from './wordpiece_tokenizer.js';

export const KINDS = ['wordpiece', 'sentencepiece'];

/** Most bytes of a vocabulary or SentencePiece model (OPUS-MT's: ~1 MB each). */
export const MAX_FILE_BYTES = 64 << 20;

export const FILE_KEYS = {
  wordpiece: ['source_vocabulary', 'target_vocabulary'],
  sentencepiece: ['source_vocabulary', 'target_vocabulary', 'source_model', 'target_model'],
};

/** The file names a tokenizer description refers to, by key (`tokenizer_files`). */
export function tokenizerFiles(spec) {
  const kind = isDict(spec) ? get(spec, 'kind') : undefined;
  if (!pyIn(kind, KINDS)) {
    throw new ArtifactError(`unknown tokenizer kind ${pyRepr(kind)}; this runtime knows ${KINDS.join(', ')}`);
  }
  const files = {};
  for (const key of FILE_KEYS[kind]) {
    const name = get(spec, key);
    // os.path.basename(name) != name: a POSIX path with a directory part.
    if (typeof name !== 'string' || !name || name.includes('/') || name === '.' || name === '..') {
      throw new ArtifactError(`tokenizer.${key} must be a file name in the model directory, not ${pyRepr(name)}`);
    }
    files[key] = name;
  }
  return files;
}

/** `directory` joined with a file name (a path or a URL prefix; empty: the name alone). */
export function joinPath(directory, name) {
  if (!directory) return name;
  return directory.endsWith('/') ? directory + name : `${directory}/${name}`;
}

/** Python's `bool(value)` for a JSON value. */
function pythonTruth(value) {
  if (isNone(value)) return false;
  if (typeof value === 'boolean') return value;
  if (value instanceof Number) return value.valueOf() !== 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'string' || Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * `[source, target]` tokenizers for a tokenizer description (`load_tokenizers`).
 *
 * @param {object} spec the manifest's `tokenizer` entry.
 * @param {string} directory where its files are (a path or URL prefix).
 * @param {object} specialTokens `pad`, `unk`, `start`, `end` ids (a `sentencepiece` tokenizer
 *     skips them when detokenizing and ends sources with `end`).
 * @param {(path: string) => Promise<Uint8Array>|Uint8Array} readFile the bytes of a file
 *     (the page fetches it; tests read it from disk).
 * @throws {ArtifactError} unknown kind, a bad file name, a missing, oversized or unusable file
 *     (not UTF-8, a corrupt or unsupported SentencePiece model, duplicate pieces, no unknown
 *     piece).
 */
export async function loadTokenizers(spec, directory, specialTokens, readFile) {
  const files = {};
  for (const [key, name] of Object.entries(tokenizerFiles(spec))) files[key] = joinPath(directory, name);
  const wordPiece = spec.kind === 'wordpiece';
  // Python reads special_tokens[key] only for the sentencepiece kind.
  const skip = wordPiece
    ? []
    : ['pad', 'unk', 'start', 'end'].map((key) => {
        const id = isDict(specialTokens) ? get(specialTokens, key) : undefined;
        if (isNone(id)) throw new ArtifactError(`manifest.json: special_tokens has no '${key}'`);
        return Number(id);
      });
  const read = async (path) => {
    let bytes;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new ArtifactError(`${directory}: tokenizer files not usable (${path}: ${e.message})`);
    }
    if (bytes.length > MAX_FILE_BYTES) {
      throw new ArtifactError(`${path}: ${bytes.length} bytes; a tokenizer file has at most ${MAX_FILE_BYTES}`);
    }
    return bytes;
  };
  const make = async (side) => {
    const vocabularyPath = files[`${side}_vocabulary`];
    const modelPath = wordPiece ? null : files[`${side}_model`];
    const modelBytes = wordPiece ? null : await read(modelPath); // the model first, as in Kotlin
    const vocabularyBytes = await read(vocabularyPath);
    try {
      if (wordPiece) return WordPieceTokenizer.fromBytes(vocabularyBytes, vocabularyPath);
      return new MarianTokenizer(
        SentencePieceTokenizer.fromBytes(modelBytes, modelPath),
        MarianTokenizer.readPieces(vocabularyBytes, vocabularyPath),
        {
          specialIds: skip,
          endId: skip[3],
          addEnd: side === 'source' && pythonTruth(get(spec, 'source_end')),
          cleanUpSpaces: pythonTruth(get(spec, 'clean_up_spaces')),
        },
      );
    } catch (e) {
      // not UTF-8, a corrupt model, duplicate tokens, no unknown token
      if (e instanceof ArtifactError || e instanceof ValueError) {
        throw new ArtifactError(`${directory}: tokenizer files not usable (${e.message})`);
      }
      throw e;
    }
  };
  const source = await make('source');
  const same = wordPiece && files.source_vocabulary === files.target_vocabulary;
  return [source, same ? source : await make('target')];
}
