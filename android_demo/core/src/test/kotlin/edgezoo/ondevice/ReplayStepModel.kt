package edgezoo.ondevice

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals

/**
 * Replays a decode recorded by `make_goldens.py`, checking that every call is the recorded one.
 *
 * Memory and state are marker tensors: each row holds `(producer + 1) * 1_000_000 + row`, where
 * the producer is `encode` (-1) or the index of the `decode_step` call that returned it. The
 * search reorders them along the manifest's batch axis like real state, so each call can check
 * where every row came from. Logits are the recorded compact rows expanded to float32 rows
 * (the same rows the Python replay checked).
 */
class ReplayStepModel(private val golden: Map<String, Any?>, override val decoderTensors: List<TensorInfo>) : StepModel {
    private val segments = golden.getValue("segments").asList().map { it.asMap() }
    private val vocabularySize = (golden["vocabulary_size"] as Long).toInt()
    private var segment = -1
    private var call = 0

    private fun markers(producer: Int, rows: Int): Map<String, Tensor> {
        val out = LinkedHashMap<String, Tensor>()
        for (t in decoderTensors) {
            if (producer != ENCODE && t.role != "state") continue
            val shape = IntArray(t.shape.size) { 1 }
            shape[t.batchAxis!!] = rows
            out[t.name] = Tensor.ofInts(shape, IntArray(rows) { (producer + 1) * 1_000_000 + it })
        }
        return out
    }

    override fun encode(sourceIds: Array<IntArray>): Map<String, Tensor> {
        segment++
        call = 0
        val recorded = segments[segment]["source_ids"].asList().map { it.asInts() }
        assertEquals("source ids of batch $segment", recorded, sourceIds.map { it.toList() })
        return markers(ENCODE, sourceIds.size)
    }

    override fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor> {
        val calls = segments[segment]["calls"].asList()
        val where = "batch $segment, call $call"
        if (call >= calls.size) throw AssertionError("$where: more decode_step calls than recorded (${calls.size})")
        val recorded = calls[call].asMap()
        assertEquals("step at $where", (recorded["step"] as Long).toInt(), step)
        assertArrayEquals("tokens at $where", recorded["token"].asInts().toIntArray(), token)
        val inputs = recorded["inputs"].asMap()
        for (t in decoderTensors) {
            val origin = inputs[t.name].asMap()
            val from = (origin["from"] as Long).toInt()
            val expected = origin["rows"].asInts().map { (from + 1) * 1_000_000 + it }.toIntArray()
            val tensor = tensors[t.name] ?: throw AssertionError("$where: ${t.name} not fed")
            assertArrayEquals("rows of ${t.name} at $where (producer*1e6 + row)", expected, tensor.toIntArray())
        }
        val logits = recorded["logits"].asMap()
        val fill = logits["fill"].asList()
        val rows = fill.size
        assertEquals("logits rows at $where", token.size, rows)
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
        out.putAll(markers(call, rows))
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
    }
}
