package edgezoo.ondevice

import java.nio.ByteBuffer
import java.nio.ByteOrder

/*
 * Runtime-owned decoding buffers for an interpreter (the counterpart of
 * `ondevice.litert_model.LiteRTDecoderState`, written against a small [StepRunner] interface so
 * that it runs, and is tested, on a plain JVM; the app's LiteRT model is the real runner).
 *
 * The state owns one buffer per `decode_step` input: the memory and `replace` states (copied
 * from `encode`'s outputs), the `append` states (K/V caches, zero at first), the token and the
 * step. A step hands all of them to the runner, then writes back only what is new: the whole
 * output of a `replace` state, one row per `append` state at index `step` along its time axis.
 * It decodes step `t` with the shortest `decode_step` variant (manifest `decode_signatures`)
 * whose cache holds `t + 1` positions, moving the filled prefix into the next variant's longer
 * buffers when the current one is full.
 *
 * The batch of the buffers (the *physical* batch) can be larger than the number of rows still
 * decoded: rows that leave ([DecoderState.select]) are compacted to the front, and the buffers
 * are re-allocated for fewer rows only when at most half of them are still in use (every
 * re-allocation makes the interpreter re-plan the subgraph). The extra rows are decoded with
 * token 0 and their results ignored.
 */

/**
 * A tensor in a [ByteBuffer]: dtype, shape and its little-endian, row-major bytes, the whole
 * buffer from index 0 to its capacity. A runner's outputs may be read-only views.
 */
class TensorBuffer(val dtype: DType, shape: IntArray, val buffer: ByteBuffer) {
    val shape: IntArray = shape.copyOf()

    /** Number of elements (1 for a scalar). */
    val size: Int
        get() = shape.fold(1) { a, b -> a * b }

    init {
        require(shape.all { it >= 0 }) { "negative dimension in shape ${shape.toList()}" }
        require(buffer.capacity() == size * dtype.size) {
            "a ${buffer.capacity()}-byte buffer does not hold a ${dtype.manifestName} tensor of shape ${shape.toList()}"
        }
    }

    /** A copy as a [Tensor]. */
    fun toTensor(): Tensor {
        val bytes = ByteArray(buffer.capacity())
        val view = buffer.duplicate()
        view.clear()
        view.get(bytes)
        return Tensor(dtype, shape, bytes)
    }

    override fun toString() = "TensorBuffer(${dtype.manifestName}, ${shape.toList()})"

    companion object {
        /** A zero-filled direct buffer of [shape], in little-endian order. */
        fun allocate(dtype: DType, shape: IntArray): TensorBuffer {
            val n = shape.fold(1) { a, b -> a * b } * dtype.size
            return TensorBuffer(dtype, shape, ByteBuffer.allocateDirect(n).order(ByteOrder.LITTLE_ENDIAN))
        }

        /** [tensor]'s bytes in a new direct buffer. */
        fun of(tensor: Tensor): TensorBuffer {
            val out = allocate(tensor.dtype, tensor.shape)
            out.buffer.duplicate().put(tensor.data)
            return out
        }
    }
}

/** What [BufferDecoderState] needs from an interpreter. */
interface StepRunner {
    /**
     * Run the init signature (`encode`) on (batch, src) ids. Returns its outputs by name; they
     * may be views that are only valid until the next call.
     */
    fun encode(sourceIds: Array<IntArray>): Map<String, TensorBuffer>

    /**
     * Run decode variant [signature] on [inputs]: every input of the signature by name, each
     * with its exact shape (its batch is the physical batch). Returns at least the logits and
     * the state outputs by name, which may be views only valid until the next call.
     */
    fun decode(signature: String, inputs: Map<String, TensorBuffer>): Map<String, TensorBuffer>
}

/**
 * The decoding signatures of a translation manifest, as [BufferDecoderState] runs them.
 *
 * @param manifest a validated manifest.
 */
class DecodeSignatures(manifest: Manifest) {
    /** One `decode_step` variant: its name, cache length (null without append states), inputs. */
    class Variant(val name: String, val capacity: Int?, val inputs: List<TensorInfo>)

    /** Shortest cache first; the last is `decode_step`. */
    val variants: List<Variant> = manifest.decodeSignatures.map { name ->
        val inputs = manifest.tensors(name, "inputs")
        val appended = inputs.firstOrNull { it.isAppend }
        Variant(name, appended?.let { it.shape[it.timeAxis!!] }, inputs)
    }

