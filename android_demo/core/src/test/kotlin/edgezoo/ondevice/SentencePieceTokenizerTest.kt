package edgezoo.ondevice

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.util.zip.GZIPInputStream

/**
 * The Kotlin SentencePiece tokenizer against the Python `sentencepiece` library: the goldens of
 * `android_demo/tools/make_sentencepiece_goldens.py` (models + `cases.json`).
 */
class SentencePieceTokenizerTest {
    private val goldens = Goldens.json("sentencepiece/cases.json")
    private val models = goldens.getValue("models").asList().map { it.asMap() }

    private fun modelBytes(model: Map<String, Any?>): ByteArray {
        val file = model["file"] as String
        return GZIPInputStream(Goldens.bytes("sentencepiece/$file").inputStream()).use { it.readBytes() }
    }

    private fun tokenizer(model: Map<String, Any?>) =
        SentencePieceTokenizer.fromBytes(modelBytes(model), "goldens/sentencepiece/${model["file"]}")

    private fun hexBytes(hex: String) = ByteArray(hex.length / 2) { hex.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

    /** Runs [check] on every golden model, collecting mismatches; fails listing the first ones. */
    private fun checkEveryModel(check: (SentencePieceTokenizer, Map<String, Any?>, MutableList<String>) -> Unit) {
        assertEquals("golden models", 5, models.size)
        val mismatches = ArrayList<String>()
        for (model in models) check(tokenizer(model), model, mismatches)
        assertTrue("${mismatches.size} mismatches:\n" + mismatches.take(25).joinToString("\n"), mismatches.isEmpty())
    }

    private fun expect(mismatches: MutableList<String>, what: String, expected: Any?, actual: Any?) {
        if (expected != actual) mismatches.add("$what: expected ${repr(expected)}, got ${repr(actual)}")
    }

    private fun repr(value: Any?): String = when (value) {
        is String -> pyRepr(value)
        is List<*> -> value.joinToString(", ", "[", "]") { repr(it) }
        else -> value.toString()
    }

    @Test
    fun encodeAndDecodeGoldenTexts() = checkEveryModel { tokenizer, model, mismatches ->
        val cases = model.getValue("cases").asList().map { it.asMap() }
        assertTrue("too few golden texts", cases.size >= 100)
        for (case in cases) {
            val text = case["text"] as String
            val where = "${model["name"]} ${pyRepr(text)}"
            expect(mismatches, "normalized $where", case["normalized"], tokenizer.normalize(text))
            expect(mismatches, "pieces $where", case["pieces"], tokenizer.encodeAsPieces(text))
            expect(mismatches, "ids $where", case["ids"].asInts(), tokenizer.encodeAsIds(text).toList())
            expect(mismatches, "decoded pieces $where", case["decoded_pieces"], tokenizer.decodePieces(case["pieces"].asList().map { it as String }))
            expect(mismatches, "decoded ids $where", case["decoded_ids"], tokenizer.decodeIds(case["ids"].asInts()))
        }
    }

    @Test
    fun encodeMalformedUtf8Bytes() = checkEveryModel { tokenizer, model, mismatches ->
        for (case in model.getValue("byte_cases").asList().map { it.asMap() }) {
            val bytes = hexBytes(case["hex"] as String)
            val where = "${model["name"]} bytes ${case["hex"]}"
            expect(mismatches, "pieces $where", case["pieces"], tokenizer.encodeAsPieces(bytes))
            expect(mismatches, "ids $where", case["ids"].asInts(), tokenizer.encodeAsIds(bytes).toList())
        }
    }

    @Test
    fun decodeHandMadePiecesAndIds() = checkEveryModel { tokenizer, model, mismatches ->
        for (case in model.getValue("decode_pieces").asList().map { it.asMap() }) {
            val pieces = case["pieces"].asList().map { it as String }
            expect(mismatches, "${model["name"]} decodePieces ${repr(pieces)}", case["text"], tokenizer.decodePieces(pieces))
        }
        for (case in model.getValue("decode_ids").asList().map { it.asMap() }) {
            val ids = case["ids"].asInts()
            expect(mismatches, "${model["name"]} decodeIds $ids", case["text"], tokenizer.decodeIds(ids))
            expect(mismatches, "${model["name"]} decodeIds(IntArray) $ids", case["text"], tokenizer.decodeIds(ids.toIntArray()))
        }
    }

    @Test
    fun vocabulary() = checkEveryModel { tokenizer, model, mismatches ->
        val name = model["name"]
        val pieces = model.getValue("pieces").asList().map { it as String }
        fun id(key: String) = (model[key] as Long).toInt()
        expect(mismatches, "$name vocabularySize", id("vocabulary_size"), tokenizer.vocabularySize)
        expect(mismatches, "$name unkId", id("unk_id"), tokenizer.unkId)
        expect(mismatches, "$name bosId", id("bos_id"), tokenizer.bosId)
        expect(mismatches, "$name eosId", id("eos_id"), tokenizer.eosId)
        expect(mismatches, "$name padId", id("pad_id"), tokenizer.padId)
        expect(mismatches, "$name pieces", pieces, (0 until tokenizer.vocabularySize).map { tokenizer.idToPiece(it) })
        val missing = listOf("\u2581not in any model", "<0x41>", "<UNK>", "")
        val pieceIds = model.getValue("piece_ids").asInts()
        for ((i, piece) in (pieces + missing).withIndex()) {
            expect(mismatches, "$name pieceToId(${pyRepr(piece)})", pieceIds[i], tokenizer.pieceToId(piece))
        }
    }

    @Test
    fun goldensCoverTheHardCases() {
        val byName = models.associateBy { it["name"] as String }
        fun cases(name: String) = byName.getValue(name).getValue("cases").asList().map { it.asMap() }
        fun pieces(name: String) = cases(name).flatMap { case -> case["pieces"].asList().map { it as String } }
        // Consecutive unknown characters merged into one unknown piece (id 0).
        assertTrue(cases("nmt_nfkc").any { case ->
            case["pieces"].asList().zip(case["ids"].asInts()).any { (piece, id) -> id == 0 && (piece as String).codePointCount(0, piece.length) > 1 }
        })
        assertTrue("no byte fallback", "<0xF0>" in pieces("identity_bytes"))
        assertTrue("no user-defined symbol", ">>spa<<" in pieces("identity_bytes") && "<sep>" in pieces("custom_rules"))
        assertTrue("no NUL", cases("nmt_nfkc").any { '\u0000' in (it["text"] as String) })
        assertTrue("no decomposed accent", cases("nmt_nfkc").any { "e\u0301" in (it["text"] as String) })
        assertTrue("no text over 200 characters", cases("nmt_nfkc").any { (it["text"] as String).length >= 200 })
        // The crafted model's texts pin down the Viterbi's rules (see make_sentencepiece_goldens.py).
        val crafted = cases("crafted").associate { (it["text"] as String) to it["pieces"].asList() }
        assertEquals(listOf("\u2581", "ab"), crafted["ab"]) // ties: the first path found
        assertEquals(listOf("\u2581", "xy"), crafted["xy xyxy"]!!.take(2)) // float sums
        assertEquals(listOf("\u2581", "w", "w", "g", "h"), crafted["wwgh"]) // reset past 100000
        assertEquals(listOf("\u2581", "w", "wr"), crafted["wwr"]) // reset shifts later ends too
        assertEquals(listOf("\u2581", "\u00e9\u00e9"), crafted["\u00e9\u00e9 \u00e9\u00e9\u00e9"]!!.take(2)) // bytes
    }

    @Test
    fun nonUnigramModelIsRejected() {
        val bytes = modelBytes(models[1])
        // A second trainer_spec (field 2) is merged into the first: model_type (3) = BPE (2).
        val bpe = bytes + byteArrayOf(0x12, 0x02, 0x18, 0x02)
        try {
            SentencePieceTokenizer.fromBytes(bpe, "bpe.model")
            fail("accepted a BPE model")
        } catch (e: ArtifactError) {
            assertEquals("bpe.model: model_type BPE is not supported (only UNIGRAM SentencePiece models)", e.message)
        }
        // An enum value the .proto does not define is ignored, as the C++ parser does.
        assertEquals(600, SentencePieceTokenizer.fromBytes(bytes + byteArrayOf(0x12, 0x02, 0x18, 0x09), "m").vocabularySize)
    }

    @Test
    fun corruptModelsRaiseArtifactError() {
        for (model in models) {
            val bytes = modelBytes(model)
            val lengths = (0 until minOf(bytes.size, 64)) + (64 until bytes.size step maxOf(1, bytes.size / 300))
            var rejected = 0
            for (n in lengths) {
                try {
                    val tokenizer = SentencePieceTokenizer.fromBytes(bytes.copyOf(n), "cut.model")
                    tokenizer.decodeIds(tokenizer.encodeAsIds("Hello, ¿qué tal? 中文 ＡＢＣ"))
                } catch (e: ArtifactError) {
                    assertTrue(e.message!!, e.message!!.startsWith("cut.model"))
                    rejected++
                } catch (e: Exception) {
                    throw AssertionError("${model["file"]} cut to $n bytes: ${e.javaClass.name} instead of ArtifactError", e)
                }
            }
            assertTrue("${model["file"]}: no truncation rejected", rejected > lengths.size / 2)
        }
        try {
            SentencePieceTokenizer.fromBytes(ByteArray(0), "empty.model")
            fail("accepted an empty file")
        } catch (e: ArtifactError) {
            assertEquals("empty.model: unk is not defined.", e.message)
        }
        try {
            SentencePieceTokenizer.fromBytes("not a model at all".toByteArray(), "text.model")
            fail("accepted text")
        } catch (e: ArtifactError) {
            assertTrue(e.message!!, e.message!!.startsWith("text.model: not a SentencePiece model file"))
        }
    }

    @Test
    fun corruptedBytesNeverEscapeAsOtherExceptions() {
        val random = java.util.Random(1234)
        for (model in models) {
            val original = modelBytes(model)
            for (trial in 0 until 200) {
                val bytes = original.copyOf()
                repeat(1 + random.nextInt(8)) { bytes[random.nextInt(bytes.size)] = random.nextInt(256).toByte() }
                try {
                    val tokenizer = SentencePieceTokenizer.fromBytes(bytes, "bad.model")
                    for (text in listOf("Hello world", "  ¿Qué tal?  ", "ＡＢＣ ﬁ Ⅻ 😀 e\u0301", "\u0000\u200b")) {
                        tokenizer.decodePieces(tokenizer.encodeAsPieces(text))
                        tokenizer.decodeIds(tokenizer.encodeAsIds(text))
                    }
                } catch (e: ArtifactError) {
                    // expected for most corruptions
                } catch (e: Exception) {
                    throw AssertionError("${model["file"]} trial $trial: ${e.javaClass.name}: ${e.message}", e)
                }
            }
        }
    }

    @Test
    fun badInputs() {
        val tokenizer = tokenizer(models[0])
        try {
            tokenizer.encodeAsIds("bad \uD800 surrogate")
            fail("accepted a lone surrogate")
        } catch (e: InputError) {
            assertEquals("text has a lone surrogate U+D800 at index 4: not valid Unicode", e.message)
        }
        try {
            tokenizer.decodeIds(intArrayOf(5, 400))
            fail("accepted an out of range id")
        } catch (e: IllegalArgumentException) {
            assertEquals("piece id is out of range: 400 (vocabulary size 400)", e.message)
        }
        assertEquals(listOf("\u2581", "\uD83D\uDE00"), tokenizer.encodeAsPieces("\uD83D\uDE00"))
    }
}
