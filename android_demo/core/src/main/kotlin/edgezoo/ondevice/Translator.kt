package edgezoo.ondevice

/** Stack id lists into a (batch, longest) block padded with [padId]. */
fun padBatch(sequences: List<List<Int>>, padId: Int = 0): Array<IntArray> {
    val length = sequences.fold(0) { longest, s -> maxOf(longest, s.size) }
    return Array(sequences.size) { i ->
        IntArray(length) { j -> if (j < sequences[i].size) sequences[i][j] else padId }
    }
}

/**
 * Translate text with an encoder-decoder step model (mirrors `ondevice.translator.Translator`).
 *
 * @param model makes the decoding states, e.g. the app's LiteRT model.
 * @param sourceTokenizer tokenizer of the source language ([loadTokenizers] makes both from a
 *     manifest: [WordPieceTokenizer] or [MarianTokenizer]).
 * @param targetTokenizer tokenizer of the target language.
 * @param specialTokens `pad`, `start`, `end` ids.
 * @param maxSourceLength longest accepted source (tokens).
 * @param maxTargetLength most decode steps.
 * @param batchSize sentences decoded together.
 */
class Translator(
    val model: Decoder,
    val sourceTokenizer: TextTokenizer,
    val targetTokenizer: TextTokenizer,
    specialTokens: Map<String, Int?>,
    val maxSourceLength: Int,
    val maxTargetLength: Int,
    val batchSize: Int = 32
) {
    val special: Map<String, Int?> = LinkedHashMap(specialTokens)
    private val padId = special["pad"] ?: throw ArtifactError("manifest.json: special_tokens has no 'pad'")
    private val startId = special["start"] ?: throw ArtifactError("manifest.json: special_tokens has no 'start'")
    private val endId = special["end"]

    /**
     * Source token ids of one sentence. [InputError] if the text is empty or, unless
     * [truncate], has more tokens than the model accepts.
     */
    fun encodeText(text: String, truncate: Boolean = false): List<Int> {
        if (pythonIsBlank(text)) throw InputError("empty input: nothing to translate")
        val ids = sourceTokenizer.tokenize(text)
        if (ids.isEmpty()) {
            val head = StringBuilder()
            var i = 0
            var n = 0
            while (i < text.length && n < 40) {
                val cp = text.codePointAt(i)
                head.appendCodePoint(cp)
                i += Character.charCount(cp)
                n++
            }
            throw InputError("input has no translatable characters: ${pyRepr(head.toString())}")
        }
        if (ids.size > maxSourceLength) {
            if (truncate) return ids.subList(0, maxSourceLength)
            throw InputError(
                "input is ${ids.size} tokens long; this model accepts at most $maxSourceLength " +
                    "(split it into sentences)"
            )
        }
        return ids
    }

    /** Most decode steps for a request of [maxSteps] (null or 0: the model's maximum). */
    private fun steps(maxSteps: Int?): Int =
        minOf(if (maxSteps == null || maxSteps == 0) maxTargetLength else maxSteps, maxTargetLength)

    /** Target token ids for already-tokenized sources (batched by length, order kept). */
    fun translateIds(
        idLists: List<List<Int>>,
        beamSize: Int = 1,
        maxSteps: Int? = null,
        lengthPenalty: Double = 1.0,
        beamStop: BeamStop = BeamStop.EARLY
    ): List<List<Int>> {
        val steps = steps(maxSteps)
        val order = idLists.indices.sortedBy { idLists[it].size }
        val results = arrayOfNulls<List<Int>>(idLists.size)
        var start = 0
        while (start < order.size) {
            val chunk = order.subList(start, minOf(start + batchSize, order.size))
            val source = padBatch(chunk.map { idLists[it] }, padId)
            val outputs = if (beamSize <= 1) {
                greedySearch(model, source, startId, endId, steps, padId)
            } else {
                beamSearch(model, source, startId, endId, steps, beamSize, lengthPenalty, beamStop, padId)
            }
            for ((i, ids) in chunk.zip(outputs)) results[i] = ids
            start += batchSize
        }
        return results.map { it!! }
    }

    /** Translate [sentences]; returns one string per sentence. */
    fun translate(
        sentences: List<String>,
        beamSize: Int = 1,
        maxSteps: Int? = null,
        lengthPenalty: Double = 1.0,
        truncate: Boolean = false,
        beamStop: BeamStop = BeamStop.EARLY
    ): List<String> {
        val ids = sentences.map { encodeText(it, truncate) }
        val outputs = translateIds(ids, beamSize, maxSteps, lengthPenalty, beamStop)
        return outputs.map { targetTokenizer.detokenize(it) }
    }

    /**
     * Translate one sentence greedily, reporting the translation as it grows (Python's
     * `translate_stream`).
     *
     * [onPartial] gets the detokenized text of all tokens so far after every step that adds a
     * token (a new token can change how earlier pieces join, e.g. a `##` suffix); it is not
     * called for an empty translation. Returns the full translation, equal to
     * `translate(listOf(text))[0]` (and to the last text [onPartial] got).
     */
    fun translateStream(
        text: String,
        maxSteps: Int? = null,
        truncate: Boolean = false,
        onPartial: (String) -> Unit
    ): String {
        val source = padBatch(listOf(encodeText(text, truncate)), padId)
        val tokens = ArrayList<Int>()
        generateTokens(model, source, startId, endId, steps(maxSteps), ::argmaxTokens, padId) { _, new ->
            if (new.isNotEmpty()) { // nothing new on the step that ends the sentence
                for (t in new) tokens.add(t)
                onPartial(targetTokenizer.detokenize(tokens))
            }
        }
        return targetTokenizer.detokenize(tokens)
    }

    companion object {
        /**
         * A [Translator] for [manifest]'s model run by [model], with the tokenizers of the
         * manifest's `tokenizer` entry (the parts of Python's `Translator.from_artifact`).
         *
         * @param readFile the bytes of an artifact file given its path ([Manifest.path]); the
         *     app reads its assets, the default the file system.
         * @throws ArtifactError an unknown tokenizer kind, a missing or unusable file.
         */
        fun fromManifest(
            manifest: Manifest,
            model: Decoder,
            batchSize: Int = 32,
            readFile: (String) -> ByteArray = ::readArtifactFile
        ): Translator {
            val (source, target) = loadTokenizers(manifest.tokenizer, manifest.directory, manifest.specialTokens, readFile)
            return fromManifest(manifest, model, source, target, batchSize)
        }

        /** A [Translator] for [manifest]'s model run by [model], with the given tokenizers. */
        fun fromManifest(
            manifest: Manifest,
            model: Decoder,
            sourceTokenizer: TextTokenizer,
            targetTokenizer: TextTokenizer,
            batchSize: Int = 32
        ): Translator = Translator(
            model,
            sourceTokenizer,
            targetTokenizer,
            manifest.specialTokens,
            manifest.maxSourceLength,
            manifest.maxTargetLength,
            batchSize
        )
    }
}
