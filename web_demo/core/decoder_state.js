/**
 * Decoding state: what a search holds between two steps of one batch (mirrors
 * `ondevice/decoder_state.py`).
 *
 * A search starts a state from source ids (`startDecoding`) and then only calls, once per
 * generated position:
 *
 * - `logits = await state.step(tokens)`: run the decoder for position `state.length` (one token
 *   per row -> `Logits` (rows, vocab)) and update the state the way the manifest says: a
 *   `replace` state takes the step's output, an `append` state (a K/V cache) gets the step's
 *   row written at index `length` along its `time_axis`;
 * - `await state.select(rows, memoryRows)`: keep only these rows, in this order (beam
 *   reordering, finished sentences leaving the batch); memory tensors follow `memoryRows`
 *   (default `rows`), which beam search sets to whole sentences since beams of one sentence
 *   share their memory;
 * - `await state.close()` once done (release what the state holds; idempotent).
 *
 * The searches `await` every call, so a state may answer synchronously (the array state here)
 * or with promises (LiteRT.js runs a signature asynchronously).
 *
 * `ArrayDecoderState` implements this for any *step model*: an object with `decoderTensors`
 * (the memory and state `TensorInfo`s of `decode_step`'s inputs, manifest order),
 * `encode(sourceIds) -> {name: Tensor}` and `decodeStep(token, step, tensors) -> {logits,
 * name: Tensor}` (either may return a promise): the replayed goldens, test doubles. A model with
 * its own `start(sourceIds, maxSteps)` makes its own state (the LiteRT.js runtime will, with
 * buffers inside the runtime).
 */

import { ArtifactError, ValueError } from './errors.js';
import { Tensor } from './tensor.js';

/** The key of the logits in a step model's `decodeStep` result. */
export const LOGITS = 'logits';

/** Logits of one step: `rows` rows of `vocab` values (a Float32Array), row-major. */
export class Logits {
  constructor(rows, vocab, values) {
    if (values.length !== rows * vocab) throw new ValueError(`${values.length} logits do not make ${rows} rows of ${vocab}`);
    this.rows = rows;
    this.vocab = vocab;
    this.values = values;
  }
}

/**
 * A decoding state for `model` on `sourceIds` (`start_decoding`).
 *
 * @param model a step model, or a model with its own `start(sourceIds, maxSteps)`.
 * @param {number[][]} sourceIds (batch, src) ids given to the model's encoder.
 * @param {number} maxSteps most steps that will be run (cache capacity).
 * @returns {Promise<object>} the decoding state.
 */
export async function startDecoding(model, sourceIds, maxSteps) {
  if (typeof model.start === 'function') return model.start(sourceIds, maxSteps);
  return ArrayDecoderState.start(model, sourceIds, maxSteps);
}

/** A zero buffer for an append state: its manifest shape with this batch and cache length. */
export function appendBuffer(t, batch, capacity) {
  const shape = [...t.shape];
  if (t.batchAxis === null) throw new ArtifactError(`manifest.json: state '${t.name}' has no batch_axis`);
  shape[t.batchAxis] = batch;
  shape[t.timeAxis] = capacity;
  if (shape.some((d) => d < 0)) {
    throw new ArtifactError(`state '${t.name}' has an unknown dimension besides batch and time: [${t.shape}]`);
  }
  return Tensor.zeros(t.dtype, shape);
}

/** A decoding state held in `Tensor`s, for any step model (see the file comment). */
export class ArrayDecoderState {
  /**
   * Use `ArrayDecoderState.start` (it runs `encode`).
   *
   * @param model the step model.
   * @param {object} encoded `encode`'s outputs by name.
   * @param {number} batch rows.
   * @param {number} maxSteps capacity of append states along their time axis.
   */
  constructor(model, encoded, batch, maxSteps) {
    this.model = model;
    this.length = 0; // positions decoded so far
    this.batchSize = batch;
    /** The memory and state tensors by name (what the next step is fed). */
    this.tensors = {};
    for (const t of model.decoderTensors) {
      if (t.role === 'state' && t.timeAxis !== null) {
        this.tensors[t.name] = appendBuffer(t, batch, maxSteps);
      } else {
        if (!(t.name in encoded)) throw new ArtifactError(`encode did not produce '${t.name}'`);
        this.tensors[t.name] = encoded[t.name];
      }
    }
  }

  /** Encode `sourceIds` and hold the result (`ArrayDecoderState(model, source_ids, max_steps)`). */
  static async start(model, sourceIds, maxSteps) {
    const encoded = await model.encode(sourceIds);
    return new ArrayDecoderState(model, encoded, sourceIds.length, maxSteps);
  }

  /** Nothing to release. */
  close() {}

  /** Decode position `length` for one token per row; returns `Logits` (rows, vocab). */
  async step(token) {
    const out = { ...(await this.model.decodeStep(Int32Array.from(token), this.length, this.tensors)) };
    const logits = out[LOGITS];
    if (logits === undefined) throw new ArtifactError(`decode_step returned no '${LOGITS}' (got ${Object.keys(out)})`);
    delete out[LOGITS];
    for (const t of this.model.decoderTensors) {
      if (t.role !== 'state' || !(t.name in out)) continue;
      if (t.timeAxis === null) this.tensors[t.name] = out[t.name];
      else this.tensors[t.name].setSlice(t.timeAxis, this.length, out[t.name]);
    }
    this.length += 1;
    const vocab = logits.shape[logits.shape.length - 1];
    const values = logits.dtype === 'float64' ? logits.data : logits.toFloat32Array();
    return new Logits(logits.shape[0], vocab, values);
  }

  /** Keep `rows` of every state (and `memoryRows`, default `rows`, of every memory tensor). */
  select(rows, memoryRows = null) {
    for (const t of this.model.decoderTensors) {
      const chosen = t.role === 'state' ? rows : memoryRows ?? rows;
      this.tensors[t.name] = this.tensors[t.name].take(chosen, t.batchAxis);
    }
    this.batchSize = rows.length;
  }
}
