/**
 * A `tokenizer` description (manifest) -> source and target tokenizers (mirrors
 * `ondevice/tokenizers.py`).
 *
 * Two kinds exist:
 *
 * - `wordpiece`: `source_vocabulary`, `target_vocabulary` (the same file when shared), the zoo's
 *   own models (`WordPieceTokenizer`).
 * - `sentencepiece`: `source_model`, `target_model` (`.spm` files) and `source_vocabulary`,
 *   `target_vocabulary`; imported Marian / OPUS-MT models. Not in the JavaScript core yet
 *   (`loadTokenizers` refuses them; `tokenizerFiles` knows their files, as manifest
 *   validation needs).
 *
 * `loadTokenizers` is the only place that looks at the kind: the `Translator` sees objects with
 * `vocabularySize`, `tokenize(text)` and `detokenize(ids)`.
 */

import { ArtifactError, ValueError } from './errors.js';
import { get, isDict, pyIn, pyRepr } from './python.js';
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

/**
 * `[source, target]` tokenizers for a tokenizer description (`load_tokenizers`).
 *
 * @param {object} spec the manifest's `tokenizer` entry.
 * @param {string} directory where its files are (a path or URL prefix).
 * @param {object} specialTokens `pad`, `unk`, `start`, `end` ids.
 * @param {(path: string) => Promise<Uint8Array>|Uint8Array} readFile the bytes of a file
 *     (the page fetches it; tests read it from disk).
 * @throws {ArtifactError} unknown or unsupported kind, a bad file name, a missing, oversized
 *     or unusable file.
 */
export async function loadTokenizers(spec, directory, specialTokens, readFile) {
  const files = {};
  for (const [key, name] of Object.entries(tokenizerFiles(spec))) files[key] = joinPath(directory, name);
  if (spec.kind !== 'wordpiece') {
    throw new ArtifactError(
      `${directory}: ${spec.kind} tokenizers are not supported by the JavaScript runtime yet (only wordpiece)`,
    );
  }
  const make = async (side) => {
    const path = files[`${side}_vocabulary`];
    let bytes;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new ArtifactError(`${directory}: tokenizer files not usable (${path}: ${e.message})`);
    }
    if (bytes.length > MAX_FILE_BYTES) {
      throw new ArtifactError(`${path}: ${bytes.length} bytes; a tokenizer file has at most ${MAX_FILE_BYTES}`);
    }
    try {
      return WordPieceTokenizer.fromBytes(bytes, path);
    } catch (e) {
      if (e instanceof ArtifactError || e instanceof ValueError) {
        throw new ArtifactError(`${directory}: tokenizer files not usable (${e.message})`);
      }
      throw e;
    }
  };
  const source = await make('source');
  const same = files.source_vocabulary === files.target_vocabulary;
  return [source, same ? source : await make('target')];
}
