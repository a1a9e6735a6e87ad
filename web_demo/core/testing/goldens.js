/**
 * The golden files the Kotlin core's tests use (`android_demo/core/src/test/resources/goldens/`,
 * written by `android_demo/tools/make_goldens.py` from the Python runtime), read from disk for
 * the Node tests.
 */

import fs from 'node:fs';

import { MANIFEST_FILE, parseManifest } from '../manifest.js';
import { WordPieceTokenizer } from '../wordpiece_tokenizer.js';

export const GOLDENS = new URL('../../../android_demo/core/src/test/resources/goldens/', import.meta.url);

export function goldenBytes(name) {
  const url = new URL(name, GOLDENS);
  if (!fs.existsSync(url)) throw new Error(`missing golden file goldens/${name}: run android_demo/tools/make_goldens.py`);
  return new Uint8Array(fs.readFileSync(url));
}

export function goldenText(name) {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(goldenBytes(name));
}

/** A golden JSON file (plain `JSON.parse`: the decode records only hold ids and float32 values). */
export function goldenJson(name) {
  return JSON.parse(goldenText(name));
}

let manifest = null;

/** The golden artifact's manifest (directory `goldens`). */
export function goldenManifest() {
  if (manifest === null) manifest = parseManifest(goldenBytes(MANIFEST_FILE), `goldens/${MANIFEST_FILE}`, 'goldens');
  return manifest;
}

/** The golden artifact's `source` or `target` tokenizer. */
export function goldenTokenizer(side) {
  const file = goldenManifest().path(`${side}_vocabulary`).split('/').pop();
  return WordPieceTokenizer.fromBytes(goldenBytes(file), `goldens/${file}`);
}
