/**
 * `manifest.json`: the device contract of a converted model directory (mirrors
 * `ondevice/manifest.py`; `validate` makes the same checks in the same order, with the same
 * messages).
 *
 * The runtime is driven by the manifest alone. Its main parts:
 *
 * - `task`: `translation` (the default for manifests without one), `text_vae` or `image_vae`;
 *   it fixes the signatures (`TASKS`).
 * - `signatures`: for `encode` and `decode_step` (a text VAE adds `decode_init`; an image VAE
 *   has `encode` and `decode`), every input and output tensor with `name`, `dtype`, `shape`
 *   (-1 = dynamic), `role` and, where the tensor has one, `batch_axis`. Roles: `source_tokens`
 *   (encode input), `token` and `step` (decode_step inputs), `logits` (decode_step output),
 *   `memory` (made by encode, read by every step, never changes) and `state` (carried from
 *   step to step); VAEs add `latent_mean`, `latent_log_var`, `latent` and `image`.
 * - A `state` input of `decode_step` says how the step's output of the same name updates it:
 *   `update: "replace"` (the output is the next value, e.g. LSTM h/c) or `update: "append"`
 *   with a `time_axis` (a K/V cache: the output is this position's row, written at index `step`
 *   along that axis; the runtime owns the buffer and `encode` does not make it).
 * - `decode_signatures`: the `decode_step` variants, shortest cache first (e.g.
 *   `decode_step_16`, `decode_step_32`, `decode_step`); a runtime decodes step `t` with the
 *   first variant whose cache holds `t + 1` positions.
 * - `special_tokens` (`pad`, `unk`, `start`, `end` ids), `max_source_length`,
 *   `max_target_length`.
 * - `tokenizer`: kind and vocabulary file names.
 * - `quantization`, `model_file`, `model_sha256`, `parity`, `format_version`.
 *
 * Values are checked as Python types: parse the file with `parseManifest` (or `parseJson`) so
 * that a float such as `2.0` is not taken for an integer (see python.js).
 */

import { ArtifactError } from './errors.js';
import { JsonError, parseJson } from './json.js';
import {
  get,
  has,
  isDict,
  isFloat,
  isInt,
  isNone,
  isStr,
  pyEquals,
  pyIn,
  pyRepr,
  short,
  sortedStrings,
  compareCodePoints,
} from './python.js';
import { joinPath, tokenizerFiles } from './tokenizers.js';

export const FORMAT_VERSION = 2;
// Upper bounds on what a manifest may claim, checked before anything is allocated from it
// (the runtime sizes K/V caches from the manifest's shapes).
export const MAX_LENGTH = 4096; // max_source_length, max_target_length, cache lengths
export const MAX_VOCABULARY = 1 << 20; // logits width, special token ids
export const MAX_LATENT_DIM = 1 << 16;
export const MAX_IMAGE_SIDE = 4096;
export const MAX_CHANNELS = 4;
export const MAX_RANK = 8;
export const MAX_ROW_ELEMENTS = 1 << 24; // elements of one batch row of one tensor
export const MAX_MANIFEST_BYTES = 16 << 20;
export const DTYPES = ['float32', 'float16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool'];
export const MANIFEST_FILE = 'manifest.json';

const STEP_ROLES = { inputs: ['token', 'step', 'memory', 'state'], outputs: ['logits', 'state'] };
const LATENT_ROLES = ['latent_mean', 'latent_log_var'];

/**
 * Per task: the signatures with the roles their tensors may have, the signature that makes
 * decode_step's memory/state (if any) and the required keys.
 */
export const TASKS = {
  translation: {
    signatures: { encode: { inputs: ['source_tokens'], outputs: ['memory', 'state'] }, decode_step: STEP_ROLES },
    decoderInit: 'encode',
    keys: ['special_tokens', 'tokenizer'],
  },
  text_vae: {
    signatures: {
      encode: { inputs: ['source_tokens'], outputs: LATENT_ROLES },
      decode_init: { inputs: ['latent'], outputs: ['memory', 'state'] },
      decode_step: STEP_ROLES,
    },
    decoderInit: 'decode_init',
    keys: ['special_tokens', 'tokenizer', 'latent_dim'],
  },
  image_vae: {
    signatures: {
      encode: { inputs: ['image'], outputs: LATENT_ROLES },
      decode: { inputs: ['latent'], outputs: ['image'] },
    },
    decoderInit: null,
    keys: ['image', 'latent_dim'],
  },
};
export const SIGNATURE_ROLES = TASKS.translation.signatures;

