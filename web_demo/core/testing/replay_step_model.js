/**
 * Replays a decode recorded by `android_demo/tools/make_goldens.py`, checking that every call is
 * the recorded one (a port of the Kotlin tests' `ReplayStepModel.kt`).
 *
 * A step model, so the search decodes it through an `ArrayDecoderState`. Its memory and states
 * are marker tensors: each row holds `(producer + 1) * MARK + row`, where the producer is
 * `encode` (-1) or the index of the `decodeStep` call that returned the row; an `append` state
 * holds at position `t` the marker of call `t`'s row (0 where nothing was written yet). The
 * search and the state reorder, drop and append them like real state, so each call can check
 * where every row came from against the recording. Logits are the recorded compact rows
 * expanded to float32 rows (the same rows the Python replay checked).
 */

import assert from 'node:assert/strict';

import { LOGITS } from '../decoder_state.js';
import { Tensor } from '../tensor.js';

export const ENCODE = -1;
export const MARK = 1000;

export function marker(producer, row) {
  return (producer + 1) * MARK + row;
}

/** The index along `axis` of the element at flat (row-major) index `flat` of a `shape` tensor. */
export function indexAlong(shape, axis, flat) {
  let stride = 1;
  for (let a = axis + 1; a < shape.length; a++) stride *= shape[a];
  return Math.floor(flat / stride) % shape[axis];
}

function kind(t) {
  if (t.role === 'memory') return 'memory';
  return t.timeAxis !== null ? 'append' : 'replace';
}

export class ReplayStepModel {
  /**
   * @param {object} golden a `decode_*.json` record.
   * @param {TensorInfo[]} decoderTensors the memory and state tensors of the recorded model.
   */
  constructor(golden, decoderTensors) {
    this.golden = golden;
    this.decoderTensors = decoderTensors;
    this.segments = golden.segments;
    this.vocabularySize = golden.vocabulary_size;
    this.segment = -1;
    this.call = 0;
    this.calls = 0; // decodeStep calls replayed, all batches
  }

  /** Marker tensors of `rows` rows made by `producer` for the tensors of `kinds`. */
  _markers(producer, rows, kinds) {
    const out = {};
    for (const t of this.decoderTensors) {
      const k = kind(t);
      if (!kinds.includes(k)) continue;
      if (k === 'append') {
        // This position's row: the manifest shape with `rows` rows and 1 along time.
        const shape = [...t.shape];
        shape[t.batchAxis] = rows;
        shape[t.timeAxis] = 1;
        const size = shape.reduce((a, b) => a * b, 1);
        const values = Float32Array.from({ length: size }, (_, i) => marker(producer, indexAlong(shape, t.batchAxis, i)));
        out[t.name] = Tensor.ofFloats(shape, values);
      } else {
        const shape = t.shape.map(() => 1);
        shape[t.batchAxis] = rows;
        out[t.name] = Tensor.ofInts(
          shape,
          Int32Array.from({ length: rows }, (_, r) => marker(producer, r)),
        );
      }
    }
    return out;
  }

  encode(sourceIds) {
    this.segment += 1;
    this.call = 0;
    assert.ok(this.segment < this.segments.length, `more batches encoded than recorded (${this.segments.length})`);
    const recorded = this.segments[this.segment].source_ids;
    assert.deepEqual(
      sourceIds.map((row) => [...row]),
      recorded,
      `source ids of batch ${this.segment}`,
    );
    return this._markers(ENCODE, sourceIds.length, ['memory', 'replace']);
  }

  decodeStep(token, step, tensors) {
    const calls = this.segments[this.segment].calls;
    const where = `batch ${this.segment}, call ${this.call}`;
    if (this.call >= calls.length) throw new assert.AssertionError({ message: `${where}: more decode_step calls than recorded (${calls.length})` });
    const recorded = calls[this.call];
    assert.equal(step, recorded.step, `step at ${where}`);
    assert.deepEqual([...token], recorded.token, `tokens at ${where}`);
    const inputs = recorded.inputs;
    const rows = token.length;
    for (const t of this.decoderTensors) {
      const tensor = tensors[t.name];
      assert.ok(tensor, `${where}: ${t.name} not fed`);
      const axis = t.batchAxis;
      assert.equal(tensor.shape[axis], rows, `rows of ${t.name} at ${where}`);
      let expected;
      if (kind(t) === 'memory') {
        expected = (row) => marker(ENCODE, inputs.memory[row]);
      } else if (kind(t) === 'replace') {
        expected = (row) => marker(inputs.replace.from, inputs.replace.rows[row]);
      } else {
        const made = inputs.append;
        expected = (row, position) => (position < made.length ? marker(position, made[position][row]) : 0);
      }
      const values = tensor.data;
      for (let i = 0; i < values.length; i++) {
        const row = indexAlong(tensor.shape, axis, i);
        const position = t.timeAxis !== null ? indexAlong(tensor.shape, t.timeAxis, i) : 0;
        const want = expected(row, position);
        if (Number(values[i]) !== want) {
          throw new assert.AssertionError({
            message:
              `${where}: ${t.name} (${kind(t)}) row ${row} position ${position} holds marker ${values[i]}, ` +
              `expected ${want} ((producer + 1) * ${MARK} + row)`,
          });
        }
      }
    }
    const logits = recorded.logits;
    assert.equal(logits.fill.length, rows, `logits rows at ${where}`);
    const values = new Float32Array(rows * this.vocabularySize);
    for (let r = 0; r < rows; r++) {
      values.fill(Math.fround(logits.fill[r]), r * this.vocabularySize, (r + 1) * this.vocabularySize);
      logits.index[r].forEach((id, i) => {
        values[r * this.vocabularySize + id] = Math.fround(logits.value[r][i]);
      });
    }
    const out = { [LOGITS]: Tensor.ofFloats([rows, this.vocabularySize], values) };
    Object.assign(out, this._markers(this.call, rows, ['replace', 'append']));
    this.call += 1;
    this.calls += 1;
    return out;
  }

  /** Every recorded batch and call was replayed. */
  assertFinished() {
    assert.equal(this.segment + 1, this.segments.length, 'batches replayed');
    assert.equal(this.call, this.segments[this.segment].calls.length, 'calls replayed in the last batch');
  }
}
