package edgezoo.ondevice

import java.nio.ByteOrder
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * [BufferDecoderState] (the app's runtime-owned buffers, decode variants, compaction) must decode
 * exactly like [ArrayDecoderState] (the reference the golden replays check).
 *
 * [TwinModel] is one small deterministic model run both ways: as a [StepModel] (tensors passed in
 * and out of every call) and as a [StepRunner] (the interpreter's view: every input buffer fed
 * whole, only new rows returned). Its memory has batch axis 0, its replace state batch axis 1,
 * one cache batch axis 2 and time axis 1, the other batch axis 0 and time axis 2 (like the
 * Transformer's transposed keys); each step attends to the mean of every cached row so far, so a
 * row misplaced in time or batch changes the logits. Its manifest has three `decode_step`
 * variants (caches of 4, 8 and 12 positions).
 */
class BufferDecoderStateTest {
    private class TwinModel(seed: Long, val vocab: Int = 11, val dim: Int = 3, val endId: Int = 3) : StepModel {
        private val random = java.util.Random(seed)
        private fun gaussian(n: Int, scale: Double) = FloatArray(n) { (random.nextGaussian() * scale).toFloat() }
        private val sourceEmbedding = gaussian(vocab * dim, 1.0)
        private val embedding = gaussian(vocab * dim, 1.0)
        private val recurrent = gaussian(dim * dim, 0.8)
        private val attendA = gaussian(dim * dim, 0.6)
        private val attendB = gaussian(dim * dim, 0.6)
        private val output = gaussian(dim * vocab, 2.0)

        val manifest: Manifest = parseManifest(manifestJson(), "twin/manifest.json", "twin")
        val signatures = DecodeSignatures(manifest)
        override val decoderTensors: List<TensorInfo> = manifest.decoderTensors()

        /** (signature, step, physical rows) of every [decodeBuffers] call. */
        val runs = ArrayList<Triple<String, Int, Int>>()

        private fun manifestJson(): String {
            fun tensor(name: String, shape: String, role: String, extra: String = "") =
                "{\"name\": \"$name\", \"dtype\": \"float32\", \"shape\": $shape, \"role\": \"$role\"$extra}"
            val memory = tensor("memory", "[-1, $dim]", "memory", ", \"batch_axis\": 0")
            val state = tensor("state", "[2, -1, $dim]", "state", ", \"batch_axis\": 1, \"update\": \"replace\"")
            fun variant(capacity: Int) = """{"inputs": [
                $memory, $state,
                ${tensor("cache_a", "[$dim, $capacity, -1]", "state", ", \"batch_axis\": 2, \"update\": \"append\", \"time_axis\": 1")},
                ${tensor("cache_b", "[-1, $dim, $capacity]", "state", ", \"batch_axis\": 0, \"update\": \"append\", \"time_axis\": 2")},
                {"name": "step", "dtype": "int32", "shape": [], "role": "step"},
                {"name": "token", "dtype": "int32", "shape": [-1], "role": "token", "batch_axis": 0}],
              "outputs": [
                {"name": "logits", "dtype": "float32", "shape": [-1, $vocab], "role": "logits", "batch_axis": 0},
                $state,
                ${tensor("cache_a", "[$dim, 1, -1]", "state", ", \"batch_axis\": 2, \"update\": \"append\", \"time_axis\": 1")},
                ${tensor("cache_b", "[-1, $dim, 1]", "state", ", \"batch_axis\": 0, \"update\": \"append\", \"time_axis\": 2")}]}"""
            return """{"format_version": 2, "family": "twin", "task": "translation", "model_file": "model.tflite",
              "special_tokens": {"pad": 0, "unk": 1, "start": 2, "end": $endId},
              "max_source_length": 8, "max_target_length": 12,
              "tokenizer": {"kind": "wordpiece", "source_vocabulary": "s.txt", "target_vocabulary": "t.txt"},
              "decode_signatures": ["decode_step_4", "decode_step_8", "decode_step"],
              "signatures": {
                "encode": {"inputs": [{"name": "source_ids", "dtype": "int32", "shape": [-1, -1], "role": "source_tokens", "batch_axis": 0}],
                           "outputs": [$memory, $state]},
                "decode_step_4": ${variant(4)}, "decode_step_8": ${variant(8)}, "decode_step": ${variant(12)}}}"""
        }

        /** memory (rows, dim) and state (2, rows, dim) of a batch of sources. */
        private fun encodeValues(sourceIds: Array<IntArray>): Pair<FloatArray, FloatArray> {
            val rows = sourceIds.size
            val memory = FloatArray(rows * dim)
            for (r in 0 until rows) for (d in 0 until dim) {
                var sum = 0f
                for (id in sourceIds[r]) sum += sourceEmbedding[id * dim + d]
                memory[r * dim + d] = sum / sourceIds[r].size
            }
            val state = FloatArray(2 * rows * dim)
            for (i in 0 until rows * dim) state[i] = memory[i]
            return Pair(memory, state)
        }

        /**
         * One step for [rows] rows. [value] reads an input: (name, row, position or -1, d) ->
         * float. Returns logits (rows, vocab), the next state (2, rows, dim) and the new cache row
         * (rows, dim) of each cache.
         */
        private fun stepValues(token: IntArray, step: Int, value: (String, Int, Int, Int) -> Float): List<FloatArray> {
            val rows = token.size
            val logits = FloatArray(rows * vocab)
            val state = FloatArray(2 * rows * dim)
            val rowA = FloatArray(rows * dim)
            val rowB = FloatArray(rows * dim)
            for (r in 0 until rows) {
                val seenA = FloatArray(dim)
                val seenB = FloatArray(dim)
                for (p in 0 until step) for (d in 0 until dim) {
                    seenA[d] += value("cache_a", r, p, d) / step
                    seenB[d] += value("cache_b", r, p, d) / step
                }
                val hidden = FloatArray(dim)
                for (d in 0 until dim) {
                    var h = embedding[token[r] * dim + d] + value("memory", r, -1, d) + 0.1f * step
                    for (e in 0 until dim) {
                        h += value("state", r, 0, e) * recurrent[e * dim + d]
                        h += seenA[e] * attendA[e * dim + d] + seenB[e] * attendB[e * dim + d]
                    }
                    hidden[d] = Math.tanh(h.toDouble()).toFloat()
                }
                for (v in 0 until vocab) {
                    var l = if (v == endId) 1.2f else 0f
                    for (d in 0 until dim) l += hidden[d] * output[d * vocab + v]
                    logits[r * vocab + v] = l
                }
                for (d in 0 until dim) {
                    state[r * dim + d] = hidden[d]
                    state[(rows + r) * dim + d] = value("state", r, 0, d)
                    rowA[r * dim + d] = hidden[d]
                    rowB[r * dim + d] = 0.5f * hidden[d] - value("memory", r, -1, d)
                }
            }
            return listOf(logits, state, rowA, rowB)
        }

        // ---- as a StepModel (tensors in and out)

        override fun encode(sourceIds: Array<IntArray>): Map<String, Tensor> {
            val (memory, state) = encodeValues(sourceIds)
            val rows = sourceIds.size
            return mapOf(
                "memory" to Tensor.ofFloats(intArrayOf(rows, dim), memory),
                "state" to Tensor.ofFloats(intArrayOf(2, rows, dim), state)
            )
        }

        override fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor> {
            val floats = tensors.mapValues { it.value.toFloatArray() }
            val shapes = tensors.mapValues { it.value.shape }
            val (logits, state, rowA, rowB) = stepValues(token, step) { name, r, p, d ->
                readInput(name, floats.getValue(name), shapes.getValue(name), r, p, d)
            }
            val rows = token.size
            return mapOf(
                LOGITS to Tensor.ofFloats(intArrayOf(rows, vocab), logits),
                "state" to Tensor.ofFloats(intArrayOf(2, rows, dim), state),
                "cache_a" to Tensor.ofFloats(intArrayOf(dim, 1, rows), transposeRows(rowA, rows)),
                "cache_b" to Tensor.ofFloats(intArrayOf(rows, dim, 1), rowB)
            )
        }

        // ---- as a StepRunner (the interpreter's view)

        fun decodeBuffers(signature: String, inputs: Map<String, TensorBuffer>): Map<String, TensorBuffer> {
            val variant = signatures.variants.single { it.name == signature }
            assertEquals(variant.inputs.map { it.name }.toSet(), inputs.keys)
            val physical = inputs.getValue("token").shape[0]
            val step = inputs.getValue("step").buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(0)
            runs.add(Triple(signature, step, physical))
            assertArrayEquals(intArrayOf(dim, variant.capacity!!, physical), inputs.getValue("cache_a").shape)
            assertArrayEquals(intArrayOf(physical, dim, variant.capacity!!), inputs.getValue("cache_b").shape)
            val floats = inputs.filterKeys { it != "token" && it != "step" }.mapValues { (_, b) ->
                val out = FloatArray(b.size)
                b.buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out)
                out
            }
            val shapes = inputs.mapValues { it.value.shape }
            // Nothing is ever written past the current position (the buffers start at zero).
            for (name in listOf("cache_a", "cache_b")) {
                val shape = shapes.getValue(name)
                val timeAxis = if (name == "cache_a") 1 else 2
                for ((i, v) in floats.getValue(name).withIndex()) {
                    if (ReplayStepModel.indexAlong(shape, timeAxis, i) >= step && v != 0f) fail("$name written past step $step")
                }
            }
            val tokens = inputs.getValue("token").buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN)
            val token = IntArray(physical) { tokens.getInt(it * 4) }
            val (logits, state, rowA, rowB) = stepValues(token, step) { name, r, p, d ->
                readInput(name, floats.getValue(name), shapes.getValue(name), r, p, d)
            }
            return mapOf(
                "logits" to TensorBuffer.of(Tensor.ofFloats(intArrayOf(physical, vocab), logits)),
                "state" to TensorBuffer.of(Tensor.ofFloats(intArrayOf(2, physical, dim), state)),
                "cache_a" to TensorBuffer.of(Tensor.ofFloats(intArrayOf(dim, 1, physical), transposeRows(rowA, physical))),
                "cache_b" to TensorBuffer.of(Tensor.ofFloats(intArrayOf(physical, dim, 1), rowB))
            )
        }

        /** The model as the interpreter sees it. */
        private val runner = object : StepRunner {
            override fun encode(sourceIds: Array<IntArray>): Map<String, TensorBuffer> =
                this@TwinModel.encode(sourceIds).mapValues { TensorBuffer.of(it.value) }

            override fun decode(signature: String, inputs: Map<String, TensorBuffer>): Map<String, TensorBuffer> =
                decodeBuffers(signature, inputs)
        }

        /** A [Decoder] over the runtime-owned buffers. */
        val buffered = object : Decoder {
            override fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState =
                BufferDecoderState(signatures, runner, sourceIds)
        }

        /** rows (rows, dim) as (dim, rows). */
        private fun transposeRows(values: FloatArray, rows: Int) = FloatArray(dim * rows) { values[(it % rows) * dim + it / rows] }

        private fun readInput(name: String, values: FloatArray, shape: IntArray, r: Int, p: Int, d: Int): Float = when (name) {
            "memory" -> values[r * dim + d]
            "state" -> values[(p * shape[1] + r) * dim + d] // (2, rows, dim)
            "cache_a" -> values[(d * shape[1] + p) * shape[2] + r] // (dim, time, rows)
            "cache_b" -> values[(r * dim + d) * shape[2] + p] // (rows, dim, time)
            else -> throw AssertionError(name)
        }
    }

    /** Wraps a [Decoder]: records every step's logits and, for buffer states, the physical batch. */
    private class Recorder(val inner: Decoder) : Decoder {
        val logits = ArrayList<FloatArray>()
        val selects = ArrayList<Triple<Int, Int, Int>>() // (rows kept, physical rows before, after)
        val binds = ArrayList<Int>()

        override fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState {
            val state = inner.start(sourceIds, maxSteps)
            return object : DecoderState {
                override val length get() = state.length
                override val batchSize get() = state.batchSize
                override fun step(token: IntArray): Logits = state.step(token).also { logits.add(it.values) }
                override fun select(rows: IntArray, memoryRows: IntArray?) {
                    val before = (state as? BufferDecoderState)?.physicalBatch
                    state.select(rows, memoryRows)
                    if (state is BufferDecoderState) selects.add(Triple(rows.size, before!!, state.physicalBatch))
                }
                override fun close() {
                    if (state is BufferDecoderState) binds.add(state.binds)
                    state.close()
                }
            }
        }
    }

    private val sources = arrayOf(intArrayOf(5, 6, 7, 8), intArrayOf(9, 4), intArrayOf(10, 5, 7), intArrayOf(6))

    private fun compare(seed: Long, decode: (Decoder) -> List<List<Int>>): Pair<Recorder, TwinModel> {
        val model = TwinModel(seed)
        val reference = Recorder(model)
        val buffered = Recorder(model.buffered)
        val expected = decode(reference)
        assertEquals("seed $seed", expected, decode(buffered))
        assertEquals(reference.logits.size, buffered.logits.size)
        for ((i, l) in reference.logits.withIndex()) assertArrayEquals("seed $seed, step $i logits", l, buffered.logits[i], 0f)
        return Pair(buffered, model)
    }

    @Test
    fun greedyMatchesTheArrayState() {
        var dropped = false
        for (seed in 0L until 8L) {
            val (recorder, model) = compare(seed) { greedySearch(it, sources, 2, 3, 12) }
            dropped = dropped || recorder.selects.isNotEmpty()
            checkVariants(model)
        }
        assertTrue("no greedy decode dropped a finished sentence", dropped)
    }

    @Test
    fun beamSearchMatchesTheArrayState() {
        var compacted = false
        var shrunk = false
        var longest = 0
        for (seed in 0L until 8L) {
            for (stop in BeamStop.values()) {
                for ((k, penalty) in listOf(Pair(3, 1.0), Pair(2, 0.0), Pair(4, 0.6))) {
                    val (recorder, model) = compare(seed) { beamSearch(it, sources, 2, 3, 12, k, penalty, stop) }
                    compacted = compacted || recorder.selects.any { (rows, before, after) -> after == before && rows in 1 until after }
                    shrunk = shrunk || recorder.selects.any { (_, before, after) -> after < before }
                    longest = maxOf(longest, model.runs.size)
                    checkVariants(model)
                }
            }
        }
        assertTrue("no compaction in place", compacted)
        assertTrue("no re-allocation for fewer rows", shrunk)
        assertTrue("no decode used the longest variant", longest > 8)
    }

    /** Every step ran the shortest variant whose cache holds step + 1 positions. */
    private fun checkVariants(model: TwinModel) {
        for ((signature, step, _) in model.runs) {
            val expected = model.signatures.variants.first { it.capacity!! >= step + 1 }.name
            assertEquals("variant of step $step", expected, signature)
        }
    }

    @Test
    fun stepsPastTheLongestCacheFail() {
        val model = TwinModel(1)
        val state = model.buffered.start(arrayOf(intArrayOf(5)), 20)
        for (step in 0 until 12) state.step(intArrayOf(4))
        try {
            state.step(intArrayOf(4))
            fail("decoded past the longest cache")
        } catch (e: IllegalStateException) {
            assertEquals("the model decodes at most 12 positions", e.message)
        }
        state.close()
    }

    @Test
    fun gatherRowsAlongBatchAndTime() {
        // src (2 rows, 3 positions, 2) -> dst (3 rows, 4 positions, 2): rows [1, 0, 1], positions 0..1 to 2..3.
        val src = TensorBuffer.of(Tensor.ofInts(intArrayOf(2, 3, 2), IntArray(12) { it + 1 }))
        val dst = TensorBuffer.allocate(DType.INT32, intArrayOf(3, 4, 2))
        gatherRows(src, dst, 0, intArrayOf(1, 0, 1), 1, 2, srcTimeStart = 0, dstTimeStart = 2)
        assertArrayEquals(
            intArrayOf(0, 0, 0, 0, 7, 8, 9, 10, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 7, 8, 9, 10),
            dst.toTensor().toIntArray()
        )
    }
}