/** One signature tensor as the manifest describes it. */
export class TensorInfo {
  constructor(name, dtype, shape, role, batchAxis = null, timeAxis = null) {
    this.name = name;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.role = role;
    this.batchAxis = isNone(batchAxis) ? null : batchAxis;
    this.timeAxis = isNone(timeAxis) ? null : timeAxis;
    Object.freeze(this);
  }

  /** `append` (written at index `step` along `timeAxis`) or `replace`. */
  get update() {
    return this.timeAxis !== null ? 'append' : 'replace';
  }

  /** A `state` tensor that a step appends to (a K/V cache). */
  get isAppend() {
    return this.role === 'state' && this.timeAxis !== null;
  }

  static fromDict(d) {
    return new TensorInfo(d.name, d.dtype, d.shape, d.role, get(d, 'batch_axis'), get(d, 'time_axis'));
  }

  toDict() {
    const d = { name: this.name, dtype: this.dtype, shape: [...this.shape], role: this.role };
    if (this.batchAxis !== null) d.batch_axis = this.batchAxis;
    if (this.role === 'state') d.update = this.update;
    if (this.timeAxis !== null) d.time_axis = this.timeAxis;
    return d;
  }
}

/** A parsed, validated `manifest.json` (see the file comment). */
export class Manifest {
  /**
   * @param {object} data the validated JSON object.
   * @param {string} directory where the artifact's files are (a path or URL prefix).
   */
  constructor(data, directory) {
    this.data = data;
    this.directory = directory;
  }

  get family() {
    return this.data.family;
  }

  /** `translation` (manifests without a task), `text_vae` or `image_vae`. */
  get task() {
    return has(this.data, 'task') ? this.data.task : 'translation';
  }

  /** `{pad, unk, start, end}` ids. */
  get specialTokens() {
    return this.data.special_tokens;
  }

  get maxSourceLength() {
    return Number(this.data.max_source_length);
  }

  get maxTargetLength() {
    return Number(this.data.max_target_length);
  }

  /** The quantization recipe (`float32`, `dynamic_int8`, ...), or `"unknown"`. */
  get recipe() {
    const q = this.data.quantization;
    return isDict(q) && typeof q.recipe === 'string' ? q.recipe : 'unknown';
  }

  /** `TensorInfo`s of `signature`'s `side` (`"inputs"`/`"outputs"`). */
  tensors(signature, side) {
    return this.data.signatures[signature][side].map((t) => TensorInfo.fromDict(t));
  }

  /** The memory and state tensors passed from `encode` to `decode_step`. */
  decoderTensors() {
    return this.tensors('decode_step', 'inputs').filter((t) => t.role === 'memory' || t.role === 'state');
  }

  /** The `decode_step` variants, shortest cache first (`decode_step` last). */
  get decodeSignatures() {
    return [...(has(this.data, 'decode_signatures') ? this.data.decode_signatures : ['decode_step'])];
  }

  /** Path (or URL) of a file named in the manifest (`model_file`, a vocabulary, ...). */
  path(key) {
    const name = key.endsWith('vocabulary') || key.endsWith('_model') ? this.data.tokenizer[key] : this.data[key];
    return joinPath(this.directory, name);
  }
}

/** Lowercase hex sha256 of `bytes` (Web Crypto: browsers and Node >= 19). */
export async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** `ArtifactError` if the manifest names a `model_sha256` and `actualSha256` differs. */
export function checkModelSha256(manifest, actualSha256, where) {
  const expected = manifest.data.model_sha256;
  if (expected && expected !== actualSha256) {
    throw new ArtifactError(`${where}: sha256 does not match manifest.json (file corrupted or replaced)`);
  }
}

/** Python's exception for a missing key (`validate` reports it as a malformed manifest). */
class PythonKeyError extends Error {
  constructor(key) {
    super(pyRepr(key));
    this.name = 'KeyError';
  }
}

/** Python's `d[key]`. */
function item(d, key) {
  if (!has(d, key)) throw new PythonKeyError(key);
  return d[key];
}

