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
 *   `state` (carried from step to step).
 * - A `state` input of `decode_step` says how the step's output of the same name updates it
 *   (format version 2): `update: "replace"` (the output is the next value, e.g. LSTM h/c) or
 *   `update: "append"` with a `time_axis` (a K/V cache: the output is this position's row,
 *   written at index `step` along that axis; the runtime owns the buffer and `encode` does not
 *   make it).
 * - `decode_signatures`: the `decode_step` variants, shortest cache first (e.g.
 *   `decode_step_16`, `decode_step_32`, `decode_step`); all have the same tensors, their append
 *   states differ only in length along the time axis. A runtime decodes step `t` with the first
 *   variant whose cache holds `t + 1` positions.
 * - `special_tokens` (`pad`, `unk`, `start`, `end` ids), `max_source_length`,
 *   `max_target_length`.
 * - `tokenizer`: kind and file names (`wordpiece` vocabularies, or `sentencepiece` models and
 *   vocabularies; see `Tokenizers.kt`).
 * - `quantization`, `model_file`, `model_sha256`, `parity`, `format_version`.
 */

const val FORMAT_VERSION = 2
const val MANIFEST_FILE = "manifest.json"

/** Upper bound on lengths a manifest may claim, checked before anything is allocated. */
const val MAX_LENGTH = 4096

/** Allowed roles per signature and side. */
val SIGNATURE_ROLES: Map<String, Map<String, Set<String>>> = linkedMapOf(
    "encode" to linkedMapOf("inputs" to setOf("source_tokens"), "outputs" to setOf("memory", "state")),
    "decode_step" to linkedMapOf(
        "inputs" to setOf("token", "step", "memory", "state"),
        "outputs" to setOf("logits", "state")
    )
)

/**
 * One signature tensor as the manifest describes it.
 *
 * @property timeAxis for an `append` state (a K/V cache): the axis along which each step's
 *     output row is written at index `step`; null for every other tensor.
 */
