package edgezoo.ondevice

import java.io.File
import java.nio.file.Files
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class ManifestTest {
    private val golden: Map<String, Any?> = Goldens.json(MANIFEST_FILE)

    /** A deep copy of the golden manifest, changed by [edit]. */
    private fun edited(edit: (MutableMap<String, Any?>) -> Unit): MutableMap<String, Any?> {
        @Suppress("UNCHECKED_CAST")
        fun copy(value: Any?): Any? = when (value) {
            is Map<*, *> -> LinkedHashMap<String, Any?>().also { m -> value.forEach { (k, v) -> m[k as String] = copy(v) } }
            is List<*> -> value.mapTo(ArrayList()) { copy(it) }
            else -> value
        }
        @Suppress("UNCHECKED_CAST")
        val data = copy(golden) as MutableMap<String, Any?>
        edit(data)
        return data
    }

    @Suppress("UNCHECKED_CAST")
    private fun MutableMap<String, Any?>.sub(vararg keys: String): MutableMap<String, Any?> =
        keys.fold(this) { m, k -> m[k] as MutableMap<String, Any?> }

    @Suppress("UNCHECKED_CAST")
    private fun MutableMap<String, Any?>.tensorList(signature: String, side: String): MutableList<MutableMap<String, Any?>> =
        sub("signatures", signature)[side] as MutableList<MutableMap<String, Any?>>

    private fun invalid(expected: String, data: Map<String, Any?>) {
        try {
            validate(data)
            fail("accepted a broken manifest; expected: $expected")
        } catch (e: ArtifactError) {
            assertEquals(expected, e.message)
        }
    }

    @Test
    fun goldenManifestParses() {
        val m = Goldens.manifest
        assertEquals("transformer", m.family)
        assertEquals("float32", m.recipe)
        assertEquals(mapOf("end" to 3, "pad" to 0, "start" to 2, "unk" to 1), m.specialTokens)
        assertTrue(m.maxSourceLength > 0 && m.maxTargetLength > 0)
        assertEquals("goldens/source_vocab.txt", m.path("source_vocabulary"))
        assertEquals("goldens/model.tflite", m.path("model_file"))
        val decoder = m.decoderTensors()
        assertTrue(decoder.isNotEmpty())
        assertTrue(decoder.all { (it.role == "memory" || it.role == "state") && it.batchAxis != null })
        val encodeOutputs = m.tensors("encode", "outputs").map { it.name }.toSet()
        // Memory and replace states come from encode; append states (the K/V caches) do not.
        assertTrue(decoder.filter { !it.isAppend }.all { it.name in encodeOutputs })
        val caches = decoder.filter { it.isAppend }
        assertTrue(caches.isNotEmpty())
        assertTrue(caches.all { it.update == "append" && it.timeAxis != it.batchAxis && it.name !in encodeOutputs })
        assertEquals(listOf("decode_step_16", "decode_step"), m.decodeSignatures)
        // The variants differ only in the cache length along the time axis.
        val short = m.tensors("decode_step_16", "inputs").filter { it.isAppend }.associateBy { it.name }
        for (t in caches) {
            val s = short.getValue(t.name)
            assertEquals(16, s.shape[s.timeAxis!!])
            assertEquals(m.maxTargetLength, t.shape[t.timeAxis!!])
            assertEquals(t.shape.filterIndexed { i, _ -> i != t.timeAxis }, s.shape.filterIndexed { i, _ -> i != t.timeAxis })
        }
        val step = m.tensors("decode_step", "inputs").single { it.role == "step" }
        assertEquals(emptyList<Int>(), step.shape)
        assertNull(step.batchAxis)
        val signatures = DecodeSignatures(m)
        assertEquals(listOf(16, m.maxTargetLength), signatures.variants.map { it.capacity })
        assertNull(signatures.fixedSourceLength)
    }

    @Test
    fun sharedVocabularyIsOneFileForBothSides() {
        // `shared_vocabulary` runs name one file (vocabulary.txt) for both sides.
        val data = edited { m ->
            m.sub("tokenizer")["source_vocabulary"] = "vocabulary.txt"
            m.sub("tokenizer")["target_vocabulary"] = "vocabulary.txt"
        }
        validate(data)
        val m = Manifest(data, "dir")
        assertEquals(File("dir", "vocabulary.txt").path, m.path("source_vocabulary"))
        assertEquals(m.path("source_vocabulary"), m.path("target_vocabulary"))
    }

    @Test
    fun missingTopLevelKey() {
        for (key in listOf("format_version", "family", "signatures", "special_tokens", "tokenizer", "model_file")) {
            invalid("manifest.json has no '$key'", edited { it.remove(key) })
        }
    }

    @Test
    fun formatVersions() {
        invalid("manifest format 3 is newer than this runtime (2); upgrade it", edited { it["format_version"] = 3L })
        invalid(
            "manifest format 1 is from an older converter (this runtime reads 2: runtime-owned caches); " +
                "reconvert the model with `zoo convert`",
            edited { it["format_version"] = 1L }
        )
        invalid("manifest.json: format_version must be an integer", edited { it["format_version"] = 2.0 })
    }

    @Test
    fun onlyTranslation() {
        invalid(
            "manifest.json: a 'transformer' model for task 'text_vae'; translation needs a 'translation' model",
            edited { it["task"] = "text_vae" }
        )
    }

    @Test
    fun lengthsAreBounded() {
        invalid("manifest.json: max_target_length must be an integer from 1 to 4096", edited { it["max_target_length"] = 4097L })
        invalid("manifest.json: max_source_length must be an integer from 1 to 4096", edited { it["max_source_length"] = 0L })
        invalid("manifest.json: special_tokens.end must be an integer", edited { it.sub("special_tokens")["end"] = null })
    }

    /** The first append state of [signature]'s inputs, to edit. */
    private fun MutableMap<String, Any?>.cache(signature: String = "decode_step"): MutableMap<String, Any?> =
        tensorList(signature, "inputs").first { it["update"] == "append" }

    @Test
    fun stateUpdates() {
        val name = edited { }.cache()["name"]
        invalid(
            "manifest.json: decode_step state '$name' needs update 'replace' or 'append'",
            edited { d -> d.cache().remove("update") }
        )
        invalid(
            "manifest.json: decode_step_16 state '$name' has no valid time_axis",
            edited { d -> d.cache("decode_step_16").remove("time_axis") }
        )
        invalid(
            "manifest.json: decode_step state '$name' has no valid time_axis",
            edited { d -> d.cache().let { it["time_axis"] = it["batch_axis"] } }
        )
        invalid(
            "manifest.json: decode_step state '$name' has no valid time_axis",
            edited { d -> d.cache().let { it["time_axis"] = (it["shape"] as List<*>).size.toLong() } }
        )
        invalid(
            "manifest.json: decode_step cache '$name' length must be 1..4096",
            edited { d -> d.cache().let { c -> (c["shape"] as MutableList<Any?>)[(c["time_axis"] as Long).toInt()] = -1L } }
        )
        // An append state is not made by encode; a replace state must be.
        invalid(
            "manifest.json: decode_step inputs ['$name'] are not produced by encode",
            edited { d ->
                for (signature in listOf("decode_step_16", "decode_step")) d.cache(signature)["update"] = "replace"
            }
        )
        invalid(
            "manifest.json: decode_step inputs ['$name'] have no 'batch_axis' (beam search needs it)",
            edited { d -> d.cache().remove("batch_axis") }
        )
    }

    @Test
    fun decodeSignatureVariants() {
        val ending = "manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'"
        invalid(ending, edited { it["decode_signatures"] = listOf("decode_step", "decode_step_16") })
        invalid(ending, edited { it["decode_signatures"] = emptyList<Any?>() })
        invalid(ending, edited { it["decode_signatures"] = "decode_step" })
        invalid(
            "manifest.json: decode signature 'decode_step_8' is not described",
            edited { it["decode_signatures"] = listOf("decode_step_8", "decode_step") }
        )
        invalid(
            "manifest.json: decode_step does not have the same tensors as decode_step_16",
            edited { d -> d.tensorList("decode_step_16", "inputs").removeAll { it["role"] == "memory" } }
        )
        // Without decode_signatures, decode_step is the only variant.
        val single = edited { it.remove("decode_signatures") }
        validate(single)
        assertEquals(listOf("decode_step"), Manifest(single, "").decodeSignatures)
    }

    @Test
    fun missingSignature() {
        invalid("manifest.json describes no 'encode' signature", edited { it.sub("signatures").remove("encode") })
    }

    @Test
    fun wrongRole() {
        invalid(
            "manifest.json: encode output 'source_bias' has role 'logits'; expected one of ['memory', 'state']",
            edited { d -> d.tensorList("encode", "outputs").single { it["name"] == "source_bias" }["role"] = "logits" }
        )
    }

    @Test
    fun tokenAndStepExactlyOnce() {
        // (In every variant: variants with different tensors are refused first.)
        val variants = listOf("decode_step_16", "decode_step")
        invalid(
            "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
            edited { d -> for (v in variants) d.tensorList(v, "inputs").removeAll { it["role"] == "step" } }
        )
        invalid(
            "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
            edited { d ->
                for (v in variants) {
                    val inputs = d.tensorList(v, "inputs")
                    inputs.add(LinkedHashMap(inputs.single { it["role"] == "token" }).also { it["name"] = "token2" })
                }
            }
        )
        invalid(
            "manifest.json: decode_step does not have the same tensors as decode_step_16",
            edited { d -> d.tensorList("decode_step", "inputs").removeAll { it["role"] == "step" } }
        )
    }

    @Test
    fun decoderInputNotMadeByEncode() {
        invalid(
            "manifest.json: decode_step inputs ['source_bias'] are not produced by encode",
            edited { d -> d.tensorList("encode", "outputs").removeAll { it["name"] == "source_bias" } }
        )
    }

    @Test
    fun structureErrorsAreArtifactErrors() {
        invalid("manifest.json: 'signatures' must be a JSON object", edited { it["signatures"] = listOf(1L) })
        try {
            parseManifest("[1, 2]", "m.json", "")
            fail("accepted a JSON array")
        } catch (e: ArtifactError) {
            assertEquals("m.json: expected a JSON object", e.message)
        }
        try {
            parseManifest("{\"family\": ", "m.json", "")
            fail("accepted broken JSON")
        } catch (e: ArtifactError) {
            assertTrue(e.message!!, e.message!!.startsWith("m.json: not valid JSON ("))
        }
    }

    private fun artifactDir(modelBytes: ByteArray?, sha256: String?): File {
        val dir = Files.createTempDirectory("manifest-test").toFile()
        dir.deleteOnExit()
        val data = edited { if (sha256 == null) it.remove("model_sha256") else it["model_sha256"] = sha256 }
        File(dir, MANIFEST_FILE).writeText(toJson(data))
        if (modelBytes != null) File(dir, "model.tflite").writeBytes(modelBytes)
        return dir
    }

    private fun loadError(dir: File): String = try {
        loadManifest(dir)
        fail("loaded a broken artifact")
        ""
    } catch (e: ArtifactError) {
        e.message!!
    }

    @Test
    fun loadManifestChecksFilesAndSha256() {
        val model = "not really a model".toByteArray()
        val good = artifactDir(model, sha256Hex(model))
        assertEquals(good.absolutePath, loadManifest(good).directory)
        assertEquals(File(good, "model.tflite").absolutePath, loadManifest(good).path("model_file"))
        assertEquals(sha256Hex(model), sha256File(File(good, "model.tflite")))

        val corrupt = artifactDir("another model".toByteArray(), sha256Hex(model))
        assertEquals(
            "${File(corrupt.absolutePath, "model.tflite").path}: sha256 does not match manifest.json (file corrupted or replaced)",
            loadError(corrupt)
        )
        loadManifest(corrupt, checkSha256 = false)
        loadManifest(artifactDir(model, null)) // no sha256 recorded: nothing to check

        val noModel = artifactDir(null, sha256Hex(model))
        assertEquals("$noModel: model.tflite is missing", loadError(noModel))

        val empty = Files.createTempDirectory("manifest-test").toFile()
        assertEquals("$empty: no manifest.json (not a converted model directory?)", loadError(empty))
        val nowhere = File(empty, "nowhere")
        assertEquals("$nowhere: no such model directory", loadError(nowhere))
        empty.delete()
    }

    @Test
    fun sha256OfKnownInput() {
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sha256Hex("abc".toByteArray()))
    }

    /** A minimal JSON writer for the test's manifests (round-trips through [Json]). */
    private fun toJson(value: Any?): String = when (value) {
        null -> "null"
        is String -> "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
        is Map<*, *> -> value.entries.joinToString(",", "{", "}") { toJson(it.key) + ":" + toJson(it.value) }
        is List<*> -> value.joinToString(",", "[", "]") { toJson(it) }
        else -> value.toString()
    }
}