/**
 * Check a manifest object before anything is built from it; throw `ArtifactError` if broken.
 *
 * Every field the runtime reads must have the right type, each task's signatures the right
 * roles, and every size the runtime allocates from (lengths, cache shapes, vocabulary, latent
 * and image sizes) must be within the `MAX_*` bounds.
 */
export function validate(data) {
  try {
    validateData(data);
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    if (e instanceof PythonKeyError || e instanceof TypeError || e instanceof RangeError) {
      throw new ArtifactError(`manifest.json is malformed (${e.name}: ${short(e.message)})`);
    }
    throw e;
  }
}

function intIn(value, low, high) {
  return isInt(value) && low <= value && value <= high;
}

/** `name` is a plain file name inside the artifact directory. */
function fileName(key, name) {
  if (typeof name !== 'string' || !name || name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
    throw new ArtifactError(`manifest.json: ${key} must be a file name in the model directory, not ${short(pyRepr(name))}`);
  }
  return name;
}

/** Python's `side[:-1]` of `"inputs"` / `"outputs"`. */
function singular(side) {
  return side.slice(0, -1);
}

function sortedList(strings) {
  return pyRepr(sortedStrings(strings));
}

function validateData(data) {
  if (!isDict(data)) throw new ArtifactError('manifest.json: expected a JSON object');
  for (const key of ['format_version', 'family', 'signatures', 'model_file']) {
    if (!has(data, key)) throw new ArtifactError(`manifest.json has no ${pyRepr(key)}`);
  }
  const version = data.format_version;
  if (!isInt(version)) throw new ArtifactError('manifest.json: format_version must be an integer');
  if (version > FORMAT_VERSION) {
    throw new ArtifactError(`manifest format ${pyRepr(version)} is newer than this runtime (${FORMAT_VERSION}); upgrade it`);
  }
  if (version < FORMAT_VERSION) {
    throw new ArtifactError(
      `manifest format ${pyRepr(version)} is from an older converter (this runtime reads ` +
        `${FORMAT_VERSION}: runtime-owned caches); reconvert the model with \`zoo convert\``,
    );
  }
  if (!isStr(data.family)) throw new ArtifactError('manifest.json: family must be a string');
  fileName('model_file', data.model_file);
  if (!isNone(get(data, 'model_sha256')) && !isStr(data.model_sha256)) {
    throw new ArtifactError('manifest.json: model_sha256 must be a hex string');
  }
  const task = has(data, 'task') ? data.task : 'translation';
  if (!isStr(task) || !has(TASKS, task)) {
    throw new ArtifactError(
      `manifest.json: unknown task ${short(pyRepr(task))}; this runtime knows ${Object.keys(TASKS).join(', ')}`,
    );
  }
  const spec = TASKS[task];
  for (const key of spec.keys) {
    if (!has(data, key)) throw new ArtifactError(`manifest.json has no ${pyRepr(key)}`);
  }
  if (!isDict(data.signatures)) {
    throw new ArtifactError('manifest.json: signatures must be an object (signature name -> inputs, outputs)');
  }
  for (const [name, signature] of Object.entries(data.signatures)) checkSignature(name, signature);
  for (const [signature, roles] of Object.entries(spec.signatures)) {
    if (!has(data.signatures, signature)) {
      throw new ArtifactError(`manifest.json describes no ${pyRepr(signature)} signature`);
    }
    for (const [side, allowed] of Object.entries(roles)) {
      for (const tensor of data.signatures[signature][side]) {
        if (!allowed.includes(tensor.role)) {
          throw new ArtifactError(
            `manifest.json: ${signature} ${singular(side)} ${pyRepr(tensor.name)} has role ` +
              `${short(pyRepr(tensor.role))}; expected one of ${sortedList(allowed)}`,
          );
        }
      }
    }
  }
  if (task === 'translation') {
    tokenizerFiles(data.tokenizer);
  } else if (task === 'text_vae') {
    if (!isDict(data.tokenizer)) throw new ArtifactError('manifest.json: tokenizer must be an object');
    fileName('tokenizer.vocabulary', get(data.tokenizer, 'vocabulary'));
  }
  if (spec.keys.includes('special_tokens')) {
    if (!isDict(data.special_tokens)) throw new ArtifactError('manifest.json: special_tokens must be an object');
    for (const key of ['pad', 'unk', 'start', 'end']) {
      const value = item(data.special_tokens, key);
      if (!isInt(value)) throw new ArtifactError(`manifest.json: special_tokens.${key} must be an integer`);
      if (!(value >= 0 && value < MAX_VOCABULARY)) {
        throw new ArtifactError(`manifest.json: special_tokens.${key} must be from 0 to ${MAX_VOCABULARY - 1}`);
      }
    }
  }
  if (spec.keys.includes('latent_dim')) validateLatent(data, task);
  if (task === 'image_vae') validateImage(data);
  if (!has(spec.signatures, 'decode_step')) return;
  for (const key of ['max_target_length', 'max_source_length']) {
    if (!intIn(get(data, key), 1, MAX_LENGTH)) {
      throw new ArtifactError(`manifest.json: ${key} must be an integer from 1 to ${MAX_LENGTH}`);
    }
  }
  const [source] = only(data, 'encode', 'inputs', 'source_tokens');
  if (source.shape.length !== 2 || !['int32', 'int64'].includes(source.dtype)) {
    throw new ArtifactError("manifest.json: encode's source_tokens input must be an integer (batch, length) tensor");
  }
  validateDecodeSignatures(data);
  const decodeInputs = data.signatures.decode_step.inputs;
  const roles = decodeInputs.map((t) => t.role);
  const count = (role) => roles.filter((r) => r === role).length;
  if (count('token') !== 1 || count('step') !== 1) {
    throw new ArtifactError("manifest.json: decode_step needs exactly one 'token' and one 'step' input");
  }
  for (const t of decodeInputs) {
    const rank = t.role === 'token' ? 1 : t.role === 'step' ? 0 : undefined;
    if (rank !== undefined && (t.shape.length !== rank || !['int32', 'int64'].includes(t.dtype))) {
      const what = rank ? '(batch,) vector' : 'scalar';
      throw new ArtifactError(`manifest.json: decode_step's ${t.role} input must be an integer ${what}`);
    }
  }
  const [logits] = only(data, 'decode_step', 'outputs', 'logits');
  if (logits.shape.length !== 2 || !['float32', 'float16'].includes(logits.dtype)) {
    throw new ArtifactError("manifest.json: decode_step's logits must be a float (batch, vocabulary) tensor");
  }
  const vocabulary = logits.shape[1];
  if (vocabulary > MAX_VOCABULARY) {
    throw new ArtifactError(
      `manifest.json: the logits claim a ${vocabulary}-token vocabulary; at most ${MAX_VOCABULARY}`,
    );
  }
  if (vocabulary > 0) {
    for (const [key, token] of Object.entries(data.special_tokens)) {
      if (['pad', 'unk', 'start', 'end'].includes(key) && token >= vocabulary) {
        throw new ArtifactError(
          `manifest.json: special_tokens.${key} = ${pyRepr(token)} is not below the logits' ${vocabulary} tokens`,
        );
      }
    }
  }
  const init = spec.decoderInit;
  const initOutputs = new Set(data.signatures[init].outputs.map((t) => t.name));
  const missing = decodeInputs
    .filter(
      (t) =>
        (t.role === 'memory' || t.role === 'state') && !pyEquals(get(t, 'update'), 'append') && !initOutputs.has(t.name),
    )
    .map((t) => t.name);
  if (missing.length) {
    throw new ArtifactError(`manifest.json: decode_step inputs ${sortedList(missing)} are not produced by ${init}`);
  }
  const noAxis = decodeInputs
    .filter((t) => (t.role === 'memory' || t.role === 'state') && !isInt(get(t, 'batch_axis')))
    .map((t) => t.name);
  if (noAxis.length) {
    throw new ArtifactError(
      `manifest.json: decode_step inputs ${sortedList(noAxis)} have no 'batch_axis' (beam search needs it)`,
    );
  }
  const made = new Map(data.signatures[init].outputs.map((t) => [t.name, t]));
  const differ = decodeInputs
    .filter((t) => {
      const m = made.get(t.name);
      return m !== undefined && !pyEquals([get(m, 'batch_axis'), m.dtype], [get(t, 'batch_axis'), t.dtype]);
    })
    .map((t) => t.name);
  if (differ.length) {
    throw new ArtifactError(
      `manifest.json: decode_step inputs ${sortedList(differ)} differ from ${init}'s outputs (dtype or batch_axis)`,
    );
  }
}