    private val decodeInputs = manifest.tensors("decode_step", "inputs")
    val tokenName: String = decodeInputs.single { it.role == "token" }.name
    val step: TensorInfo = decodeInputs.single { it.role == "step" }
    val stepDtype: DType = DType.of(step.dtype)
    val logitsName: String = manifest.tensors("decode_step", "outputs").firstOrNull { it.role == "logits" }?.name
        ?: throw ArtifactError("manifest.json: decode_step has no 'logits' output")

    /** The init signature's input (`source_ids`). */
    val source: TensorInfo = manifest.tensors("encode", "inputs").first()

    /**
     * The fixed source length of an encoder that runs a fixed number of positions (the LSTM's
     * unrolled encoder), or null: shorter sources are padded with 0 to it.
     */
    val fixedSourceLength: Int? = source.shape.getOrNull(1)?.takeIf { it > 0 }

    init {
        if (stepDtype != DType.INT32 && stepDtype != DType.INT64) {
            throw ArtifactError("manifest.json: decode_step's step input must be int32 or int64, not ${step.dtype}")
        }
        for (v in variants) {
            for (t in v.inputs) {
                if (!t.isAppend) continue
                val unknown = t.shape.withIndex().any { (axis, d) -> d < 0 && axis != t.batchAxis }
                if (unknown) {
                    throw ArtifactError("${v.name}: state '${t.name}' has an unknown dimension besides batch: ${t.shape}")
                }
            }
        }
    }

    /** [sourceIds] padded with 0 to [fixedSourceLength] (unchanged without one). */
    fun padSource(sourceIds: Array<IntArray>): Array<IntArray> {
        val length = fixedSourceLength ?: return sourceIds
        return Array(sourceIds.size) { b ->
            val row = sourceIds[b]
            if (row.size >= length) row else IntArray(length) { if (it < row.size) row[it] else 0 }
        }
    }
}

/**
 * A decoding state in buffers owned by the runtime (see the file comment).
 *
 * @param signatures the manifest's decoding signatures.
 * @param runner runs them (the app: the LiteRT interpreter).
 * @param sourceIds (batch, src) ids for `encode`.
 */
