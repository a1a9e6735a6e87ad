/**
 * The converted model run by LiteRT.js (mirrors `ondevice/litert_model.py`).
 *
 * LiteRT.js cannot resize a signature's inputs, so the page runs the artifact's static-shape
 * copy `model_web.tflite` (written by `zoo web` / `converters/web_export.py`, described by the
 * manifest's `web` entry): `encode_b1` takes one sentence padded to `source_length` tokens, and
 * `{variant}_b{B}` decodes `B` rows with each `decode_step` variant's cache length.
 *
 * The decoding state lives in the runtime, as in Python: each bound signature has persistent
 * input tensors whose WebAssembly memory is written in place (the token, the step, each new
 * K/V row at index `step`, a replaced state); only `select` (beam reordering) and moving to a
 * longer cache or a wider batch copy whole tensors. Rows past the live ones are decoded and
 * ignored. Every LiteRT.js failure while running a signature becomes an `ArtifactError` naming
 * the file and the signature, and every tensor is `delete()`d.
 */

import { ArtifactError, ValueError } from './errors.js';
import { Logits } from './decoder_state.js';
import { pyRepr } from './python.js';
import { Tensor } from './tensor.js';

/** The static signature of `name` (`encode`, a `decode_step` variant) for `batch` rows. */
export function webSignature(name, batch) {
  return `${name}_b${batch}`;
}

const IO_ARRAYS = { float32: Float32Array, int32: Int32Array };

function sizeOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function messageOf(e) {
  const text = String((e && e.message) || e).trim().split('\n')[0];
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * Check the manifest's `web` entry (what `converters/web_export.py` writes); returns it.
 *
 * @param {import('./manifest.js').Manifest} manifest
 */
export function webEntry(manifest) {
  const web = manifest.data.web;
  const hint = `; run \`zoo web ${manifest.directory || 'ARTIFACT'}\` to write it`;
  if (!web || typeof web !== 'object' || Array.isArray(web)) {
    throw new ArtifactError(`manifest.json has no 'web' entry (the static-shape model LiteRT.js needs)${hint}`);
  }
  const positive = (v, high) => Number.isInteger(v) && v >= 1 && v <= high;
  if (typeof web.model_file !== 'string' || !/^[A-Za-z0-9._-]+\.tflite$/.test(web.model_file)) {
    throw new ArtifactError(`manifest.json: web.model_file must be a .tflite file name in the artifact${hint}`);
  }
  if (!positive(web.source_length, 4096) || web.source_length < manifest.maxSourceLength) {
    throw new ArtifactError(`manifest.json: web.source_length must be an integer from max_source_length to 4096${hint}`);
  }
  if (!Array.isArray(web.batch_sizes) || !web.batch_sizes.length || !web.batch_sizes.every((b) => positive(b, 16))) {
    throw new ArtifactError(`manifest.json: web.batch_sizes must be a list of integers from 1 to 16${hint}`);
  }
  if (typeof web.model_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(web.model_sha256)) {
    throw new ArtifactError(`manifest.json: web.model_sha256 must be a sha256 hex digest${hint}`);
  }
  return web;
}

/**
 * One compiled signature with persistent input tensors (Python's `_Subgraph`).
 */
class Binding {
  constructor(model, name) {
    this.model = model;
    this.name = name;
    this.runner = model.compiled.signatures[name];
    this.shapes = {};
    for (const d of this.runner.getInputDetails()) this.shapes[d.name] = Array.from(d.shape);
    this.inputs = {};
    for (const [name, shape] of Object.entries(this.shapes)) {
      const dtype = model.inputDtypes[name] ?? 'float32';
      this.inputs[name] = new model.lite.Tensor(new IO_ARRAYS[dtype](sizeOf(shape)), shape);
    }
  }

  /** `use(view)` on a typed-array view of input `name`'s WebAssembly memory (`READ` or `WRITE`). */
  heap(name, mode, use) {
    const tensor = this.inputs[name];
    const wasm = this.model.lite.getGlobalLiteRt().liteRtWasm;
    const buffer = tensor.liteRtTensorBuffer;
    const pointer = buffer.lock(wasm.LiteRtTensorBufferLockMode[mode]);
    try {
      const Type = IO_ARRAYS[tensor.type.dtype];
      return use(new Type(wasm.HEAPU8.buffer, pointer, buffer.packedSize() / Type.BYTES_PER_ELEMENT));
    } finally {
      buffer.unlock();
    }
  }

  /** A copy of input `name` as a `Tensor`. */
  read(name) {
    const dtype = this.inputs[name].type.dtype;
    return new Tensor(dtype, this.shapes[name], this.heap(name, 'READ', (v) => v.slice()));
  }

  /** Overwrite input `name` with `values` (a typed array, zero-filled past its end). */
  write(name, values) {
    this.heap(name, 'WRITE', (v) => {
      v.fill(0);
      v.set(values.subarray(0, Math.min(values.length, v.length)));
    });
  }

  /** Run the signature; its outputs as `Tensor`s copied out (the LiteRT.js outputs are deleted). */
  async run() {
    let outputs;
    try {
      outputs = await this.runner.run(this.inputs);
    } catch (e) {
      throw new ArtifactError(`${this.model.where}: signature ${pyRepr(this.name)} failed: ${messageOf(e)}`);
    }
    const copies = {};
    try {
      for (const [name, tensor] of Object.entries(outputs)) {
        const shape = Array.from(tensor.type.layout.dimensions);
        copies[name] = new Tensor(tensor.type.dtype, shape, tensor.toTypedArray()); // a copy out of WebAssembly memory
      }
    } finally {
      for (const tensor of Object.values(outputs)) tensor.delete();
    }
    return copies;
  }

  delete() {
    for (const tensor of Object.values(this.inputs)) if (!tensor.deleted) tensor.delete();
  }
}

/**
 * A converted encoder-decoder run by LiteRT.js, decoded with runtime-owned state.
 *
 * `start(sourceIds, maxSteps)` returns a `LiteRTDecoderState` (the interface of
 * `decoder_state.js`). One sentence at a time (`encode_b1`); beam search decodes its beams in
 * the smallest `web.batch_sizes` entry that holds them.
 */
export class LiteRTStepModel {
  /**
   * Use `LiteRTStepModel.load`.
   *
   * @param lite the `@litertjs/core` module, its runtime loaded (`loadLiteRt`).
   * @param compiled the compiled web model (`loadAndCompile`).
   * @param {import('./manifest.js').Manifest} manifest
   * @param {string} where the model file (for messages).
   */
  constructor(lite, compiled, manifest, where) {
    this.lite = lite;
    this.compiled = compiled;
    this.manifest = manifest;
    this.where = where;
    this.web = webEntry(manifest);
    this.batchSizes = [...this.web.batch_sizes].sort((a, b) => a - b);
    this.sourceLength = this.web.source_length;
    this.decoderTensors = manifest.decoderTensors();
    const made = new Set(manifest.tensors('decode_step', 'outputs').map((t) => t.name));
    const unfed = this.decoderTensors.filter((t) => t.role === 'state' && !made.has(t.name)).map((t) => t.name);
    if (unfed.length) throw new ArtifactError(`${where}: decode_step states ${pyRepr(unfed.sort())} are not among its outputs`);
    const inputs = manifest.tensors('decode_step', 'inputs');
    this.tokenName = inputs.find((t) => t.role === 'token').name;
    this.stepName = inputs.find((t) => t.role === 'step').name;
    this.logitsName = manifest.tensors('decode_step', 'outputs').find((t) => t.role === 'logits').name;
    this.sourceName = manifest.tensors('encode', 'inputs')[0].name;
    this.inputDtypes = {};
    for (const name of ['encode', ...manifest.decodeSignatures]) {
      for (const t of manifest.tensors(name, 'inputs')) this.inputDtypes[t.name] = t.dtype;
    }
    const wanted = [webSignature('encode', 1)];
    for (const name of manifest.decodeSignatures) for (const b of this.batchSizes) wanted.push(webSignature(name, b));
    const available = Object.keys(compiled.signatures);
    for (const name of wanted) {
      if (!available.includes(name)) {
        throw new ArtifactError(`${where}: no ${pyRepr(name)} signature (has ${pyRepr(available.sort())}); re-run \`zoo web\``);
      }
      for (const d of compiled.signatures[name].getInputDetails()) {
        if (Array.from(d.shape).some((n) => n < 0)) {
          throw new ArtifactError(`${where}: signature ${pyRepr(name)} input ${pyRepr(d.name)} has a dynamic shape; LiteRT.js needs static ones`);
        }
        if (!(d.dtype in IO_ARRAYS)) {
          throw new ArtifactError(`${where}: signature ${pyRepr(name)} input ${pyRepr(d.name)} is ${d.dtype}; LiteRT.js feeds float32 and int32`);
        }
      }
    }
    this.active = false;
    this.bindings = new Map(); // signature name -> Binding (made on first use, kept)
    this.resetCounters();
  }

  /** Zero the figures: decode steps run, their milliseconds, the encoder's milliseconds. */
  resetCounters() {
    this.decodeSteps = 0;
    this.decodeMs = 0;
    this.encodeMs = 0;
  }

  /**
   * Compile the artifact's web model (bytes already read and checked against `web.model_sha256`).
   *
   * @param lite the `@litertjs/core` module, its runtime loaded.
   * @param {import('./manifest.js').Manifest} manifest
   * @param {Uint8Array} bytes the contents of `web.model_file`.
   */
  static async load(lite, manifest, bytes) {
    const web = webEntry(manifest);
    const where = `${manifest.directory ? `${manifest.directory}/` : ''}${web.model_file}`;
    let compiled;
    try {
      compiled = await lite.loadAndCompile(bytes, { accelerator: 'wasm' });
    } catch (e) {
      throw new ArtifactError(`${where}: not a loadable .tflite model: ${messageOf(e)}`);
    }
    try {
      return new LiteRTStepModel(lite, compiled, manifest, where);
    } catch (e) {
      compiled.delete();
      throw e;
    }
  }

  binding(name) {
    if (!this.bindings.has(name)) this.bindings.set(name, new Binding(this, name));
    return this.bindings.get(name);
  }

  /** Encode one sentence and return a `LiteRTDecoderState` over it. */
  async start(sourceIds, maxSteps = null) {
    if (this.active) throw new ValueError('a decoding state is open on this model; close it first');
    if (sourceIds.length !== 1) throw new ValueError(`the web model encodes one sentence at a time, got ${sourceIds.length}`);
    const ids = sourceIds[0];
    if (ids.length > this.sourceLength) {
      throw new ValueError(`source is ${ids.length} tokens; the web model takes at most ${this.sourceLength}`);
    }
    const started = performance.now();
    const encode = this.binding(webSignature('encode', 1));
    encode.write(this.sourceName, Int32Array.from(ids)); // padded with zeros = pad id
    const pad = this.manifest.specialTokens.pad;
    if (pad !== 0) encode.heap(this.sourceName, 'WRITE', (v) => v.fill(pad, ids.length));
    const encoded = await encode.run();
    this.encodeMs += performance.now() - started;
    this.active = true;
    return new LiteRTDecoderState(this, encoded);
  }

  /**
   * Run every signature once on zeros: LiteRT.js prepares a signature (XNNPACK packs its
   * weights) on its first run, which would otherwise land in the first sentence's timings.
   */
  async warmUp() {
    for (const name of Object.keys(this.compiled.signatures)) await this.binding(name).run();
  }

  /** Release every tensor and the compiled model. */
  delete() {
    for (const binding of this.bindings.values()) binding.delete();
    this.bindings.clear();
    this.compiled.delete();
  }
}

/** Decoding state in LiteRT.js input tensors (see `decoder_state.js` for the interface). */
export class LiteRTDecoderState {
  constructor(model, encoded) {
    this.model = model;
    this.length = 0;
    this.batchSize = 1;
    this.closed = false;
    this.variant = -1;
    this.binding = null;
    this.pending = {}; // values to write at the next bind: encode's outputs
    for (const t of model.decoderTensors) {
      if (t.role === 'memory' || t.timeAxis === null) {
        if (!(t.name in encoded)) throw new ArtifactError(`${model.where}: encode did not produce ${pyRepr(t.name)}`);
        this.pending[t.name] = encoded[t.name];
      }
    }
  }

  close() {
    this.closed = true;
    this.model.active = false;
  }

  /** Copies of the used part of every memory and state tensor (rows as bound). */
  snapshot() {
    const values = {};
    for (const t of this.model.manifest.tensors(this.binding.variantName, 'inputs')) {
      if (t.role === 'memory' || t.role === 'state') values[t.name] = this.binding.read(t.name);
    }
    return values;
  }

  /** Bind decode variant `variant` for `batch` rows and write `values` (rows 0..n-1 used). */
  bind(variant, batch, values) {
    const variantName = this.model.manifest.decodeSignatures[variant];
    const binding = this.model.binding(webSignature(variantName, batch));
    binding.variantName = variantName;
    for (const t of this.model.manifest.tensors(variantName, 'inputs')) {
      if (t.role !== 'memory' && t.role !== 'state') continue;
      const shape = binding.shapes[t.name];
      const target = Tensor.zeros(binding.inputs[t.name].type.dtype, shape);
      const value = values[t.name];
      if (value) copyInto(target, value, t, Math.min(batch, value.shape[t.batchAxis]), t.timeAxis === null ? null : this.length);
      binding.write(t.name, target.data);
    }
    this.variant = variant;
    this.binding = binding;
  }

  /** Positions the bound variant's cache holds (Infinity without append states). */
  capacity() {
    const appended = this.model.manifest.tensors(this.binding.variantName, 'inputs').find((t) => t.isAppend);
    return appended ? this.binding.shapes[appended.name][appended.timeAxis] : Infinity;
  }

  /** Decode position `length` for one token per row; returns `Logits` (rows, vocab). */
  async step(token) {
    const model = this.model;
    const started = performance.now();
    const rows = token.length;
    const widest = model.batchSizes[model.batchSizes.length - 1];
    if (rows > widest) throw new ValueError(`${rows} rows; the web model decodes at most ${widest} (its widest batch)`);
    if (this.binding === null || this.length >= this.capacity() || this.binding.shapes[model.tokenName][0] < rows) {
      const values = this.binding === null ? this.pending : this.snapshot();
      let variant = Math.max(this.variant, 0);
      if (this.binding !== null && this.length >= this.capacity()) variant += 1;
      if (variant >= model.manifest.decodeSignatures.length) {
        throw new ValueError(`the model decodes at most ${this.capacity()} positions`);
      }
      this.bind(variant, model.batchSizes.find((b) => b >= rows), values);
      this.pending = null;
    }
    const binding = this.binding;
    binding.heap(model.tokenName, 'WRITE', (v) => {
      v.fill(0);
      v.set(token);
    });
    binding.heap(model.stepName, 'WRITE', (v) => {
      v[0] = this.length;
    });
    const out = await binding.run();
    const logits = out[model.logitsName];
    if (!logits || logits.shape.length !== 2 || logits.shape[0] !== binding.shapes[model.tokenName][0]) {
      throw new ArtifactError(`${model.where}: signature ${pyRepr(binding.name)} produced no logits of its batch`);
    }
    const vocab = logits.shape[1];
    const values = logits.toFloat32Array().subarray(0, rows * vocab); // the live rows (already a copy)
    if (!values.every(Number.isFinite)) {
      throw new ArtifactError(`${model.where}: signature ${pyRepr(binding.name)} produced non-finite values (NaN or inf) in ${pyRepr(model.logitsName)}`);
    }
    for (const t of model.manifest.tensors(binding.variantName, 'inputs')) {
      if (t.role !== 'state') continue;
      const value = out[t.name];
      if (!value) throw new ArtifactError(`${model.where}: signature ${pyRepr(binding.name)} did not produce ${pyRepr(t.name)}`);
      if (t.timeAxis === null) binding.write(t.name, value.data);
      else {
        const shape = binding.shapes[t.name];
        const axis = t.timeAxis;
        const outer = sizeOf(shape.slice(0, axis));
        const inner = sizeOf(shape.slice(axis + 1));
        const at = this.length;
        binding.heap(t.name, 'WRITE', (v) => {
          for (let o = 0; o < outer; o++) v.set(value.data.subarray(o * inner, (o + 1) * inner), (o * shape[axis] + at) * inner);
        });
      }
    }
    this.length += 1;
    this.batchSize = rows;
    model.decodeSteps += 1;
    model.decodeMs += performance.now() - started;
    return new Logits(rows, vocab, values);
  }

  /** Keep `rows` of every state and `memoryRows` (default `rows`) of every memory tensor. */
  select(rows, memoryRows = null) {
    if (this.binding === null) {
      // before the first step: the encoder's outputs (one row) are expanded when bound
      for (const t of this.model.decoderTensors) {
        if (this.pending[t.name]) this.pending[t.name] = this.pending[t.name].take(t.role === 'state' ? rows : memoryRows ?? rows, t.batchAxis);
      }
      this.batchSize = rows.length;
      return;
    }
    const physical = this.binding.shapes[this.model.tokenName][0];
    if (rows.length > physical) {
      // a wider batch: re-bind (same variant) with the selected rows
      const values = this.snapshot();
      for (const t of this.model.decoderTensors) values[t.name] = values[t.name].take(t.role === 'state' ? rows : memoryRows ?? rows, t.batchAxis);
      const widest = this.model.batchSizes[this.model.batchSizes.length - 1];
      if (rows.length > widest) throw new ValueError(`${rows.length} rows; the web model decodes at most ${widest}`);
      this.bind(this.variant, this.model.batchSizes.find((b) => b >= rows.length), values);
    } else {
      for (const t of this.model.manifest.tensors(this.binding.variantName, 'inputs')) {
        if (t.role !== 'memory' && t.role !== 'state') continue;
        const chosen = t.role === 'state' ? rows : memoryRows ?? rows;
        const kept = this.binding.read(t.name).take(chosen, t.batchAxis);
        this.binding.write(t.name, padRows(kept, t.batchAxis, physical).data);
      }
    }
    this.batchSize = rows.length;
  }
}

/** `value` with zero rows appended along `axis` up to `rows`. */
function padRows(value, axis, rows) {
  if (value.shape[axis] === rows) return value;
  const shape = [...value.shape];
  shape[axis] = rows;
  const out = Tensor.zeros(value.dtype, shape);
  copyInto(out, value, { batchAxis: axis, timeAxis: null }, value.shape[axis], null);
  return out;
}

/**
 * Copy the first `rows` rows of `value` into `target` (same rank); for an append state only
 * the first `length` positions along `t.timeAxis`, other dimensions must match.
 */
function copyInto(target, value, t, rows, length) {
  const rank = target.shape.length;
  if (value.shape.length !== rank) throw new ArtifactError(`cannot copy a rank-${value.shape.length} tensor into rank ${rank}`);
  const limits = value.shape.map((d, i) => (i === t.batchAxis ? rows : i === t.timeAxis ? length : d));
  for (let i = 0; i < rank; i++) {
    if (limits[i] > target.shape[i]) {
      throw new ArtifactError(`tensor of shape [${value.shape}] does not fit the web model's [${target.shape}]`);
    }
  }
  const index = new Array(rank).fill(0);
  const total = sizeOf(limits);
  const strides = (shape) => shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const from = strides(value.shape);
  const to = strides(target.shape);
  const last = rank - 1;
  const run = rank ? limits[last] : 1;
  for (let done = 0; done < total; done += run) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < last; i++) {
      a += index[i] * from[i];
      b += index[i] * to[i];
    }
    target.data.set(value.data.subarray(a, a + run), b);
    for (let i = last - 1; i >= 0; i--) {
      index[i] += 1;
      if (index[i] < limits[i]) break;
      index[i] = 0;
    }
  }
}
