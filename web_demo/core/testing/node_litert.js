/**
 * Load LiteRT.js (`@litertjs/core`, written for browsers and workers) in Node.
 *
 * The package loads its emscripten runtime with `importScripts` (a worker) or a `<script>`
 * tag; Node has neither, so `importScripts` is emulated by running the file as a classic
 * script with `require`/`__dirname` set for emscripten's Node branch. Node 20 has no relaxed
 * SIMD by default, so the compat WebAssembly build is used (same results, slower).
 */

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const WEB_DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WASM_DIR = path.join(WEB_DEMO, 'node_modules/@litertjs/core/wasm') + '/';

/** The `@litertjs/core` module with its runtime loaded (single-threaded WebAssembly). */
export async function loadLiteRtInNode() {
  if (!fs.existsSync(WASM_DIR)) {
    throw new Error(`${WASM_DIR} is missing: run \`npm ci\` in web_demo/`);
  }
  globalThis.self = globalThis;
  const require = createRequire(import.meta.url);
  globalThis.importScripts = (url) => {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    globalThis.require = require;
    globalThis.__dirname = path.dirname(file);
    globalThis.__filename = file;
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
  };
  const lite = await import('@litertjs/core');
  await lite.loadLiteRt(WASM_DIR);
  return lite;
}

/** Read a file for the core's loaders (a path on disk). */
export async function readFileBytes(file) {
  return new Uint8Array(await fs.promises.readFile(file));
}
