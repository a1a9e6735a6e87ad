/**
 * Load a converted translation artifact for LiteRT.js (the page's `Translator.from_artifact`).
 *
 * Files are read through a callback (`fetch` in the page, the disk in Node), so the same code
 * runs in both. Every problem is a one-line `ArtifactError`.
 */

import { ArtifactError } from './errors.js';
import { LiteRTStepModel, webEntry } from './litert_model.js';
import { MANIFEST_FILE, parseManifest, sha256Hex } from './manifest.js';
import { joinPath, loadTokenizers } from './tokenizers.js';
import { Translator } from './translator.js';

/**
 * A `Translator` over the artifact in `directory`, decoding with LiteRT.js.
 *
 * @param lite the `@litertjs/core` module, its runtime loaded (`loadLiteRt`).
 * @param {string} directory the artifact's path or URL prefix.
 * @param {(path: string) => Promise<Uint8Array>} readFile the bytes of a file; throws if missing.
 * @returns {Promise<{translator: Translator, manifest: import('./manifest.js').Manifest, model: LiteRTStepModel}>}
 */
export async function loadWebTranslator(lite, directory, readFile) {
  const read = async (path, what) => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new ArtifactError(`${path}: ${what} cannot be read (${e.message})`);
    }
  };
  const manifestPath = joinPath(directory, MANIFEST_FILE);
  const manifest = parseManifest(await read(manifestPath, 'the manifest'), manifestPath, directory);
  if (manifest.task !== 'translation') {
    throw new ArtifactError(`${directory}: a ${manifest.task} model; this page translates`);
  }
  const web = webEntry(manifest);
  const [source, target] = await loadTokenizers(manifest.data.tokenizer, directory, manifest.specialTokens, readFile);
  const modelPath = joinPath(directory, web.model_file);
  const bytes = await read(modelPath, 'the web model');
  if ((await sha256Hex(bytes)) !== web.model_sha256) {
    throw new ArtifactError(`${modelPath}: sha256 does not match manifest.json (file corrupted or replaced)`);
  }
  const model = await LiteRTStepModel.load(lite, manifest, bytes);
  try {
    const translator = Translator.fromManifest(manifest, model, source, target, 1);
    return { translator, manifest, model };
  } catch (e) {
    model.delete();
    throw e;
  }
}