class BufferDecoderState(
    private val signatures: DecodeSignatures,
    private val runner: StepRunner,
    sourceIds: Array<IntArray>
) : DecoderState {
    override var length = 0
        private set
    override var batchSize = sourceIds.size
        private set

    /** Rows of the buffers (>= [batchSize]). */
    var physicalBatch = 0
        private set

    /** Index of the variant in use (into [DecodeSignatures.variants]). */
    var variant = 0
        private set

    /** Buffer (re-)allocations so far, the first included. */
    var binds = 0
        private set

    private var buffers = LinkedHashMap<String, TensorBuffer>()
    private var scratch = HashMap<String, TensorBuffer>()
    private lateinit var inputs: List<TensorInfo>
    private var closed = false

    /** Positions the current variant's cache holds; null without append states. */
    val capacity: Int?
        get() = signatures.variants[variant].capacity

    init {
        val encoded = runner.encode(signatures.padSource(sourceIds))
        val all = identity(batchSize)
        bind(0, batchSize, encoded, all, all)
    }

    override fun close() {
        closed = true
        buffers = LinkedHashMap()
        scratch = HashMap()
    }

    private fun check() {
        if (closed) throw IllegalStateException("the decoding state is closed")
    }

    /**
     * Allocate [variantIndex]'s buffers for [batch] rows: memory rows [memoryRows] and state
     * rows [rows] of [sources] (the previous buffers, or `encode`'s outputs), the filled prefix
     * of append states included.
     */
    private fun bind(variantIndex: Int, batch: Int, sources: Map<String, TensorBuffer>, rows: IntArray, memoryRows: IntArray) {
        val v = signatures.variants[variantIndex]
        val fresh = LinkedHashMap<String, TensorBuffer>()
        for (t in v.inputs) {
            when {
                t.role == "token" -> fresh[t.name] = TensorBuffer.allocate(DType.INT32, intArrayOf(batch))
                t.role == "step" -> fresh[t.name] = TensorBuffer.allocate(signatures.stepDtype, IntArray(0))
                t.isAppend -> {
                    val shape = IntArray(t.shape.size) { t.shape[it] }
                    shape[batchAxis(t)] = batch
                    val buffer = TensorBuffer.allocate(DType.of(t.dtype), shape)
                    val source = sources[t.name]
                    if (source != null && length > 0) gatherRows(source, buffer, batchAxis(t), rows, t.timeAxis, length)
                    fresh[t.name] = buffer
                }
                t.role == "memory" || t.role == "state" -> {
                    val source = sources[t.name] ?: throw ArtifactError("encode did not produce '${t.name}'")
                    val shape = source.shape.copyOf()
                    val axis = batchAxis(t)
                    if (axis >= shape.size) throw ArtifactError("'${t.name}' of shape ${shape.toList()} has no axis $axis")
                    shape[axis] = batch
                    val buffer = TensorBuffer.allocate(source.dtype, shape)
                    gatherRows(source, buffer, axis, if (t.role == "memory") memoryRows else rows, null, 0)
                    fresh[t.name] = buffer
                }
                else -> throw ArtifactError("${v.name}: input '${t.name}' has role '${t.role}'")
            }
        }
        variant = variantIndex
        physicalBatch = batch
        inputs = v.inputs
        buffers = fresh
        scratch = HashMap()
        binds++
    }

    override fun step(token: IntArray): Logits {
        check()
        val n = batchSize
        require(token.size == n) { "${token.size} tokens for $n rows" }
        val cap = capacity
        if (cap != null && length >= cap) {
            if (variant + 1 >= signatures.variants.size) {
                throw IllegalStateException("the model decodes at most $cap positions")
            }
            val all = identity(n)
            bind(variant + 1, n, buffers, all, all)
        }
        val tokens = buffers.getValue(signatures.tokenName).buffer
        for (i in 0 until physicalBatch) tokens.putInt(i * 4, if (i < n) token[i] else 0)
        val stepBuffer = buffers.getValue(signatures.step.name).buffer
        if (signatures.stepDtype == DType.INT64) stepBuffer.putLong(0, length.toLong()) else stepBuffer.putInt(0, length)

        val outputs = runner.decode(signatures.variants[variant].name, buffers)
        for (t in inputs) {
            if (t.role != "state") continue
            val out = outputs[t.name] ?: throw ArtifactError("${signatures.variants[variant].name} returned no '${t.name}'")
            val buffer = buffers.getValue(t.name)
            if (t.timeAxis == null) {
                if (out.dtype != buffer.dtype || !out.shape.contentEquals(buffer.shape)) {
                    throw ArtifactError("state '${t.name}': output $out does not replace input $buffer")
                }
                copyBytes(out.buffer, 0, buffer.buffer, 0, buffer.buffer.capacity())
            } else {
                val expected = buffer.shape.copyOf().also { it[t.timeAxis] = 1 }
                if (out.dtype != buffer.dtype || !out.shape.contentEquals(expected)) {
                    throw ArtifactError("state '${t.name}': output $out is not one row of input $buffer")
                }
                gatherRows(out, buffer, batchAxis(t), identity(physicalBatch), t.timeAxis, 1, dstTimeStart = length)
            }
        }
        length++
        val logits = outputs[signatures.logitsName] ?: throw ArtifactError("decode_step returned no '${signatures.logitsName}'")
        if (logits.dtype != DType.FLOAT32 || logits.shape.size != 2 || logits.shape[0] != physicalBatch) {
            throw ArtifactError("decode_step logits $logits are not float32 ($physicalBatch, vocab)")
        }
        val vocab = logits.shape[1]
        val values = FloatArray(n * vocab)
        val view = logits.buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN)
        view.clear()
        view.asFloatBuffer().get(values)
        return Logits(n, vocab, values)
    }

    override fun select(rows: IntArray, memoryRows: IntArray?) {
        check()
        val memory = memoryRows ?: rows
        val n = rows.size
        if (n == batchSize && isIdentity(rows) && isIdentity(memory)) return
        if (n > physicalBatch || (n > 0 && n <= physicalBatch / 2)) {
            bind(variant, n, buffers, rows, memory)
        } else {
            // Compact in place: gather into a spare buffer of the same shape and swap.
            for (t in inputs) {
                val isMemory = t.role == "memory"
                if (t.role != "state" && !isMemory) continue
                if (isMemory && isIdentity(memory)) continue
                val buffer = buffers.getValue(t.name)
                val spare = scratch[t.name] ?: TensorBuffer.allocate(buffer.dtype, buffer.shape)
                gatherRows(buffer, spare, batchAxis(t), if (isMemory) memory else rows, t.timeAxis, length)
                buffers[t.name] = spare
                scratch[t.name] = buffer
            }
        }
        batchSize = n
    }

    private fun batchAxis(t: TensorInfo): Int =
        t.batchAxis ?: throw ArtifactError("manifest.json: ${t.role} tensor '${t.name}' has no batch_axis")

    companion object {
        private fun identity(n: Int) = IntArray(n) { it }

        private fun isIdentity(rows: IntArray): Boolean {
            for (i in rows.indices) if (rows[i] != i) return false
            return true
        }
    }
}

