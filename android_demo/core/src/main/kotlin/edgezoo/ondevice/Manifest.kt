package edgezoo.ondevice

import java.io.File
import java.security.MessageDigest

/*
 * `manifest.json`: the device contract of a converted model directory (mirrors
 * `ondevice/manifest.py`).
 *
 * The runtime is driven by the manifest alone. Its main parts:
 *
 * - `signatures`: for `encode` and `decode_step`, every input and output tensor with `name`,
 *   `dtype`, `shape` (-1 = dynamic), `role` and, where the tensor has one, `batch_axis`. Roles:
 *   `source_tokens` (encode input), `token` and `step` (decode_step inputs), `logits`
 *   (decode_step output), `memory` (made by encode, read by every step, never changes) and
 *   `state` (made by encode, replaced by each step's output of the same name).
 * - `special_tokens` (`pad`, `unk`, `start`, `end` ids), `max_source_length`,
 *   `max_target_length`.
 * - `tokenizer`: kind and vocabulary file names.
 * - `quantization`, `model_file`, `model_sha256`, `parity`, `format_version`.
 */

const val FORMAT_VERSION = 1
const val MANIFEST_FILE = "manifest.json"

/** Allowed roles per signature and side. */
val SIGNATURE_ROLES: Map<String, Map<String, Set<String>>> = linkedMapOf(
    "encode" to linkedMapOf("inputs" to setOf("source_tokens"), "outputs" to setOf("memory", "state")),
    "decode_step" to linkedMapOf(
        "inputs" to setOf("token", "step", "memory", "state"),
        "outputs" to setOf("logits", "state")
    )
)