/** Structure and bounds of one signature's tensor descriptions. */
function checkSignature(name, signature) {
  if (!isDict(signature)) {
    throw new ArtifactError(
      `manifest.json: signature ${short(pyRepr(name))} is malformed (expected an object with inputs and outputs)`,
    );
  }
  for (const side of ['inputs', 'outputs']) {
    const tensors = get(signature, side);
    if (!Array.isArray(tensors)) {
      throw new ArtifactError(`manifest.json: signature ${pyRepr(name)} is malformed (no ${side} list)`);
    }
    const names = new Set();
    for (const tensor of tensors) {
      checkTensor(`manifest.json: ${name} ${singular(side)}`, tensor);
      if (names.has(tensor.name)) {
        throw new ArtifactError(`manifest.json: ${name} has two ${side} named ${pyRepr(tensor.name)}`);
      }
      names.add(tensor.name);
    }
  }
}

function checkTensor(where, t) {
  if (!isDict(t) || !isStr(get(t, 'name')) || !t.name) {
    throw new ArtifactError(`${where} ${short(pyRepr(t))} is malformed (needs name, dtype, shape, role)`);
  }
  where = `${where} ${short(pyRepr(t.name))}`;
  if (!isStr(get(t, 'role'))) throw new ArtifactError(`${where} is malformed (role must be a string)`);
  if (!isStr(get(t, 'dtype')) || !DTYPES.includes(t.dtype)) {
    throw new ArtifactError(`${where} has dtype ${short(pyRepr(get(t, 'dtype')))}; expected one of ${DTYPES.join(', ')}`);
  }
  const shape = get(t, 'shape');
  if (!Array.isArray(shape) || shape.length > MAX_RANK) {
    throw new ArtifactError(`${where} is malformed (shape must be a list of at most ${MAX_RANK} dimensions)`);
  }
  const last = shape[shape.length - 1];
  if (t.role === 'logits' && shape.length && isInt(last) && last > MAX_VOCABULARY) {
    throw new ArtifactError(`${where} claims a ${pyRepr(last)}-token vocabulary; at most ${MAX_VOCABULARY}`);
  }
  if (!shape.every((d) => isInt(d) && (d == -1 || (d >= 1 && d <= MAX_ROW_ELEMENTS)))) { // eslint-disable-line eqeqeq
    throw new ArtifactError(
      `${where} has shape ${short(shape)}; dimensions must be -1 (dynamic) or 1 to ${MAX_ROW_ELEMENTS}`,
    );
  }
  for (const key of ['batch_axis', 'time_axis']) {
    const axis = get(t, key);
    if (!isNone(axis) && !intIn(axis, 0, shape.length - 1)) {
      throw new ArtifactError(`${where} has ${key} ${short(pyRepr(axis))}, not an axis of its shape ${pyRepr(shape)}`);
    }
  }
  let row = 1n;
  shape.forEach((d, axis) => {
    if (axis != get(t, 'batch_axis') && d > 0) row *= BigInt(d); // eslint-disable-line eqeqeq
  });
  if (row > BigInt(MAX_ROW_ELEMENTS)) {
    throw new ArtifactError(
      `${where} has shape ${pyRepr(shape)}: ${row} elements per batch row; at most ${MAX_ROW_ELEMENTS}`,
    );
  }
}

