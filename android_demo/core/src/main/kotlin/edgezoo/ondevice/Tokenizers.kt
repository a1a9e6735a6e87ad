package edgezoo.ondevice

import java.io.File
import java.io.IOException

/*
 * A manifest's `tokenizer` entry -> source and target tokenizers (mirrors
 * `ondevice/tokenizers.py`). Two kinds:
 *
 * - `wordpiece`: `source_vocabulary`, `target_vocabulary` (the same file when shared), the zoo's
 *   own models ([WordPieceTokenizer]).
 * - `sentencepiece`: `source_model`, `target_model` (`.spm` files) and `source_vocabulary`,
 *   `target_vocabulary` (a piece per line); `source_end` (the source ends with the end token)
 *   and `clean_up_spaces` (transformers' detokenization clean-up). Imported Marian / OPUS-MT
 *   models ([MarianTokenizer]).
 *
 * [loadTokenizers] is the only place that looks at the kind: the [Translator] sees
 * [TextTokenizer]s.
 */

/** What the [Translator] needs of a tokenizer: text to ids and back. */
interface TextTokenizer {
    /** The number of ids (a model's logits have this many columns). */
    val vocabularySize: Int

    /** The ids of [text]. */
    fun tokenize(text: String): List<Int>

    /** The text of [ids], special ids skipped; [IllegalArgumentException] for an unknown id. */
    fun detokenize(ids: List<Int>): String
}

/** The tokenizer kinds this runtime reads. */
val TOKENIZER_KINDS: List<String> = listOf("wordpiece", "sentencepiece")

/** The file-name keys of each kind. */
val TOKENIZER_FILE_KEYS: Map<String, List<String>> = linkedMapOf(
    "wordpiece" to listOf("source_vocabulary", "target_vocabulary"),
    "sentencepiece" to listOf("source_vocabulary", "target_vocabulary", "source_model", "target_model")
)

/**
 * The file names a tokenizer description refers to, by key (Python's `tokenizer_files`).
 *
 * @throws ArtifactError for an unknown kind (or a [spec] that is not a JSON object), or a name
 *     that is not a plain file name in the model directory (empty, `.`, `..`, with a `/`).
 */
fun tokenizerFiles(spec: Any?): Map<String, String> {
    val kind = (spec as? Map<*, *>)?.get("kind")
    if (kind !is String || kind !in TOKENIZER_KINDS) {
        val known = TOKENIZER_KINDS.joinToString(", ")
        throw ArtifactError("unknown tokenizer kind ${pyRepr(kind)}; this runtime knows $known")
    }
    val files = LinkedHashMap<String, String>()
    for (key in TOKENIZER_FILE_KEYS.getValue(kind)) {
        val name = (spec as Map<*, *>)[key]
        // os.path.basename(name) != name: a POSIX path with a directory part.
        if (name !is String || name.isEmpty() || name.substringAfterLast('/') != name || name == "." || name == "..") {
            throw ArtifactError("tokenizer.$key must be a file name in the model directory, not ${pyRepr(name)}")
        }
        files[key] = name
    }
    return files
}

/** Reads a file of the file system (the default of [loadTokenizers]). */
fun readArtifactFile(path: String): ByteArray = File(path).readBytes()

/**
 * `(source, target)` tokenizers for a tokenizer description (Python's `load_tokenizers`).
 *
 * @param spec the manifest's `tokenizer` entry.
 * @param directory where its files are (see [Manifest.directory]); joined to each file name as
 *     [Manifest.path] does.
 * @param specialTokens `pad`, `unk`, `start`, `end` ids (a `sentencepiece` tokenizer skips them
 *     when detokenizing and ends sources with `end`).
 * @param readFile the bytes of a file, given its path (the app reads its assets).
 * @throws ArtifactError unknown kind, a bad file name, or a missing or unusable file.
 */
fun loadTokenizers(
    spec: Any?,
    directory: String,
    specialTokens: Map<String, Int?>,
    readFile: (String) -> ByteArray = ::readArtifactFile
): Pair<TextTokenizer, TextTokenizer> {
    val files = tokenizerFiles(spec).mapValues { (_, name) ->
        if (directory.isEmpty()) name else File(directory, name).path
    }
    val description = spec as Map<*, *>
    val wordPiece = description["kind"] == "wordpiece"
    val skip = if (wordPiece) emptyList() else listOf("pad", "unk", "start", "end").map {
        specialTokens[it] ?: throw ArtifactError("manifest.json: special_tokens has no '$it'")
    }

    fun make(side: String): TextTokenizer {
        val vocabularyPath = files.getValue("${side}_vocabulary")
        if (wordPiece) return WordPieceTokenizer.fromBytes(readFile(vocabularyPath), vocabularyPath)
        val modelPath = files.getValue("${side}_model")
        return MarianTokenizer(
            SentencePieceTokenizer.fromBytes(readFile(modelPath), modelPath),
            MarianTokenizer.readPieces(readFile(vocabularyPath), vocabularyPath),
            specialIds = skip,
            endId = skip[3],
            addEnd = side == "source" && pythonTruth(description["source_end"]),
            cleanUpSpaces = pythonTruth(description["clean_up_spaces"])
        )
    }

    try {
        val source = make("source")
        val same = wordPiece && files["source_vocabulary"] == files["target_vocabulary"]
        return Pair(source, if (same) source else make("target"))
    } catch (e: ArtifactError) { // missing (the app's reader), not UTF-8, corrupt model
        throw ArtifactError("$directory: tokenizer files not usable (${e.message})")
    } catch (e: IOException) { // missing or unreadable
        throw ArtifactError("$directory: tokenizer files not usable (${e.message})")
    } catch (e: IllegalArgumentException) { // duplicate tokens, no unknown token
        throw ArtifactError("$directory: tokenizer files not usable (${e.message})")
    }
}

/** Python's `bool(value)` for a JSON value. */
private fun pythonTruth(value: Any?): Boolean = when (value) {
    null -> false
    is Boolean -> value
    is Long -> value != 0L
    is Int -> value != 0
    is Double -> value != 0.0
    is String -> value.isNotEmpty()
    is Collection<*> -> value.isNotEmpty()
    is Map<*, *> -> value.isNotEmpty()
    else -> true
}
