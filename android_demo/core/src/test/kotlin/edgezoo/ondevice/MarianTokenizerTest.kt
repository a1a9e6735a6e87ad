package edgezoo.ondevice

import java.io.File
import java.nio.file.Files
import java.util.zip.GZIPInputStream
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotSame
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The `sentencepiece` tokenizer kind: [MarianTokenizer] against the Python runtime's
 * `SentencePieceTokenizer` (the goldens of `android_demo/tools/make_marian_goldens.py`: the tiny
 * Marian fixture's tokenizer files as `import_marian` writes them, and `cases.json`), and
 * [loadTokenizers] / [Manifest] / [Translator] on a `sentencepiece` artifact.
 */
class MarianTokenizerTest {
    private val goldens = Goldens.json("marian/cases.json")
    private val spec = Goldens.json("marian/tokenizer.json")
    private val special: Map<String, Int?> = goldens.getValue("special_tokens").asMap().mapValues { (it.value as Long).toInt() }

    /** The artifact-side files (the `.spm` models decompressed), by name. */
    private val files: Map<String, ByteArray> =
        listOf("source.spm", "target.spm", "vocabulary.txt", "tokenizer.json").associate { it to golden(it) }

    private fun golden(name: String): ByteArray = if (name.endsWith(".spm")) {
        GZIPInputStream(Goldens.bytes("marian/$name.gz").inputStream()).use { it.readBytes() }
    } else {
        Goldens.bytes("marian/$name")
    }

    private fun read(path: String): ByteArray =
        files[path.removePrefix("marian/")] ?: throw java.io.FileNotFoundException("$path (No such file or directory)")

    /** `(source, target)` of [loadTokenizers] over the golden files, [edit] applied to the spec. */
    private fun tokenizers(edit: (MutableMap<String, Any?>) -> Unit = {}): Pair<TextTokenizer, TextTokenizer> {
        val edited = LinkedHashMap(spec)
        edit(edited)
        return loadTokenizers(edited, "marian", special, ::read)
    }

    private fun repr(value: Any?): String = when (value) {
        is String -> pyRepr(value)
        is List<*> -> value.joinToString(", ", "[", "]") { repr(it) }
        else -> value.toString()
    }

    private fun checkAll(cases: List<Map<String, Any?>>, check: (Map<String, Any?>, MutableList<String>) -> Unit) {
        val mismatches = ArrayList<String>()
        for (case in cases) check(case, mismatches)
        assertTrue("${mismatches.size} mismatches:\n" + mismatches.take(25).joinToString("\n"), mismatches.isEmpty())
    }

    private fun cases(key: String) = goldens.getValue(key).asList().map { it.asMap() }

    @Test
    fun tokenizeGoldenTexts() {
        val (source, target) = tokenizers()
        assertTrue(source is MarianTokenizer && target is MarianTokenizer)
        val cases = cases("tokenize")
        assertTrue("too few golden texts", cases.size >= 60)
        checkAll(cases) { case, mismatches ->
            val text = case["text"] as String
            for ((side, tokenizer) in listOf("source" to source, "target" to target)) {
                val expected = case[side].asInts()
                val actual = tokenizer.tokenize(text)
                if (expected != actual) mismatches.add("$side ${pyRepr(text)}: expected $expected, got $actual")
            }
        }
    }

    @Test
    fun detokenizeGoldenIds() {
        val plain = tokenizers()
        val clean = tokenizers { it["clean_up_spaces"] = true }
        val sides = listOf("source" to plain.first, "target" to plain.second, "source_clean" to clean.first, "target_clean" to clean.second)
        val cases = cases("detokenize")
        assertTrue("too few golden id lists", cases.size >= 40)
        assertTrue("no error case", cases.any { "error" in it })
        checkAll(cases) { case, mismatches ->
            val ids = case["ids"].asInts()
            for ((key, tokenizer) in sides) {
                if ("error" in case) {
                    assertEquals("IndexError", case["error"])
                    try {
                        val text = tokenizer.detokenize(ids)
                        mismatches.add("$key $ids: expected an error, got ${pyRepr(text)}")
                    } catch (e: IllegalArgumentException) {
                        // Python: IndexError.
                    }
                } else {
                    val actual = tokenizer.detokenize(ids)
                    if (case[key] != actual) mismatches.add("$key $ids: expected ${repr(case[key])}, got ${repr(actual)}")
                }
            }
        }
    }

    @Test
    fun goldensCoverTheHardCases() {
        val source = tokenizers().first as MarianTokenizer
        val texts = cases("tokenize").associate { (it["text"] as String) to it }
        val code = source.tokenToId(">>spa<<")
        assertTrue(code > 3)
        val pieces = source.pieces(">>spa<<Hello")
        assertEquals(">>spa<<", pieces[0])
        assertEquals(source.model.encodeAsPieces("Hello"), pieces.drop(1))
        assertEquals(code, texts.getValue(">>spa<< Hello, how are you?")["source"].asInts()[0])
        assertEquals(listOf(">>xx<<"), source.pieces(">>xx<< not in the vocabulary").take(1))
        assertEquals(1, texts.getValue(">>xx<< not in the vocabulary")["source"].asInts()[0]) // <unk>
        assertEquals(MARIAN_SPECIAL_PIECES, source.pieces("a</s>b<unk>c<pad>d").filter { it in MARIAN_SPECIAL_PIECES })
        assertEquals(listOf(3), source.tokenize(""))
        assertEquals(emptyList<Int>(), tokenizers().second.tokenize(""))
        // Clean-up changes some texts; the two models decode every golden list alike.
        val detokenize = cases("detokenize").filter { "error" !in it }
        assertTrue(detokenize.count { it["source"] != it["source_clean"] } >= 10)
        assertEquals(goldens["vocabulary_size"], source.vocabularySize.toLong())
    }

    @Test
    fun negativeIdsAreRefused() {
        // Python's list indexing wraps -1 to the last piece; ids are never negative, so the
        // Kotlin tokenizer refuses them like an id past the vocabulary.
        for (tokenizer in tokenizers().toList()) {
            try {
                tokenizer.detokenize(listOf(21, -1))
                fail("accepted id -1")
            } catch (e: IllegalArgumentException) {
                assertEquals("`id` must be in range [0, 516]. Received: -1", e.message)
            }
        }
    }

    @Test
    fun vocabularyFilesKeepEverythingButTheLineBreak() {
        assertEquals(listOf("a", "b\r", "", " c "), MarianTokenizer.readPieces("a\nb\r\n\n c \n"))
        assertEquals(listOf("a", "b"), MarianTokenizer.readPieces("a\nb"))
        assertEquals(emptyList<String>(), MarianTokenizer.readPieces(""))
        assertEquals(listOf(""), MarianTokenizer.readPieces("\n"))
        assertEquals(listOf("\ufeffa"), MarianTokenizer.readPieces("\ufeffa\n"))
        try {
            MarianTokenizer.readPieces(byteArrayOf(0x61, 0xff.toByte(), 0x0a), "v.txt")
            fail("read a vocabulary that is not UTF-8")
        } catch (e: ArtifactError) {
            assertEquals("v.txt: vocabulary is not UTF-8", e.message)
        }
    }

    @Test
    fun constructorChecksLikePython() {
        val model = SentencePieceTokenizer.fromBytes(files.getValue("source.spm"), "source.spm")
        fun refused(expected: String, make: () -> Unit) = try {
            make()
            fail("accepted: $expected")
        } catch (e: IllegalArgumentException) {
            assertEquals(expected, e.message)
        }
        refused("duplicate piece 'a' in the vocabulary") { MarianTokenizer(model, listOf("<unk>", "a", "a")) }
        refused("the vocabulary has no '<unk>'") { MarianTokenizer(model, listOf("a")) }
        refused("add_end needs end_id") { MarianTokenizer(model, listOf("<unk>"), addEnd = true) }
        val tokenizer = MarianTokenizer(model, listOf("<unk>", "\u2581a", "</s>"), specialIds = listOf(2), endId = 2, addEnd = true)
        assertEquals(listOf(1, 0, 2, 2), tokenizer.tokenize("a b</s>"))
        assertEquals("a", tokenizer.detokenize(listOf(2, 1, 2)))
    }

    // --- The factory and a `sentencepiece` artifact. ---

    private fun factoryError(spec: Any?, directory: String = "marian"): String = try {
        loadTokenizers(spec, directory, special, ::read)
        fail("loaded ${repr(spec)}")
        ""
    } catch (e: ArtifactError) {
        e.message!!
    }

    @Test
    fun unknownKindsAndBadFileNames() {
        assertEquals("unknown tokenizer kind 'bpe'; this runtime knows wordpiece, sentencepiece", factoryError(spec + ("kind" to "bpe")))
        assertEquals("unknown tokenizer kind None; this runtime knows wordpiece, sentencepiece", factoryError(spec - "kind"))
        assertEquals("unknown tokenizer kind None; this runtime knows wordpiece, sentencepiece", factoryError(listOf(spec)))
        for (bad in listOf("../x.spm", "/abs/x.spm", "sub/x.spm", "", ".", "..")) {
            assertEquals(
                "tokenizer.source_model must be a file name in the model directory, not ${pyRepr(bad)}",
                factoryError(spec + ("source_model" to bad))
            )
        }
        assertEquals(
            "tokenizer.target_model must be a file name in the model directory, not None",
            factoryError(spec - "target_model")
        )
        assertEquals(
            "tokenizer.target_vocabulary must be a file name in the model directory, not 3",
            factoryError(spec + ("target_vocabulary" to 3L))
        )
        // A wordpiece description needs no models.
        val wordpiece = mapOf("kind" to "wordpiece", "source_vocabulary" to "v.txt", "target_vocabulary" to "v.txt", "source_model" to "../x")
        assertEquals(mapOf("source_vocabulary" to "v.txt", "target_vocabulary" to "v.txt"), tokenizerFiles(wordpiece))
    }

    @Test
    fun unusableFilesAreArtifactErrors() {
        val missing = factoryError(spec + ("target_model" to "missing.spm"))
        assertEquals("marian: tokenizer files not usable (marian/missing.spm (No such file or directory))", missing)
        val corrupt = try {
            loadTokenizers(spec, "marian", special) { path -> if (path.endsWith(".spm")) byteArrayOf(0x0a, 0x7f) else read(path) }
            ""
        } catch (e: ArtifactError) {
            e.message!!
        }
        assertTrue(corrupt, corrupt.startsWith("marian: tokenizer files not usable (marian/source.spm: "))
        val noUnk = try {
            loadTokenizers(spec, "marian", special) { path -> if (path.endsWith(".txt")) "a\nb\n".toByteArray() else read(path) }
            ""
        } catch (e: ArtifactError) {
            e.message!!
        }
        assertEquals("marian: tokenizer files not usable (the vocabulary has no '<unk>')", noUnk)
        // Python reads special_tokens[key] only for this kind.
        try {
            loadTokenizers(spec, "marian", special - "start", ::read)
            fail("loaded without a start id")
        } catch (e: ArtifactError) {
            assertEquals("manifest.json: special_tokens has no 'start'", e.message)
        }
    }

    @Test
    fun options() {
        // source_end and clean_up_spaces follow Python's truth values.
        val (source, target) = tokenizers { it["source_end"] = 0L; it["clean_up_spaces"] = "yes" }
        assertEquals(emptyList<Int>(), source.tokenize(""))
        val marianSource = source as MarianTokenizer
        val marianTarget = target as MarianTokenizer
        assertTrue(marianSource.cleanUpSpaces && marianTarget.cleanUpSpaces)
        assertTrue(!marianSource.addEnd && !marianTarget.addEnd)
        // A sentencepiece vocabulary shared by both sides still gives each side its own model.
        val (s, t) = tokenizers()
        assertNotSame(s, t)
        assertTrue((s as MarianTokenizer).addEnd && !(t as MarianTokenizer).addEnd)
    }

    @Test
    fun wordpieceKindThroughTheFactory() {
        val manifest = Goldens.manifest
        val (source, target) = loadTokenizers(manifest.tokenizer, "goldens", manifest.specialTokens) { path ->
            Goldens.bytes(path.removePrefix("goldens/"))
        }
        assertTrue(source is WordPieceTokenizer && target is WordPieceTokenizer)
        assertEquals(Goldens.tokenizer("source").vocabulary, (source as WordPieceTokenizer).vocabulary)
        val shared = LinkedHashMap(manifest.tokenizer).also { it["target_vocabulary"] = it["source_vocabulary"] }
        val (a, b) = loadTokenizers(shared, "goldens", manifest.specialTokens) { path -> Goldens.bytes(path.removePrefix("goldens/")) }
        assertSame(a, b) // one vocabulary loaded once, as in Python
    }

    /** A golden manifest with the Marian tokenizer, written with its files into a temporary directory. */
    private fun marianArtifact(edit: (MutableMap<String, Any?>) -> Unit = {}): File {
        @Suppress("UNCHECKED_CAST")
        val data = LinkedHashMap(Goldens.json(MANIFEST_FILE)) as MutableMap<String, Any?>
        data["tokenizer"] = LinkedHashMap(spec)
        data["special_tokens"] = special
        data.remove("model_sha256")
        edit(data)
        val dir = Files.createTempDirectory("marian-artifact").toFile()
        File(dir, MANIFEST_FILE).writeText(toJson(data))
        File(dir, "model.tflite").writeBytes("not really a model".toByteArray())
        for ((name, bytes) in files) if (name != "tokenizer.json") File(dir, name).writeBytes(bytes)
        return dir
    }

    private fun deleteArtifact(dir: File) {
        dir.listFiles()?.forEach { it.delete() }
        dir.delete()
    }

    @Test
    fun sentencepieceManifestLoadsAndTranslates() {
        val dir = marianArtifact()
        try {
            val manifest = loadManifest(dir)
            assertEquals(File(dir.absolutePath, "source.spm").path, manifest.path("source_model"))
            assertEquals(File(dir.absolutePath, "target.spm").path, manifest.path("target_model"))
            assertEquals(manifest.path("source_vocabulary"), manifest.path("target_vocabulary"))
            val translations = cases("translations").filter { case ->
                val blank = pythonIsBlank(case["text"] as String)
                !blank && case["ids"].asList().size <= manifest.maxTargetLength
            }
            val tokenize = cases("tokenize").associate { (it["text"] as String) to it["source"].asInts() }
            val usable = translations.filter { tokenize.getValue(it["text"] as String).size <= manifest.maxSourceLength }
            assertTrue("too few fixture sentences fit the golden manifest", usable.size >= 10)
            val script = usable.associate { tokenize.getValue(it["text"] as String) to it["ids"].asInts() }
            val translator = Translator.fromManifest(manifest, ScriptedDecoder(script, 517, special.getValue("pad")!!), batchSize = 4)
            assertTrue(translator.sourceTokenizer is MarianTokenizer && translator.targetTokenizer is MarianTokenizer)
            for (case in usable) {
                assertEquals(tokenize[case["text"]], translator.encodeText(case["text"] as String))
            }
            assertEquals(usable.map { it["translation"] }, translator.translate(usable.map { it["text"] as String }))
            val first = usable[0]
            val partials = ArrayList<String>()
            assertEquals(first["translation"], translator.translateStream(first["text"] as String) { partials.add(it) })
            assertEquals(first["translation"], partials.last())
        } finally {
            deleteArtifact(dir)
        }
    }

    @Test
    fun sentencepieceManifestValidation() {
        fun invalid(expected: String, edit: (MutableMap<String, Any?>) -> Unit) {
            val dir = marianArtifact(edit)
            try {
                loadManifest(dir)
                fail("accepted a broken manifest; expected: $expected")
            } catch (e: ArtifactError) {
                assertEquals(expected, e.message)
            } finally {
                deleteArtifact(dir)
            }
        }
        invalid("unknown tokenizer kind 'unigram'; this runtime knows wordpiece, sentencepiece") { d ->
            @Suppress("UNCHECKED_CAST")
            (d["tokenizer"] as MutableMap<String, Any?>)["kind"] = "unigram"
        }
        invalid("tokenizer.source_model must be a file name in the model directory, not '../x.spm'") { d ->
            @Suppress("UNCHECKED_CAST")
            (d["tokenizer"] as MutableMap<String, Any?>)["source_model"] = "../x.spm"
        }
        invalid("unknown tokenizer kind None; this runtime knows wordpiece, sentencepiece") { d -> d["tokenizer"] = "sentencepiece" }
        // A missing model file is found when the translator loads its tokenizers.
        val dir = marianArtifact()
        try {
            File(dir, "target.spm").delete()
            val manifest = loadManifest(dir)
            try {
                Translator.fromManifest(manifest, ScriptedDecoder(emptyMap(), 517, 0))
                fail("loaded without target.spm")
            } catch (e: ArtifactError) {
                assertTrue(e.message!!, e.message!!.startsWith("${dir.absolutePath}: tokenizer files not usable ("))
            }
        } finally {
            deleteArtifact(dir)
        }
    }

    /** A minimal JSON writer (round-trips through [Json]). */
    private fun toJson(value: Any?): String = when (value) {
        null -> "null"
        is String -> "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
        is Map<*, *> -> value.entries.joinToString(",", "{", "}") { toJson(it.key) + ":" + toJson(it.value) }
        is List<*> -> value.joinToString(",", "[", "]") { toJson(it) }
        else -> value.toString()
    }
}

/**
 * A decoder whose logits pick, for the source ids of a row, the next token of its [script]
 * (the fixture's greedy output); rows of unknown sources fail.
 */
private class ScriptedDecoder(val script: Map<List<Int>, List<Int>>, val vocab: Int, val padId: Int) : Decoder {
    override fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState = object : DecoderState {
        var rows: List<List<Int>> = sourceIds.map { row ->
            val source = row.toList().dropLastWhile { it == padId }
            script[source] ?: throw AssertionError("no script for source $source")
        }
        override var length = 0
        override val batchSize: Int
            get() = rows.size

        override fun step(token: IntArray): Logits {
            val values = FloatArray(rows.size * vocab)
            for ((r, ids) in rows.withIndex()) values[r * vocab + ids[length]] = 1f
            length++
            return Logits(rows.size, vocab, values)
        }

        override fun select(rows: IntArray, memoryRows: IntArray?) {
            val old = this.rows
            this.rows = rows.map { old[it] }
        }

        override fun close() {}
    }
}