/** The tensors of `role` on one side of a signature; exactly one is required. */
function only(data, signature, side, role) {
  const found = data.signatures[signature][side].filter((t) => t.role === role);
  if (found.length !== 1) {
    throw new ArtifactError(
      `manifest.json: ${signature} needs exactly one ${pyRepr(role)} ${singular(side)} (has ${found.length})`,
    );
  }
  return found;
}

function validateLatent(data, task) {
  const latentDim = data.latent_dim;
  if (!intIn(latentDim, 1, MAX_LATENT_DIM)) {
    throw new ArtifactError(`manifest.json: latent_dim must be an integer from 1 to ${MAX_LATENT_DIM}`);
  }
  const decoder = task === 'image_vae' ? 'decode' : 'decode_init';
  const tensors = only(data, decoder, 'inputs', 'latent').map((t) => [decoder, t]);
  for (const role of sortedStrings(LATENT_ROLES)) {
    for (const t of only(data, 'encode', 'outputs', role)) tensors.push(['encode', t]);
  }
  for (const [signature, t] of tensors) {
    if (t.shape.length !== 2 || !pyIn(t.shape[1], [-1, latentDim]) || !t.dtype.startsWith('float')) {
      throw new ArtifactError(
        `manifest.json: ${signature} ${pyRepr(t.name)} is ${t.dtype} ${pyRepr(t.shape)}; ` +
          `expected float (batch, ${latentDim}) (latent_dim)`,
      );
    }
  }
}

