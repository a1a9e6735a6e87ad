package edgezoo.ondevice

/** The special tokens [MarianTokenizer.pieces] keeps whole (transformers' `MarianTokenizer`). */
val MARIAN_SPECIAL_PIECES: List<String> = listOf("</s>", "<unk>", "<pad>")

/** transformers' `clean_up_tokenization`: replacements applied in this order. */
private val CLEAN_UP: List<Pair<String, String>> = listOf(
    " ." to ".",
    " ?" to "?",
    " !" to "!",
    " ," to ",",
    " ' " to "'",
    " n't" to "n't",
    " 'm" to "'m",
    " 's" to "'s",
    " 've" to "'ve",
    " 're" to "'re"
)

private const val SPACE_SYMBOL = "\u2581"

/**
 * Text <-> ids with a SentencePiece model and a separate piece vocabulary: the tokenizer of the
 * `sentencepiece` tokenizer kind (imported Marian / OPUS-MT models), the Kotlin twin of the
 * Python runtime's `ondevice.sentencepiece_tokenizer.SentencePieceTokenizer`. It is named after
 * transformers' `MarianTokenizer`, whose rules (transformers 5) it follows, because the Kotlin
 * name [SentencePieceTokenizer] is the raw SentencePiece model it uses to cut text into pieces.
 *
 * The model's ids are not its SentencePiece ids: [vocabulary] (one piece per line of
 * `vocabulary.txt`, line number = id) gives the pieces' ids.
 *
 * - [tokenize]: the text is split around the special tokens it contains ([MARIAN_SPECIAL_PIECES],
 *   kept whole); in each other segment a leading language code `>>xx<<` (up to the first `<<`)
 *   is a token of its own and the rest is cut into pieces by [model] (`encodeAsPieces`). Pieces
 *   missing from the vocabulary become [unkToken]. With [addEnd], [endId] is appended.
 * - [detokenize]: [specialIds] are skipped, the pieces are joined by [model] (`decodePieces`),
 *   `▁` becomes a space and the ends are stripped (Python's `str.strip`); with [cleanUpSpaces],
 *   transformers' `clean_up_tokenization` follows (" ." -> ".", " n't" -> "n't", ...).
 *
 * @param model the SentencePiece model of this side (`source.spm` or `target.spm`).
 * @param vocabulary the pieces; a piece's id is its index. Unique, containing [unkToken].
 * @param specialIds ids never written by [detokenize] (padding, unknown, start, end).
 * @param unkToken the piece whose id unknown pieces get.
 * @param endId appended by [tokenize] when [addEnd].
 * @param addEnd end every tokenized text with [endId] (Marian's sources end with `</s>`).
 * @param cleanUpSpaces apply transformers' clean-up when detokenizing.
 * @throws IllegalArgumentException a duplicate piece, no [unkToken], or [addEnd] without
 *     [endId] (the Python `ValueError`s; [loadTokenizers] makes them [ArtifactError]s).
 */
class MarianTokenizer(
    val model: SentencePieceTokenizer,
    vocabulary: List<String>,
    specialIds: Collection<Int> = emptyList(),
    val unkToken: String = "<unk>",
    val endId: Int? = null,
    val addEnd: Boolean = false,
    val cleanUpSpaces: Boolean = false
) : TextTokenizer {
    val vocabulary: List<String> = ArrayList(vocabulary)
    private val pieceToId = HashMap<String, Int>()
    private val skipIds: Set<Int> = HashSet(specialIds)

    /** The id of [unkToken]. */
    val unkId: Int

    init {
        for ((i, piece) in this.vocabulary.withIndex()) {
            if (piece in pieceToId) throw IllegalArgumentException("duplicate piece ${pyRepr(piece)} in the vocabulary")
            pieceToId[piece] = i
        }
        unkId = pieceToId[unkToken] ?: throw IllegalArgumentException("the vocabulary has no ${pyRepr(unkToken)}")
        if (addEnd && endId == null) throw IllegalArgumentException("add_end needs end_id")
    }

    override val vocabularySize: Int
        get() = vocabulary.size

    /** The piece of id [i]; [IllegalArgumentException] if out of range. */
    fun idToToken(i: Int): String {
        if (i < 0 || i >= vocabulary.size) {
            throw IllegalArgumentException("`id` must be in range [0, ${vocabulary.size - 1}]. Received: $i")
        }
        return vocabulary[i]
    }

    /** The id of [piece], [unkId] if the vocabulary does not have it. */
    fun tokenToId(piece: String): Int = pieceToId[piece] ?: unkId

    /**
     * The pieces of [text] (special tokens and language codes included). [InputError] for text
     * with a lone UTF-16 surrogate (not Unicode; the Python library raises too).
     */
    fun pieces(text: String): List<String> {
        val out = ArrayList<String>()
        var pos = 0
        while (true) {
            // The next special token (re.split with "</s>|<unk>|<pad>": at most one matches at a position).
            var at = -1
            var special = ""
            for (piece in MARIAN_SPECIAL_PIECES) {
                val i = text.indexOf(piece, pos)
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i
                    special = piece
                }
            }
            val end = if (at < 0) text.length else at
            if (end > pos) segmentPieces(text.substring(pos, end), out)
            if (at < 0) return out
            out.add(special)
            pos = at + special.length
        }
    }

    /** A segment without special tokens: an optional leading `>>xx<<`, then SentencePiece pieces. */
    private fun segmentPieces(segment: String, out: MutableList<String>) {
        var rest = segment
        if (segment.startsWith(">>")) {
            val end = segment.indexOf("<<")
            if (end != -1) {
                out.add(segment.substring(0, end + 2))
                rest = segment.substring(end + 2)
            }
        }
        out.addAll(model.encodeAsPieces(rest))
    }

    /** Ids of [text] (ending with [endId] when [addEnd]). */
    override fun tokenize(text: String): List<Int> {
        val ids = ArrayList<Int>()
        for (piece in pieces(text)) ids.add(tokenToId(piece))
        if (addEnd) ids.add(endId!!)
        return ids
    }

    /** Text of [ids], [specialIds] skipped; [IllegalArgumentException] for an id out of range. */
    override fun detokenize(ids: List<Int>): String {
        val pieces = ArrayList<String>()
        for (i in ids) if (i !in skipIds) pieces.add(idToToken(i))
        var text = pythonStrip(model.decodePieces(pieces).replace(SPACE_SYMBOL, " "))
        if (cleanUpSpaces) for ((old, new) in CLEAN_UP) text = text.replace(old, new)
        return text
    }

    companion object {
        /**
         * The pieces of a vocabulary file as Python's `read_pieces` reads it: UTF-8, one piece
         * per line, only the `\n` line break removed (a `\r` stays part of the piece).
         */
        fun readPieces(text: String): List<String> {
            val pieces = ArrayList<String>()
            var start = 0
            while (start < text.length) {
                val end = text.indexOf('\n', start)
                if (end < 0) {
                    pieces.add(text.substring(start))
                    break
                }
                pieces.add(text.substring(start, end))
                start = end + 1
            }
            return pieces
        }

        /** [readPieces] of the bytes of a vocabulary file; [where] names it in errors. */
        fun readPieces(bytes: ByteArray, where: String): List<String> {
            val text = try {
                decodeUtf8(bytes)
            } catch (e: java.nio.charset.CharacterCodingException) {
                throw ArtifactError("$where: vocabulary is not UTF-8")
            }
            return readPieces(text)
        }
    }
}
