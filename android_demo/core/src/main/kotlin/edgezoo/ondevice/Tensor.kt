package edgezoo.ondevice

/** Element types of signature tensors, named as in `manifest.json` (numpy names). */
enum class DType(val manifestName: String, val size: Int) {
    FLOAT32("float32", 4),
    FLOAT16("float16", 2),
    INT64("int64", 8),
    INT32("int32", 4),
    INT16("int16", 2),
    INT8("int8", 1),
    UINT8("uint8", 1),
    BOOL("bool", 1);

    companion object {
        /** The [DType] called [name] in a manifest; [ArtifactError] if unsupported. */
        fun of(name: String): DType =
            values().firstOrNull { it.manifestName == name }
                ?: throw ArtifactError("unsupported tensor dtype '$name'")
    }
}

/**
 * A dense tensor: dtype, shape and its bytes in little-endian, row-major (C) order.
 *
 * This is what numpy arrays are on the Python side. The search only ever reorders memory and
 * state tensors along their batch axis ([take]), so it never needs to know their element type;
 * it reads `logits` as floats and writes `token` ids as ints.
 */
class Tensor(val dtype: DType, shape: IntArray, val data: ByteArray) {
    val shape: IntArray = shape.copyOf()

    /** Number of elements (1 for a scalar). */
    val size: Int
        get() = shape.fold(1) { a, b -> a * b }

    init {
        require(shape.all { it >= 0 }) { "negative dimension in shape ${shape.toList()}" }
        require(data.size == size * dtype.size) {
            "${data.size} bytes do not hold a ${dtype.manifestName} tensor of shape ${shape.toList()}"
        }
    }

    /**
     * `np.take(self, indices, axis=axis)`: the slices at [indices] along [axis], in that order
     * (indices may repeat). Used for beam reordering along a tensor's batch axis.
     */
    fun take(indices: IntArray, axis: Int): Tensor {
        val rank = shape.size
        val a = if (axis < 0) axis + rank else axis
        require(a in 0 until rank) { "axis $axis out of range for a rank-$rank tensor" }
        val n = shape[a]
        var outer = 1
        for (i in 0 until a) outer *= shape[i]
        var inner = dtype.size
        for (i in a + 1 until rank) inner *= shape[i]
        val out = ByteArray(outer * indices.size * inner)
        for (o in 0 until outer) {
            for ((j, index) in indices.withIndex()) {
                require(index in 0 until n) { "index $index is out of bounds for axis $a with size $n" }
                System.arraycopy(data, (o * n + index) * inner, out, (o * indices.size + j) * inner, inner)
            }
        }
        val newShape = shape.copyOf()
        newShape[a] = indices.size
        return Tensor(dtype, newShape, out)
    }

    /**
     * `self[..., index:index + 1, ...] = value` along [axis]: write [value] (this tensor's shape
     * with 1 along [axis]) at [index]. How a step's new row enters an `append` state.
     */
    fun setSlice(axis: Int, index: Int, value: Tensor) {
        val rank = shape.size
        require(axis in 0 until rank) { "axis $axis out of range for a rank-$rank tensor" }
        require(index in 0 until shape[axis]) { "index $index is out of bounds for axis $axis with size ${shape[axis]}" }
        val expected = shape.copyOf().also { it[axis] = 1 }
        require(value.dtype == dtype && value.shape.contentEquals(expected)) {
            "cannot write a ${value.dtype.manifestName} tensor of shape ${value.shape.toList()} at index $index " +
                "along axis $axis of a ${dtype.manifestName} tensor of shape ${shape.toList()}"
        }
        var outer = 1
        for (i in 0 until axis) outer *= shape[i]
        var inner = dtype.size
        for (i in axis + 1 until rank) inner *= shape[i]
        for (o in 0 until outer) {
            System.arraycopy(value.data, o * inner, data, (o * shape[axis] + index) * inner, inner)
        }
    }

    /** The elements of a `float32` tensor. */
    fun toFloatArray(): FloatArray {
        require(dtype == DType.FLOAT32) { "expected a float32 tensor, got ${dtype.manifestName}" }
        val out = FloatArray(size)
        for (i in out.indices) out[i] = java.lang.Float.intBitsToFloat(readInt(i * 4))
        return out
    }

    /** The elements of an `int32` tensor. */
    fun toIntArray(): IntArray {
        require(dtype == DType.INT32) { "expected an int32 tensor, got ${dtype.manifestName}" }
        return IntArray(size) { readInt(it * 4) }
    }

    private fun readInt(offset: Int): Int =
        (data[offset].toInt() and 0xFF) or
            ((data[offset + 1].toInt() and 0xFF) shl 8) or
            ((data[offset + 2].toInt() and 0xFF) shl 16) or
            ((data[offset + 3].toInt() and 0xFF) shl 24)

    override fun toString() = "Tensor(${dtype.manifestName}, ${shape.toList()})"

    companion object {
        /** A tensor of [shape] filled with zeros. */
        fun zeros(dtype: DType, shape: IntArray): Tensor =
            Tensor(dtype, shape, ByteArray(shape.fold(1) { a, b -> a * b } * dtype.size))

        /** A `float32` tensor of [shape] holding [values]. */
        fun ofFloats(shape: IntArray, values: FloatArray): Tensor {
            val data = ByteArray(values.size * 4)
            for ((i, v) in values.withIndex()) writeInt(data, i * 4, java.lang.Float.floatToRawIntBits(v))
            return Tensor(DType.FLOAT32, shape, data)
        }

        /** An `int32` tensor of [shape] holding [values]. */
        fun ofInts(shape: IntArray, values: IntArray): Tensor {
            val data = ByteArray(values.size * 4)
            for ((i, v) in values.withIndex()) writeInt(data, i * 4, v)
            return Tensor(DType.INT32, shape, data)
        }

        private fun writeInt(data: ByteArray, offset: Int, v: Int) {
            data[offset] = v.toByte()
            data[offset + 1] = (v shr 8).toByte()
            data[offset + 2] = (v shr 16).toByte()
            data[offset + 3] = (v shr 24).toByte()
        }
    }
}