/** One signature tensor as the manifest describes it. */
data class TensorInfo(
    val name: String,
    val dtype: String,
    val shape: List<Int>,
    val role: String,
    val batchAxis: Int? = null
) {
    companion object {
        fun fromDict(d: Map<String, Any?>): TensorInfo = TensorInfo(
            d["name"] as? String ?: throw ArtifactError("manifest.json: a tensor has no 'name'"),
            d["dtype"] as? String ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'dtype'"),
            (d["shape"] as? List<*> ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'shape'"))
                .map { asInt(it, "shape of ${pyRepr(d["name"])}") },
            d["role"] as? String ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'role'"),
            d["batch_axis"]?.let { asInt(it, "batch_axis of ${pyRepr(d["name"])}") }
        )
    }
}

/**
 * A parsed, validated `manifest.json`.
 *
 * @property data the JSON object.
 * @property directory where the artifact's files are: a file-system directory, or an asset
 *     folder in the Android app (see [path]).
 */
class Manifest(val data: Map<String, Any?>, val directory: String) {
    val family: String
        get() = data["family"] as String

    /** `pad`, `unk`, `start`, `end` ids (a missing or null `end` means: no end token). */
    val specialTokens: Map<String, Int?>
        get() = obj(data["special_tokens"], "special_tokens").mapValues { (k, v) ->
            v?.let { asInt(it, "special_tokens.$k") }
        }

    val maxSourceLength: Int
        get() = asInt(data["max_source_length"], "max_source_length")

    val maxTargetLength: Int
        get() = asInt(data["max_target_length"], "max_target_length")

    /** The quantization recipe (`float32`, `dynamic_int8`, ...), or `"unknown"`. */
    val recipe: String
        get() = ((data["quantization"] as? Map<*, *>)?.get("recipe") as? String) ?: "unknown"

    /** [TensorInfo]s of [signature]'s [side] (`"inputs"`/`"outputs"`). */
    fun tensors(signature: String, side: String): List<TensorInfo> {
        val signatures = obj(data["signatures"], "signatures")
        val entries = obj(signatures[signature], "signatures.$signature")[side] as? List<*> ?: emptyList<Any?>()
        return entries.map { TensorInfo.fromDict(obj(it, "signatures.$signature.$side")) }
    }

    /** The memory and state tensors passed from `encode` to `decode_step`. */
    fun decoderTensors(): List<TensorInfo> =
        tensors("decode_step", "inputs").filter { it.role == "memory" || it.role == "state" }

    /** Path of a file named in the manifest (`model_file`, a vocabulary, ...). */
    fun path(key: String): String {
        val name = if (key.endsWith("vocabulary")) obj(data["tokenizer"], "tokenizer")[key] else data[key]
        if (name !is String) throw ArtifactError("manifest.json has no file name for ${pyRepr(key)}")
        return if (directory.isEmpty()) name else File(directory, name).path
    }
}

/** Lowercase hex sha256 of [bytes]. */
fun sha256Hex(bytes: ByteArray): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { String.format("%02x", it) }

/** Lowercase hex sha256 of the file at [path]. */
fun sha256File(path: File): String {
    val digest = MessageDigest.getInstance("SHA-256")
    path.inputStream().use { input ->
        val block = ByteArray(1 shl 20)
        while (true) {
            val n = input.read(block)
            if (n < 0) break
            digest.update(block, 0, n)
        }
    }
    return digest.digest().joinToString("") { String.format("%02x", it) }
}

/** Check the structure of a manifest object; throw [ArtifactError] if broken. */
fun validate(data: Map<String, Any?>) {
    for (key in listOf("format_version", "family", "signatures", "special_tokens", "tokenizer", "model_file")) {
        if (key !in data) throw ArtifactError("manifest.json has no ${pyRepr(key)}")
    }
    val version = data["format_version"]
    if (version !is Number) throw ArtifactError("manifest.json: 'format_version' must be a number")
    if (version.toDouble() > FORMAT_VERSION) {
        throw ArtifactError(
            "manifest format $version is newer than this runtime ($FORMAT_VERSION); upgrade it"
        )
    }
    val signatures = obj(data["signatures"], "signatures")
    for ((signature, roles) in SIGNATURE_ROLES) {
        if (signature !in signatures) throw ArtifactError("manifest.json describes no ${pyRepr(signature)} signature")
        val sides = obj(signatures[signature], "signatures.$signature")
        for ((side, allowed) in roles) {
            val tensors = sides[side] ?: continue
            if (tensors !is List<*>) throw ArtifactError("manifest.json: signatures.$signature.$side must be a list")
            for (tensor in tensors) {
                val t = obj(tensor, "signatures.$signature.$side")
                if (t["role"] !in allowed) {
                    throw ArtifactError(
                        "manifest.json: $signature ${side.dropLast(1)} ${pyRepr(t["name"])} has role " +
                            "${pyRepr(t["role"])}; expected one of ${allowed.sorted().map { pyRepr(it) }}"
                    )
                }
            }
        }
    }
    val decodeInputs = (obj(signatures["decode_step"], "signatures.decode_step")["inputs"] as? List<*> ?: emptyList<Any?>())
        .map { obj(it, "signatures.decode_step.inputs") }
    val roles = decodeInputs.map { it["role"] }
    if (roles.count { it == "token" } != 1 || roles.count { it == "step" } != 1) {
        throw ArtifactError("manifest.json: decode_step needs exactly one 'token' and one 'step' input")
    }
    val encodeOutputs = (obj(signatures["encode"], "signatures.encode")["outputs"] as? List<*> ?: emptyList<Any?>())
        .map { obj(it, "signatures.encode.outputs")["name"] }.toSet()
    val missing = decodeInputs
        .filter { (it["role"] == "memory" || it["role"] == "state") && it["name"] !in encodeOutputs }
        .map { it["name"].toString() }
        .sorted()
    if (missing.isNotEmpty()) {
        throw ArtifactError("manifest.json: decode_step inputs ${missing.map { pyRepr(it) }} are not produced by encode")
    }
}

/**
 * Parse and validate the text of a `manifest.json`.
 *
 * @param text the file's content.
 * @param where how to name the file in error messages.
 * @param directory where the artifact's other files are (see [Manifest.directory]).
 */
fun parseManifest(text: String, where: String, directory: String): Manifest {
    val data = try {
        Json.parse(text)
    } catch (e: Json.JsonError) {
        throw ArtifactError("$where: not valid JSON (${e.message})")
    }
    if (data !is Map<*, *>) throw ArtifactError("$where: expected a JSON object")
    @Suppress("UNCHECKED_CAST")
    val manifest = data as Map<String, Any?>
    validate(manifest)
    return Manifest(manifest, directory)
}

/**
 * Read and validate `directory/manifest.json` (the file-system version of the app's asset
 * loader).
 *
 * @param directory a converted model directory.
 * @param checkSha256 verify that `model_file` matches `model_sha256`.
 */
fun loadManifest(directory: File, checkSha256: Boolean = true): Manifest {
    val path = File(directory, MANIFEST_FILE)
    if (!directory.isDirectory) throw ArtifactError("$directory: no such model directory")
    if (!path.exists()) throw ArtifactError("$directory: no $MANIFEST_FILE (not a converted model directory?)")
    val text = try {
        decodeUtf8(path.readBytes())
    } catch (e: java.nio.charset.CharacterCodingException) {
        throw ArtifactError("$path: not valid JSON (not UTF-8)")
    }
    val manifest = parseManifest(text, path.path, directory.absolutePath)
    val modelPath = File(manifest.path("model_file"))
    if (!modelPath.exists()) throw ArtifactError("$directory: ${manifest.data["model_file"]} is missing")
    if (checkSha256) checkModelSha256(manifest, sha256File(modelPath), modelPath.path)
    return manifest
}

/** [ArtifactError] if the manifest names a `model_sha256` and [actualSha256] differs. */
fun checkModelSha256(manifest: Manifest, actualSha256: String, where: String) {
    val expected = manifest.data["model_sha256"] as? String
    if (!expected.isNullOrEmpty() && expected != actualSha256) {
        throw ArtifactError("$where: sha256 does not match manifest.json (file corrupted or replaced)")
    }
}

/** Strict UTF-8 decoding (malformed bytes raise instead of becoming U+FFFD). */
fun decodeUtf8(bytes: ByteArray): String =
    Charsets.UTF_8.newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
        .decode(java.nio.ByteBuffer.wrap(bytes))
        .toString()

@Suppress("UNCHECKED_CAST")
internal fun obj(value: Any?, what: String): Map<String, Any?> =
    value as? Map<String, Any?> ?: throw ArtifactError("manifest.json: '$what' must be a JSON object")

internal fun asInt(value: Any?, what: String): Int = when {
    value is Long && value >= Int.MIN_VALUE && value <= Int.MAX_VALUE -> value.toInt()
    value is Int -> value
    else -> throw ArtifactError("manifest.json: '$what' must be an integer, got ${pyRepr(value)}")
}

/** Python's `repr` for the values that appear in error messages (str, None, numbers). */
internal fun pyRepr(value: Any?): String = when (value) {
    null -> "None"
    is String -> pyStringRepr(value)
    is Boolean -> if (value) "True" else "False"
    else -> value.toString()
}

/** `repr(str)`: single quotes unless the text has one and no double quote; escapes like Python. */
private fun pyStringRepr(text: String): String {
    val quote = if ('\'' in text && '"' !in text) '"' else '\''
    val sb = StringBuilder().append(quote)
    var i = 0
    while (i < text.length) {
        val cp = text.codePointAt(i)
        i += Character.charCount(cp)
        when {
            cp == 0x5C -> sb.append("\\\\")
            cp == 0x27 && quote == '\'' || cp == 0x22 && quote == '"' -> sb.append('\\').append(quote)
            cp == 0x09 -> sb.append("\\t")
            cp == 0x0A -> sb.append("\\n")
            cp == 0x0D -> sb.append("\\r")
            cp == 0x20 || isPrintable(cp) -> sb.appendCodePoint(cp)
            cp < 0x100 -> sb.append(String.format("\\x%02x", cp))
            cp < 0x10000 -> sb.append(String.format("\\u%04x", cp))
            else -> sb.append(String.format("\\U%08x", cp))
        }
    }
    return sb.append(quote).toString()
}

/** Python's `str.isprintable()` for one code point: not in categories C* or Z* (space aside). */
private fun isPrintable(cp: Int): Boolean = when (Character.getType(cp).toByte()) {
    Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
    Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false
    else -> true
}
