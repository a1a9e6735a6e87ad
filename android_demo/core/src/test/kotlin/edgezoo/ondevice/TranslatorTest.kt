package edgezoo.ondevice

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Test

class TranslatorTest {
    /** A step model that must not be called (input errors happen before decoding). */
    private object Unused : StepModel {
        override val decoderTensors: List<TensorInfo> = emptyList()
        override fun encode(sourceIds: Array<IntArray>): Map<String, Tensor> = throw AssertionError("encode called")
        override fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor> =
            throw AssertionError("decode_step called")
    }

    private val translator = Translator.fromManifest(Goldens.manifest, Unused, Goldens.tokenizer("source"), Goldens.tokenizer("target"))

    private fun inputError(text: String, truncate: Boolean = false): String = try {
        translator.encodeText(text, truncate)
        fail("accepted ${pyRepr(text)}")
        ""
    } catch (e: InputError) {
        e.message!!
    }

    @Test
    fun inputErrors() {
        assertEquals("empty input: nothing to translate", inputError(""))
        assertEquals("empty input: nothing to translate", inputError(" \t\n\u3000\u0085"))
        assertEquals("input has no translatable characters: '\\u200b\\u200b'", inputError("\u200b\u200b"))
        val long = List(translator.maxSourceLength + 1) { "the" }.joinToString(" ")
        assertEquals(
            "input is ${translator.maxSourceLength + 1} tokens long; this model accepts at most " +
                "${translator.maxSourceLength} (split it into sentences)",
            inputError(long)
        )
        assertEquals(translator.maxSourceLength, translator.encodeText(long, truncate = true).size)
        try {
            translator.translate(listOf("fine", ""))
            fail("translated an empty sentence")
        } catch (e: InputError) {
            assertEquals("empty input: nothing to translate", e.message)
        }
    }

    @Test
    fun errorMessagesQuoteLikePython() {
        // repr() of the same strings in Python 3.11.
        assertEquals("'\\u200b\\u200b'", pyRepr("\u200b\u200b"))
        assertEquals("\"it's\"", pyRepr("it's"))
        assertEquals("'a\\\\b\\tc'", pyRepr("a\\b\tc"))
        assertEquals("'\\x85é😀\\u3000'", pyRepr("\u0085é😀\u3000"))
        assertEquals("None", pyRepr(null))
    }

    @Test
    fun padBatchPadsToTheLongest() {
        val batch = padBatch(listOf(listOf(5, 6), listOf(7), listOf(8, 9, 10)), 0)
        assertArrayEquals(intArrayOf(5, 6, 0), batch[0])
        assertArrayEquals(intArrayOf(7, 0, 0), batch[1])
        assertArrayEquals(intArrayOf(8, 9, 10), batch[2])
    }
}