/** Copy [n] bytes from [src] at [srcOffset] to [dst] at [dstOffset] (positions untouched). */
internal fun copyBytes(src: ByteBuffer, srcOffset: Int, dst: ByteBuffer, dstOffset: Int, n: Int) {
    val from = src.duplicate()
    from.clear()
    from.position(srcOffset)
    from.limit(srcOffset + n)
    val to = dst.duplicate()
    to.clear()
    to.position(dstOffset)
    to.put(from)
}

/**
 * `dst[..., j, ..., dstTimeStart + p, ...] = src[..., rows[j], ..., srcTimeStart + p, ...]` for
 * `j` along [batchAxis] and `p < timeLength` along [timeAxis] (every position when [timeAxis] is
 * null). [src] and [dst] have the same dtype and the same shape but along those two axes.
 */
internal fun gatherRows(
    src: TensorBuffer,
    dst: TensorBuffer,
    batchAxis: Int,
    rows: IntArray,
    timeAxis: Int?,
    timeLength: Int,
    srcTimeStart: Int = 0,
    dstTimeStart: Int = 0
) {
    val rank = src.shape.size
    require(dst.shape.size == rank && src.dtype == dst.dtype) { "cannot copy rows of $src into $dst" }
    require(batchAxis in 0 until rank && rows.size <= dst.shape[batchAxis]) { "cannot copy ${rows.size} rows of $src into $dst" }
    for (a in 0 until rank) {
        require(a == batchAxis || a == timeAxis || src.shape[a] == dst.shape[a]) { "cannot copy rows of $src into $dst" }
    }
    for (r in rows) require(r in 0 until src.shape[batchAxis]) { "row $r is out of bounds for $src" }
    if (timeAxis != null) {
        require(srcTimeStart + timeLength <= src.shape[timeAxis] && dstTimeStart + timeLength <= dst.shape[timeAxis]) {
            "cannot copy $timeLength positions of $src into $dst"
        }
        if (timeLength == 0) return
    }
    if (rows.isEmpty()) return
    val srcStrides = IntArray(rank)
    val dstStrides = IntArray(rank)
    var s = src.dtype.size
    var d = dst.dtype.size
    for (a in rank - 1 downTo 0) {
        srcStrides[a] = s
        dstStrides[a] = d
        s *= src.shape[a]
        d *= dst.shape[a]
    }
    // The axes from `last + 1` on are copied whole; along the time axis (when it is `last`),
    // the `timeLength` positions are one contiguous run too.
    val last = maxOf(batchAxis, timeAxis ?: -1)
    val run = if (last == timeAxis) timeLength * srcStrides[last] else srcStrides[last]
    val from = src.buffer.duplicate()
    val to = dst.buffer.duplicate()

    fun visit(axis: Int, srcOffset: Int, dstOffset: Int) {
        if (axis == last) {
            if (axis == batchAxis) {
                for ((j, r) in rows.withIndex()) {
                    copyRun(from, srcOffset + r * srcStrides[axis], to, dstOffset + j * dstStrides[axis], run)
                }
            } else { // the time axis
                copyRun(from, srcOffset + srcTimeStart * srcStrides[axis], to, dstOffset + dstTimeStart * dstStrides[axis], run)
            }
            return
        }
        when (axis) {
            batchAxis -> for ((j, r) in rows.withIndex()) {
                visit(axis + 1, srcOffset + r * srcStrides[axis], dstOffset + j * dstStrides[axis])
            }
            timeAxis -> for (p in 0 until timeLength) {
                visit(axis + 1, srcOffset + (srcTimeStart + p) * srcStrides[axis], dstOffset + (dstTimeStart + p) * dstStrides[axis])
            }
            else -> for (i in 0 until src.shape[axis]) {
                visit(axis + 1, srcOffset + i * srcStrides[axis], dstOffset + i * dstStrides[axis])
            }
        }
    }
    visit(0, 0, 0)
}

/** [copyBytes] on duplicates made once per gather (no allocation per run). */
private fun copyRun(from: ByteBuffer, srcOffset: Int, to: ByteBuffer, dstOffset: Int, n: Int) {
    from.clear()
    from.position(srcOffset)
    from.limit(srcOffset + n)
    to.clear()
    to.position(dstOffset)
    to.put(from)
}
