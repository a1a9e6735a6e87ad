package edgezoo.ondevice

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class SearchTest {
    private val names = listOf(
        "greedy", "greedy_stream", "beam4", "beam4_fairseq", "beam5_lp06", "beam3_max_steps", "beam3_max_steps_fairseq"
    )

    private fun translator(model: Decoder, golden: Map<String, Any?>): Translator = Translator.fromManifest(
        Goldens.manifest,
        model,
        Goldens.tokenizer("source"),
        Goldens.tokenizer("target"),
        batchSize = (golden["batch_size"] as Long).toInt()
    )

    private fun stopOf(golden: Map<String, Any?>): BeamStop = BeamStop.of(golden["beam_stop"] as String? ?: "early")

    private fun replay(name: String) {
        val golden = Goldens.json("decode_$name.json")
        val sentences = golden["sentences"].asList().map { it as String }
        val beam = (golden["beam_size"] as Long).toInt()
        val penalty = golden["length_penalty"] as Double
        val maxSteps = (golden["max_steps"] as Long?)?.toInt()
        val stop = stopOf(golden)
        val decoder = Goldens.manifest.decoderTensors()

        // Token ids: the same calls, the same output ids.
        val model = ReplayStepModel(golden, decoder)
        val t = translator(model, golden)
        val ids = t.translateIds(sentences.map { t.encodeText(it) }, beam, maxSteps, penalty, stop)
        model.assertFinished()
        assertEquals("$name output ids", golden["output_ids"].asList().map { it.asInts() }, ids)

        // Text end to end: tokenize, decode, detokenize.
        val again = ReplayStepModel(golden, decoder)
        val texts = translator(again, golden).translate(sentences, beam, maxSteps, penalty, beamStop = stop)
        again.assertFinished()
        assertEquals("$name translations", golden["translations"], texts)
    }

    @Test
    fun greedyGolden() = replay("greedy")

    @Test
    fun greedyStreamGolden() = replay("greedy_stream")

    @Test
    fun beam4Golden() = replay("beam4")

    @Test
    fun beam4FairseqGolden() = replay("beam4_fairseq")

    @Test
    fun beam5LengthPenaltyGolden() = replay("beam5_lp06")

    @Test
    fun beamMaxStepsGolden() = replay("beam3_max_steps")

    @Test
    fun beamMaxStepsFairseqGolden() = replay("beam3_max_steps_fairseq")

    @Test
    fun translateStreamGolden() {
        // The partial translations of Python's `translate_stream`, from the same recorded decode.
        val golden = Goldens.json("decode_greedy_stream.json")
        val model = ReplayStepModel(golden, Goldens.manifest.decoderTensors())
        val partials = ArrayList<String>()
        val sentence = golden["sentences"].asList()[0] as String
        val text = translator(model, golden).translateStream(sentence, (golden["max_steps"] as Long?)?.toInt()) { partials.add(it) }
        model.assertFinished()
        assertEquals(golden["stream"], partials)
        assertEquals(golden["translations"].asList()[0], text)
    }

    private fun synthetic(stop: String) {
        // A small random step model whose decode depends on every beam rule of its stop rule
        // (e.g. for "fairseq", end tokens ranked between beamSize and 2 * beamSize); its replace
        // state has batch axis 1, its append state batch axis 2 and time axis 1.
        val golden = Goldens.json("decode_synthetic_$stop.json")
        assertEquals(stop, golden["beam_stop"])
        val decoder = golden["decoder_tensors"].asList().map { it.asMap() }.map {
            TensorInfo(
                it["name"] as String, "float32", it["shape"].asInts(), it["role"] as String,
                (it["batch_axis"] as Long).toInt(), (it["time_axis"] as Long?)?.toInt()
            )
        }
        assertEquals(1, decoder.single { it.role == "state" && it.timeAxis == null }.batchAxis)
        assertEquals(2, decoder.single { it.isAppend }.batchAxis)
        val model = ReplayStepModel(golden, decoder)
        val source = golden["segments"].asList()[0].asMap()["source_ids"].asList().map { it.asInts().toIntArray() }.toTypedArray()
        val ids = beamSearch(
            model,
            source,
            (golden["start_id"] as Long).toInt(),
            (golden["end_id"] as Long).toInt(),
            (golden["max_steps"] as Long).toInt(),
            (golden["beam_size"] as Long).toInt(),
            golden["length_penalty"] as Double,
            BeamStop.of(stop)
        )
        model.assertFinished()
        assertEquals(golden["output_ids"].asList().map { it.asInts() }, ids)
    }

    @Test
    fun syntheticEarlyStopGolden() = synthetic("early")

    @Test
    fun syntheticFairseqStopGolden() = synthetic("fairseq")

    @Test
    fun goldensAreNonTrivial() {
        for (name in names) {
            val golden = Goldens.json("decode_$name.json")
            val calls = golden["segments"].asList().fold(0) { n, s -> n + s.asMap()["calls"].asList().size }
            assertTrue("$name has only $calls calls", calls >= 6)
            assertTrue(golden["output_ids"].asList().all { it.asList().isNotEmpty() })
        }
        // Some greedy call decodes fewer rows than its batch: finished sentences left.
        val greedy = Goldens.json("decode_greedy.json")["segments"].asList().map { it.asMap() }
        assertTrue(greedy.any { s -> s["calls"].asList().any { c -> c.asMap()["token"].asList().size < s["source_ids"].asList().size } })
        // After the first steps the beams of a sentence come from different parents.
        val beam = Goldens.json("decode_beam4.json")
        val k = (beam["beam_size"] as Long).toInt()
        val mixed = beam["segments"].asList().any { s ->
            s.asMap()["calls"].asList().any { c ->
                c.asMap()["inputs"].asMap()["append"].asList().any { rows ->
                    rows.asInts().chunked(k).any { it.toSet().size > 1 }
                }
            }
        }
        assertTrue(mixed)
        // Beam search decodes fewer rows once a sentence is done.
        val rows = beam["segments"].asList()[0].asMap()["calls"].asList().map { it.asMap()["token"].asList().size }
        assertTrue(rows.toString(), rows.last() < rows.first())
    }

    @Test
    fun beamStopNames() {
        assertEquals(BeamStop.FAIRSEQ, BeamStop.of("fairseq"))
        try {
            BeamStop.of("never")
            fail("accepted an unknown stop rule")
        } catch (e: IllegalArgumentException) {
            assertEquals("unknown beam stop rule 'never'; choose from early, fairseq", e.message)
        }
    }

    @Test
    fun setSliceWritesOnePosition() {
        // (2, 3, 2) zeros; write a (2, 1, 2) row at index 1 of axis 1.
        val t = Tensor.zeros(DType.INT32, intArrayOf(2, 3, 2))
        t.setSlice(1, 1, Tensor.ofInts(intArrayOf(2, 1, 2), intArrayOf(1, 2, 3, 4)))
        assertArrayEquals(intArrayOf(0, 0, 1, 2, 0, 0, 0, 0, 3, 4, 0, 0), t.toIntArray())
    }

    @Test
    fun takeAlongAnyAxis() {
        // (2, 3, 2) int tensor; take along axis 1 with a repeated index.
        val t = Tensor.ofInts(intArrayOf(2, 3, 2), IntArray(12) { it })
        val taken = t.take(intArrayOf(2, 0, 2), 1)
        assertArrayEquals(intArrayOf(2, 3, 2), taken.shape)
        assertArrayEquals(intArrayOf(4, 5, 0, 1, 4, 5, 10, 11, 6, 7, 10, 11), taken.toIntArray())
        assertArrayEquals(intArrayOf(6, 7, 8, 9, 10, 11), t.take(intArrayOf(1), 0).toIntArray())
        assertArrayEquals(intArrayOf(1, 3, 5, 7, 9, 11), t.take(intArrayOf(1), -1).toIntArray())
    }

    @Test
    fun logSoftmaxAndArgmax() {
        val logits = floatArrayOf(1f, 3f, 3f, -2f, Float.NEGATIVE_INFINITY)
        val lp = logSoftmax(logits)
        assertEquals(1.0, lp.fold(0.0) { sum, v -> sum + Math.exp(v) }, 1e-12)
        assertEquals(lp[1], lp[2], 0.0)
        assertEquals(Double.NEGATIVE_INFINITY, lp[4], 0.0)
        assertEquals(1, argmax(logits, 0, logits.size)) // first maximum, like np.argmax
        assertEquals(2, argmax(floatArrayOf(0f, 1f, Float.NaN, 2f), 0, 4)) // first NaN
        assertEquals(45.0, pairwiseSum(DoubleArray(10) { it.toDouble() }, 0, 10), 0.0)
        assertEquals(499500.0, pairwiseSum(DoubleArray(1000) { it.toDouble() }, 0, 1000), 0.0)
    }

    @Test
    fun topIndicesBreaksTiesByIndex() {
        val values = doubleArrayOf(1.0, 5.0, 3.0, 5.0, Double.NaN, Double.NEGATIVE_INFINITY, 3.0)
        assertArrayEquals(intArrayOf(1, 3, 2, 6), topIndices(values, 4))
        assertArrayEquals(intArrayOf(1, 3, 2, 6, 0, 5, 4), topIndices(values, 7))
    }
}
