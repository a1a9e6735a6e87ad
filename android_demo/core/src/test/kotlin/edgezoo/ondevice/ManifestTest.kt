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
        assertTrue(decoder.all { it.name in encodeOutputs })
        val step = m.tensors("decode_step", "inputs").single { it.role == "step" }
        assertEquals(emptyList<Int>(), step.shape)
        assertNull(step.batchAxis)
    }

    @Test
    fun missingTopLevelKey() {
        for (key in listOf("format_version", "family", "signatures", "special_tokens", "tokenizer", "model_file")) {
            invalid("manifest.json has no '$key'", edited { it.remove(key) })
        }
    }

    @Test
    fun newerFormat() {
        invalid(
            "manifest format 2 is newer than this runtime (1); upgrade it",
            edited { it["format_version"] = 2L }
        )
    }

    @Test
    fun missingSignature() {
        invalid("manifest.json describes no 'encode' signature", edited { it.sub("signatures").remove("encode") })
    }

    @Test
    fun wrongRole() {
        invalid(
            "manifest.json: encode output 'source_mask' has role 'logits'; expected one of ['memory', 'state']",
            edited { d -> d.tensorList("encode", "outputs").single { it["name"] == "source_mask" }["role"] = "logits" }
        )
    }

    @Test
    fun tokenAndStepExactlyOnce() {
        invalid(
            "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
            edited { d -> d.tensorList("decode_step", "inputs").removeAll { it["role"] == "step" } }
        )
        invalid(
            "manifest.json: decode_step needs exactly one 'token' and one 'step' input",
            edited { d ->
                val inputs = d.tensorList("decode_step", "inputs")
                inputs.add(LinkedHashMap(inputs.single { it["role"] == "token" }).also { it["name"] = "token2" })
            }
        )
    }

    @Test
    fun decoderInputNotMadeByEncode() {
        invalid(
            "manifest.json: decode_step inputs ['source_mask'] are not produced by encode",
            edited { d -> d.tensorList("encode", "outputs").removeAll { it["name"] == "source_mask" } }
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