function validateImage(data) {
  const image = data.image;
  if (!isDict(image)) throw new ArtifactError('manifest.json: image must be an object (height, width, channels)');
  const bounds = { height: MAX_IMAGE_SIDE, width: MAX_IMAGE_SIDE, channels: MAX_CHANNELS };
  for (const [key, high] of Object.entries(bounds)) {
    if (!intIn(get(image, key), 1, high)) {
      throw new ArtifactError(`manifest.json: image.${key} must be an integer from 1 to ${high}`);
    }
  }
  if (!pyIn(has(image, 'likelihood') ? image.likelihood : 'bernoulli', ['bernoulli', 'gaussian'])) {
    throw new ArtifactError("manifest.json: image.likelihood must be 'bernoulli' or 'gaussian'");
  }
  const sigma = has(image, 'gaussian_sigma') ? image.gaussian_sigma : 0.1;
  if (!(isInt(sigma) || isFloat(sigma)) || !(sigma > 0 && sigma < Infinity)) {
    throw new ArtifactError('manifest.json: image.gaussian_sigma must be a positive number');
  }
  const expected = [image.height, image.width, image.channels];
  for (const [signature, side] of [
    ['encode', 'inputs'],
    ['decode', 'outputs'],
  ]) {
    for (const t of only(data, signature, side, 'image')) {
      const dims = t.shape.slice(1);
      if (t.shape.length !== 4 || dims.some((d, i) => i < expected.length && d != -1 && d != expected[i])) { // eslint-disable-line eqeqeq
        throw new ArtifactError(
          `manifest.json: ${signature} ${pyRepr(t.name)} has shape ${pyRepr(t.shape)}; ` +
            `image says (batch, ${expected.map(pyRepr).join(', ')})`,
        );
      }
    }
  }
}

/** A tensor's shape with its time axis (a cache's length, which differs between variants) masked. */
function withoutTime(t) {
  return t.shape.map((d, axis) => (pyEquals(axis, get(t, 'time_axis')) ? 0 : d));
}

/**
 * What the `decode_step` variants must agree on, by tensor name: `(name, role)` of the outputs,
 * and of the inputs also update, dtype, axes and shape (but the cache length).
 */
function described(tensors, inputs) {
  const out = tensors.map((t) =>
    inputs
      ? [t.name, t.role, get(t, 'update'), t.dtype, get(t, 'batch_axis'), get(t, 'time_axis'), withoutTime(t)]
      : [t.name, t.role],
  );
  return out.sort((a, b) => compareCodePoints(a[0], b[0])); // names are unique on a side
}