data class TensorInfo(
    val name: String,
    val dtype: String,
    val shape: List<Int>,
    val role: String,
    val batchAxis: Int? = null,
    val timeAxis: Int? = null
) {
    /** `append` (written at index `step` along [timeAxis]) or `replace`. */
    val update: String
        get() = if (timeAxis != null) "append" else "replace"

    /** A `state` tensor that a step appends to (a K/V cache). */
    val isAppend: Boolean
        get() = role == "state" && timeAxis != null

    companion object {
        fun fromDict(d: Map<String, Any?>): TensorInfo = TensorInfo(
            d["name"] as? String ?: throw ArtifactError("manifest.json: a tensor has no 'name'"),
            d["dtype"] as? String ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'dtype'"),
            (d["shape"] as? List<*> ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'shape'"))
                .map { asInt(it, "shape of ${pyRepr(d["name"])}") },
            d["role"] as? String ?: throw ArtifactError("manifest.json: tensor ${pyRepr(d["name"])} has no 'role'"),
            d["batch_axis"]?.let { asInt(it, "batch_axis of ${pyRepr(d["name"])}") },
            d["time_axis"]?.let { asInt(it, "time_axis of ${pyRepr(d["name"])}") }
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

    /** The `decode_step` variants, shortest cache first (`decode_step` last). */
    val decodeSignatures: List<String>
        get() = (data["decode_signatures"] as? List<*>)?.map { it as String } ?: listOf("decode_step")

    /** The `tokenizer` entry (its kind and file names; see [loadTokenizers]). */
    val tokenizer: Map<String, Any?>
        get() = obj(data["tokenizer"], "tokenizer")

    /**
     * Path of a file named in the manifest (`model_file`, a tokenizer's `*_vocabulary` or
     * `*_model`, ...).
     */
    fun path(key: String): String {
        val name = if (key.endsWith("vocabulary") || key.endsWith("_model")) tokenizer[key] else data[key]
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
    try {
        validateStructure(data)
    } catch (e: ArtifactError) {
        throw e
    } catch (e: RuntimeException) { // a value of the wrong JSON type somewhere
        throw ArtifactError("manifest.json is malformed (${e.javaClass.simpleName}: ${e.message})")
    }
}

private fun validateStructure(data: Map<String, Any?>) {
    for (key in listOf("format_version", "family", "signatures", "model_file")) {
        if (key !in data) throw ArtifactError("manifest.json has no ${pyRepr(key)}")
    }
    val version = data["format_version"] as? Long ?: throw ArtifactError("manifest.json: format_version must be an integer")
    if (version > FORMAT_VERSION) {
        throw ArtifactError("manifest format $version is newer than this runtime ($FORMAT_VERSION); upgrade it")
    }
    if (version < FORMAT_VERSION) {
        throw ArtifactError(
            "manifest format $version is from an older converter (this runtime reads $FORMAT_VERSION: " +
                "runtime-owned caches); reconvert the model with `zoo convert`"
        )
    }
    if (data["model_file"] !is String) throw ArtifactError("manifest.json: model_file must be a file name")
    val task = data["task"] ?: "translation"
    if (task != "translation") {
        // The Python runtime also decodes VAEs; this core only translates.
        throw ArtifactError(
            "manifest.json: a ${pyRepr(data["family"])} model for task ${pyRepr(task)}; " +
                "translation needs a 'translation' model"
        )
    }
    for (key in listOf("special_tokens", "tokenizer")) {
        if (key !in data) throw ArtifactError("manifest.json has no ${pyRepr(key)}")
    }
    val signatures = obj(data["signatures"], "signatures")
    for ((signature, roles) in SIGNATURE_ROLES) {
        if (signature !in signatures) throw ArtifactError("manifest.json describes no ${pyRepr(signature)} signature")
        val sides = obj(signatures[signature], "signatures.$signature")
        for ((side, allowed) in roles) {
            for (t in tensorObjects(sides, signature, side)) {
                TensorInfo.fromDict(t)
                if (t["role"] !in allowed) {
                    throw ArtifactError(
                        "manifest.json: $signature ${side.dropLast(1)} ${pyRepr(t["name"])} has role " +
                            "${pyRepr(t["role"])}; expected one of ${allowed.sorted().map { pyRepr(it) }}"
                    )
                }
            }
        }
    }
    tokenizerFiles(data["tokenizer"]) // a known kind naming plain file names
    val special = obj(data["special_tokens"], "special_tokens")
    for (key in listOf("pad", "unk", "start", "end")) {
        if (special[key] !is Long) throw ArtifactError("manifest.json: special_tokens.$key must be an integer")
    }
    for (key in listOf("max_target_length", "max_source_length")) {
        val value = data[key]
        if (value !is Long || value < 1 || value > MAX_LENGTH) {
            throw ArtifactError("manifest.json: $key must be an integer from 1 to $MAX_LENGTH")
        }
    }
    validateDecodeSignatures(data, signatures)
    val decodeInputs = tensorObjects(obj(signatures["decode_step"], "signatures.decode_step"), "decode_step", "inputs")
    val roles = decodeInputs.map { it["role"] }
    if (roles.count { it == "token" } != 1 || roles.count { it == "step" } != 1) {
        throw ArtifactError("manifest.json: decode_step needs exactly one 'token' and one 'step' input")
    }
    val encodeOutputs = tensorObjects(obj(signatures["encode"], "signatures.encode"), "encode", "outputs")
        .map { it["name"] }.toSet()
    val carried = decodeInputs.filter { it["role"] == "memory" || it["role"] == "state" }
    val missing = carried
        .filter { it["update"] != "append" && it["name"] !in encodeOutputs }
        .map { it["name"].toString() }
        .sorted()
    if (missing.isNotEmpty()) {
        throw ArtifactError("manifest.json: decode_step inputs ${missing.map { pyRepr(it) }} are not produced by encode")
    }
    val noAxis = carried.filter { it["batch_axis"] !is Long }.map { it["name"].toString() }.sorted()
    if (noAxis.isNotEmpty()) {
        throw ArtifactError(
            "manifest.json: decode_step inputs ${noAxis.map { pyRepr(it) }} have no 'batch_axis' (beam search needs it)"
        )
    }
}

/** The state update rules and the `decode_step` variants agree (`_validate_decode_signatures`). */
private fun validateDecodeSignatures(data: Map<String, Any?>, signatures: Map<String, Any?>) {
    val names = data["decode_signatures"] ?: listOf("decode_step")
    if (names !is List<*> || names.isEmpty() || names.last() != "decode_step") {
        throw ArtifactError("manifest.json: decode_signatures must be a list of signature names ending with 'decode_step'")
    }
    var reference: List<String>? = null
    for (name in names) {
        if (name !is String || name !in signatures) {
            throw ArtifactError("manifest.json: decode signature ${pyRepr(name)} is not described")
        }
        val inputs = tensorObjects(obj(signatures[name], "signatures.$name"), name, "inputs")
        for (t in inputs) {
            if (t["role"] != "state") continue
            val update = t["update"]
            if (update != "replace" && update != "append") {
                throw ArtifactError("manifest.json: $name state ${pyRepr(t["name"])} needs update 'replace' or 'append'")
            }
            if (update == "append") {
                val axis = t["time_axis"]
                val shape = t["shape"] as? List<*> ?: emptyList<Any?>()
                if (axis !is Long || axis < 0 || axis >= shape.size || axis == t["batch_axis"]) {
                    throw ArtifactError("manifest.json: $name state ${pyRepr(t["name"])} has no valid time_axis")
                }
                val length = shape[axis.toInt()]
                if (length !is Long || length < 1 || length > MAX_LENGTH) {
                    throw ArtifactError("manifest.json: $name cache ${pyRepr(t["name"])} length must be 1..$MAX_LENGTH")
                }
            }
        }
        // (name, role, update) of every input, sorted: the variants must agree on them.
        val described = inputs.map { listOf(it["name"], it["role"], it["update"]).joinToString("\u0000") }.sorted()
        if (reference != null && described != reference) {
            throw ArtifactError("manifest.json: $name does not have the same tensors as ${names[0]}")
        }
        reference = described
    }
}

/** The tensor objects of `signatures.SIGNATURE.SIDE` (none if the side is absent). */
private fun tensorObjects(sides: Map<String, Any?>, signature: String, side: String): List<Map<String, Any?>> {
    val tensors = sides[side] ?: return emptyList()
    if (tensors !is List<*>) throw ArtifactError("manifest.json: signatures.$signature.$side must be a list")
    return tensors.map { obj(it, "signatures.$signature.$side") }
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
