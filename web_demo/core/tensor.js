/**
 * A dense row-major tensor: what numpy arrays are on the Python side (Kotlin's `Tensor`).
 *
 * The search only ever reorders memory and state tensors along their batch axis (`take`) and
 * writes a step's row into an append state (`setSlice`), so it never needs their element type;
 * it reads `logits` as floats and writes `token` ids as ints.
 */

import { ValueError } from './errors.js';

/** The typed array of each manifest dtype (float16 is kept as raw bits). */
export const TYPED_ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The value of IEEE 754 half-precision bits. */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function sizeOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

export class Tensor {
  /**
   * @param {string} dtype a manifest dtype (`float32`, `int32`, ...; `float64` too).
   * @param {number[]} shape its dimensions.
   * @param {ArrayLike} data its elements in row-major order (the dtype's typed array).
   */
  constructor(dtype, shape, data) {
    const Type = TYPED_ARRAYS[dtype];
    if (!Type) throw new ValueError(`unsupported tensor dtype '${dtype}'`);
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    if (this.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ValueError(`negative dimension in shape [${this.shape}]`);
    }
    this.data = data instanceof Type ? data : Type.from(data);
    if (this.data.length !== this.size) {
      throw new ValueError(`${this.data.length} elements do not make a ${dtype} tensor of shape [${this.shape}]`);
    }
  }

  /** Number of elements (1 for a scalar). */
  get size() {
    return sizeOf(this.shape);
  }

  /** A tensor of `shape` filled with zeros. */
  static zeros(dtype, shape) {
    const Type = TYPED_ARRAYS[dtype];
    if (!Type) throw new ValueError(`unsupported tensor dtype '${dtype}'`);
    return new Tensor(dtype, shape, new Type(sizeOf(shape)));
  }

  /** A `float32` tensor of `shape` holding `values`. */
  static ofFloats(shape, values) {
    return new Tensor('float32', shape, values instanceof Float32Array ? values : Float32Array.from(values));
  }

  /** An `int32` tensor of `shape` holding `values`. */
  static ofInts(shape, values) {
    return new Tensor('int32', shape, values instanceof Int32Array ? values : Int32Array.from(values));
  }

  /**
   * `np.take(self, indices, axis=axis)`: the slices at `indices` along `axis`, in that order
   * (indices may repeat). Used for beam reordering along a tensor's batch axis.
   */
  take(indices, axis) {
    const rank = this.shape.length;
    const a = axis < 0 ? axis + rank : axis;
    if (!(a >= 0 && a < rank)) throw new ValueError(`axis ${axis} out of range for a rank-${rank} tensor`);
    const n = this.shape[a];
    const outer = sizeOf(this.shape.slice(0, a));
    const inner = sizeOf(this.shape.slice(a + 1));
    const out = new this.data.constructor(outer * indices.length * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < indices.length; j++) {
        const index = indices[j];
        if (!(index >= 0 && index < n)) throw new ValueError(`index ${index} is out of bounds for axis ${a} with size ${n}`);
        const from = (o * n + index) * inner;
        out.set(this.data.subarray(from, from + inner), (o * indices.length + j) * inner);
      }
    }
    const shape = [...this.shape];
    shape[a] = indices.length;
    return new Tensor(this.dtype, shape, out);
  }

  /**
   * `self[..., index:index + 1, ...] = value` along `axis`: write `value` (this tensor's shape
   * with 1 along `axis`) at `index`. How a step's new row enters an `append` state.
   */
  setSlice(axis, index, value) {
    const rank = this.shape.length;
    if (!(axis >= 0 && axis < rank)) throw new ValueError(`axis ${axis} out of range for a rank-${rank} tensor`);
    if (!(index >= 0 && index < this.shape[axis])) {
      throw new ValueError(`index ${index} is out of bounds for axis ${axis} with size ${this.shape[axis]}`);
    }
    const expected = [...this.shape];
    expected[axis] = 1;
    if (value.dtype !== this.dtype || value.shape.length !== rank || value.shape.some((d, i) => d !== expected[i])) {
      throw new ValueError(
        `cannot write a ${value.dtype} tensor of shape [${value.shape}] at index ${index} along axis ${axis} ` +
          `of a ${this.dtype} tensor of shape [${this.shape}]`,
      );
    }
    const outer = sizeOf(this.shape.slice(0, axis));
    const inner = sizeOf(this.shape.slice(axis + 1));
    for (let o = 0; o < outer; o++) {
      this.data.set(value.data.subarray(o * inner, (o + 1) * inner), (o * this.shape[axis] + index) * inner);
    }
  }

  /** The elements as a Float32Array (the data itself for a float32 tensor; float16 decoded). */
  toFloat32Array() {
    if (this.dtype === 'float32') return this.data;
    if (this.dtype === 'float16') return Float32Array.from(this.data, halfToFloat);
    return Float32Array.from(this.data, Number);
  }

  toString() {
    return `Tensor(${this.dtype}, [${this.shape}])`;
  }
}
