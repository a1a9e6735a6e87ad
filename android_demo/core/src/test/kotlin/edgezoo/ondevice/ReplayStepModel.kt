package edgezoo.ondevice

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals

/**
 * Replays a decode recorded by `make_goldens.py`, checking that every call is the recorded one.
 *
 * A step model, so the search decodes it through an [ArrayDecoderState]. Its memory and states
 * are marker tensors: each row holds `(producer + 1) * MARK + row`, where the producer is
 * `encode` (-1) or the index of the `decode_step` call that returned the row; an `append` state
 * holds at position `t` the marker of call `t`'s row (0 where nothing was written yet). The
 * search and the state reorder, drop and append them like real state, so each call can check
 * where every row came from against the recording. Logits are the recorded compact rows expanded
 * to float32 rows (the same rows the Python replay checked).
 */
class ReplayStepModel(private val golden: Map<String, Any?>, override val decoderTensors: List<TensorInfo>) : StepModel {
    private val segments = golden.getValue("segments").asList().map { it.asMap() }
    private val vocabularySize = (golden["vocabulary_size"] as Long).toInt()
    private var segment = -1
    private var call = 0

    private fun kind(t: TensorInfo): String = when {
        t.role == "memory" -> "memory"
        t.timeAxis != null -> "append"
        else -> "replace"
    }

    /** Marker tensors of [rows] rows made by [producer] for the tensors of [kinds]. */
    private fun markers(producer: Int, rows: Int, kinds: Set<String>): Map<String, Tensor> {
        val out = LinkedHashMap<String, Tensor>()
        for (t in decoderTensors) {
            val kind = kind(t)
            if (kind !in kinds) continue
            if (kind == "append") {
                // This position's row: the manifest shape with `rows` rows and 1 along time.
                val shape = IntArray(t.shape.size) { t.shape[it] }
                val batchAxis = t.batchAxis!!
                shape[batchAxis] = rows
                shape[t.timeAxis!!] = 1
                val size = shape.fold(1) { a, b -> a * b }
                val values = FloatArray(size) { marker(producer, indexAlong(shape, batchAxis, it)).toFloat() }
                out[t.name] = Tensor.ofFloats(shape, values)
            } else {
                val shape = IntArray(t.shape.size) { 1 }
                shape[t.batchAxis!!] = rows
                out[t.name] = Tensor.ofInts(shape, IntArray(rows) { marker(producer, it) })
            }
        }
        return out
    }

    override fun encode(sourceIds: Array<IntArray>): Map<String, Tensor> {
        segment++
        call = 0
        val recorded = segments[segment]["source_ids"].asList().map { it.asInts() }
        assertEquals("source ids of batch $segment", recorded, sourceIds.map { it.toList() })
        return markers(ENCODE, sourceIds.size, setOf("memory", "replace"))
    }

    override fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor> {
        val calls = segments[segment]["calls"].asList()
        val where = "batch $segment, call $call"
        if (call >= calls.size) throw AssertionError("$where: more decode_step calls than recorded (${calls.size})")
        val recorded = calls[call].asMap()
        assertEquals("step at $where", (recorded["step"] as Long).toInt(), step)
        assertArrayEquals("tokens at $where", recorded["token"].asInts().toIntArray(), token)
        val inputs = recorded["inputs"].asMap()
        val rows = token.size
        for (t in decoderTensors) {
            val tensor = tensors[t.name] ?: throw AssertionError("$where: ${t.name} not fed")
            val axis = t.batchAxis!!
            assertEquals("rows of ${t.name} at $where", rows, tensor.shape[axis])
            val values = if (tensor.dtype == DType.FLOAT32) tensor.toFloatArray().map { it.toDouble() } else tensor.toIntArray().map { it.toDouble() }
            val expected: (Int, Int) -> Int = when (kind(t)) {
                "memory" -> {
                    val made = inputs["memory"].asInts()
                    val f: (Int, Int) -> Int = { row, _ -> marker(ENCODE, made[row]) }
                    f
                }
                "replace" -> {
                    val replace = inputs["replace"].asMap()
                    val from = (replace["from"] as Long).toInt()
                    val made = replace["rows"].asInts()
                    val f: (Int, Int) -> Int = { row, _ -> marker(from, made[row]) }
                    f
                }
                else -> {
                    val made = inputs["append"].asList().map { it.asInts() }
                    val f: (Int, Int) -> Int = { row, position -> if (position < made.size) marker(position, made[position][row]) else 0 }
                    f
                }
            }
            for ((i, v) in values.withIndex()) {
                val row = indexAlong(tensor.shape, axis, i)
                val position = t.timeAxis?.let { indexAlong(tensor.shape, it, i) } ?: 0
                val want = expected(row, position)
                if (v != want.toDouble()) {
                    throw AssertionError(
                        "$where: ${t.name} (${kind(t)}) row $row position $position holds marker $v, expected $want " +
                            "((producer + 1) * $MARK + row)"
                    )
                }
            }
        }
        val logits = recorded["logits"].asMap()
        val fill = logits["fill"].asList()
        assertEquals("logits rows at $where", rows, fill.size)
        val values = FloatArray(rows * vocabularySize)
        for (r in 0 until rows) {
            val f = (fill[r] as Double).toFloat()
            for (v in 0 until vocabularySize) values[r * vocabularySize + v] = f
            val index = logits["index"].asList()[r].asInts()
            val value = logits["value"].asList()[r].asList()
            for ((i, id) in index.withIndex()) values[r * vocabularySize + id] = (value[i] as Double).toFloat()
        }
        val out = LinkedHashMap<String, Tensor>()
        out[LOGITS] = Tensor.ofFloats(intArrayOf(rows, vocabularySize), values)
        out.putAll(markers(call, rows, setOf("replace", "append")))
        call++
        return out
    }

    /** Every recorded batch and call was replayed. */
    fun assertFinished() {
        assertEquals("batches replayed", segments.size, segment + 1)
        assertEquals("calls replayed in the last batch", segments[segment]["calls"].asList().size, call)
    }

    companion object {
        const val ENCODE = -1
        const val MARK = 1000

        fun marker(producer: Int, row: Int): Int = (producer + 1) * MARK + row

        /** The index along [axis] of the element at flat (row-major) index [flat] of a [shape] tensor. */
        fun indexAlong(shape: IntArray, axis: Int, flat: Int): Int {
            var stride = 1
            for (a in axis + 1 until shape.size) stride *= shape[a]
            return (flat / stride) % shape[axis]
        }
    }
}