/** The state update rules and the `decode_step` variants agree; cache lengths are bounded and grow. */
function validateDecodeSignatures(data) {
  const names = has(data, 'decode_signatures') ? data.decode_signatures : ['decode_step'];
  if (!Array.isArray(names) || !names.length || !pyEquals(names[names.length - 1], 'decode_step')) {
    throw new ArtifactError(
      "manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'",
    );
  }
  let reference = null;
  const capacities = [];
  const referenceOutputs = described(data.signatures.decode_step.outputs, false);
  for (const name of names) {
    if (!isStr(name) || !has(data.signatures, name)) {
      throw new ArtifactError(`manifest.json: decode signature ${short(pyRepr(name))} is not described`);
    }
    if (names.filter((n) => pyEquals(n, name)).length > 1) {
      throw new ArtifactError(`manifest.json: decode signature ${pyRepr(name)} is listed twice`);
    }
    const inputs = data.signatures[name].inputs;
    const lengths = new Set();
    for (const t of inputs) {
      if (t.role !== 'state') continue;
      const update = get(t, 'update');
      if (!pyIn(update, ['replace', 'append'])) {
        throw new ArtifactError(`manifest.json: ${name} state ${pyRepr(t.name)} needs update 'replace' or 'append'`);
      }
      if (update === 'replace' && !isNone(get(t, 'time_axis'))) {
        throw new ArtifactError(`manifest.json: ${name} state ${pyRepr(t.name)} is replaced but has a time_axis`);
      }
      if (update === 'append') {
        const axis = get(t, 'time_axis');
        if (!isInt(axis) || !(axis >= 0 && axis < t.shape.length) || pyEquals(axis, get(t, 'batch_axis'))) {
          throw new ArtifactError(`manifest.json: ${name} state ${pyRepr(t.name)} has no valid time_axis`);
        }
        if (!isInt(get(t, 'batch_axis'))) {
          throw new ArtifactError(`manifest.json: ${name} state ${pyRepr(t.name)} has no 'batch_axis'`);
        }
        const length = t.shape[axis];
        if (!intIn(length, 1, MAX_LENGTH)) {
          throw new ArtifactError(`manifest.json: ${name} cache ${pyRepr(t.name)} length must be 1..${MAX_LENGTH}`);
        }
        if (t.shape.some((d, i) => i != t.batch_axis && d < 1)) { // eslint-disable-line eqeqeq
          throw new ArtifactError(
            `manifest.json: ${name} cache ${pyRepr(t.name)} has a dynamic dimension besides batch: ${pyRepr(t.shape)}`,
          );
        }
        lengths.add(length);
      }
    }
    if (lengths.size > 1) {
      const sorted = [...lengths].sort((a, b) => a - b);
      throw new ArtifactError(`manifest.json: the caches of ${name} have different lengths ${pyRepr(sorted)}`);
    }
    capacities.push(lengths.size ? [...lengths][0] : null);
    const here = described(inputs, true);
    if (reference !== null && !pyEquals(here, reference)) {
      throw new ArtifactError(`manifest.json: ${name} does not have the same tensors as ${names[0]}`);
    }
    reference = here;
    if (!pyEquals(described(data.signatures[name].outputs, false), referenceOutputs)) {
      throw new ArtifactError(`manifest.json: ${name} does not have the same outputs as decode_step`);
    }
  }
  const last = capacities[capacities.length - 1];
  if (last !== null) {
    if (capacities.some((a, i) => i + 1 < capacities.length && capacities[i + 1] <= a)) {
      throw new ArtifactError(
        `manifest.json: decode_signatures must go from the shortest cache to the longest, not ${pyRepr(capacities)}`,
      );
    }
    if (data.max_target_length > last) {
      throw new ArtifactError(
        `manifest.json: max_target_length ${pyRepr(data.max_target_length)} is longer than decode_step's cache (${last} positions)`,
      );
    }
  }
}

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * Parse and validate the content of a `manifest.json` (`load_manifest` without the file
 * system: the page fetches the file).
 *
 * @param {string|Uint8Array} content the file's text or bytes (strict UTF-8).
 * @param {string} where how to name the file in error messages.
 * @param {string} directory where the artifact's other files are (see `Manifest.path`).
 */
export function parseManifest(content, where = MANIFEST_FILE, directory = '') {
  const size = typeof content === 'string' ? (content.length * 3 > MAX_MANIFEST_BYTES ? utf8Length(content) : 0) : content.length;
  if (size > MAX_MANIFEST_BYTES) {
    throw new ArtifactError(`${where}: ${size} bytes; a manifest has at most ${MAX_MANIFEST_BYTES}`);
  }
  let data;
  try {
    const text =
      typeof content === 'string' ? content : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
    data = parseJson(text);
  } catch (e) {
    if (e instanceof JsonError) throw new ArtifactError(`${where}: not valid JSON (${short(e.message)})`);
    if (e instanceof TypeError) throw new ArtifactError(`${where}: not valid JSON (not UTF-8)`);
    throw e;
  }
  if (!isDict(data)) throw new ArtifactError(`${where}: expected a JSON object`);
  validate(data);
  return new Manifest(data, directory);
}
