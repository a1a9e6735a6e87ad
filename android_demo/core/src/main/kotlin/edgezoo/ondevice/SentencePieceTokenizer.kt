package edgezoo.ondevice

import java.io.File

/*
 * A unigram SentencePiece tokenizer in pure Kotlin (OPUS-MT / Marian `source.spm`,
 * `target.spm`), giving the ids, pieces and decoded text of the Python `sentencepiece` library
 * 0.2.x, written against the C++ sources of 0.2.3 (whose unigram scoring differs from 0.2.0's).
 * Each step follows the C++ code it names:
 *
 * 1. Normalize (`normalizer.cc`, `Normalizer::Normalize`): see [SentencePieceNormalizer].
 * 2. Segment (`unigram_model.cc`, `Model::EncodeOptimized`): a Viterbi over UTF-8 byte
 *    positions. Every vocabulary piece starting at a character boundary is a candidate (UNUSED
 *    pieces excepted), scoring its score, or `0.1 * (length_in_bytes - 1)` for a user-defined
 *    symbol; a character that no single-character piece covers gets an unknown node scoring
 *    `min_score - 10` (min_score: the lowest NORMAL score). Path scores are float sums, the first
 *    of equal paths wins, and once a path score passes ±100000 the stored scores are shifted
 *    back to 0 as the C++ code does (kScoreResetThreshold).
 * 3. Emit (`sentencepiece_processor.cc`, `SentencePieceProcessor::EncodeOptimized`): with
 *    `byte_fallback` an unknown piece becomes its UTF-8 bytes' `<0xXX>` pieces; otherwise
 *    consecutive unknown pieces merge into one (its text the normalized characters, its id the
 *    unknown id).
 *
 * Decoding follows `SentencePieceProcessor::DecodeOptimized`: pieces map to ids by `PieceToId`
 * (unknown pieces to the unknown id), ids to pieces by index; control pieces vanish; the unknown
 * piece itself becomes `unk_surface` (default " ⁇ ") while another unknown piece is copied
 * verbatim; runs of byte pieces are decoded as UTF-8 (each malformed byte -> U+FFFD); `▁`
 * becomes a space; while nothing has been output, one leading `▁` of a piece is dropped when the
 * model adds a dummy prefix or removes extra whitespace; the `denormalizer_spec` charsmap, if
 * any, is applied last.
 *
 * Not supported (an [ArtifactError] at load, never a silent difference): model types other than
 * UNIGRAM, and pieces or string fields that are not UTF-8 (the Python library cannot return
 * them as `str` either). Not implemented: sampling and n-best encoding, `encode` options
 * (`add_bos`, `add_eos`, `reverse`, `emit_unk_piece`, extra options), and the offsets of pieces
 * in the original text. Text with a lone UTF-16 surrogate is not Unicode and cannot be encoded
 * as UTF-8: an [InputError] (the Python library raises too). Bytes that are not UTF-8 can be
 * given to the `ByteArray` overloads, which treat them as the library treats Python `bytes`.
 */

/**
 * A SentencePiece unigram model: `encode*` as `SentencePieceProcessor.encode`, `decode*` as
 * `decode_pieces` / `decode_ids`, ids being the model's own piece indices.
 *
 * @param model the parsed model file; [where] names it in errors.
 * @throws ArtifactError if the model is not UNIGRAM or is inconsistent (the checks of
 *     `SentencePieceProcessor::Load`, `ModelInterface::InitializePieces`, `unigram::Model` and
 *     the normalizer's charsmap validation).
 */
class SentencePieceTokenizer(model: SentencePieceModelProto, where: String = "SentencePiece model") {
    private val pieceStrings: Array<String>
    private val scores: FloatArray
    private val types: IntArray
    private val pieceIds = HashMap<String, Int>() // NORMAL, USER_DEFINED, UNUSED
    private val reservedIds = HashMap<String, Int>() // UNKNOWN, CONTROL, BYTE
    private val modelUnkId: Int // the UNKNOWN piece; -1 if none (allowed with byte_fallback)
    private val byteIds: IntArray? // id of each byte's piece, with byte_fallback
    private val minScore: Float
    private val trie: SortedKeyTrie
    private val normalizer: SentencePieceNormalizer
    private val denormalizer: SentencePieceNormalizer?
    private val unkSurface: String
    private val stripFirstSpace: Boolean // add_dummy_prefix || remove_extra_whitespaces
    private val removeExtraWhitespaces: Boolean

    init {
        val trainer = model.trainerSpec
        if (trainer.modelType != SentencePieceModelType.UNIGRAM) {
            throw ArtifactError(
                "$where: model_type ${SentencePieceModelType.name(trainer.modelType)} is not supported " +
                    "(only UNIGRAM SentencePiece models)"
            )
        }
        val count = model.pieces.size
        pieceStrings = Array(count) { i ->
            try {
                decodeUtf8(model.pieces[i].piece)
            } catch (e: java.nio.charset.CharacterCodingException) {
                throw ArtifactError("$where: piece $i is not UTF-8")
            }
        }
        scores = FloatArray(count) { model.pieces[it].score }
        // Load(): with byte_fallback, a "\0" piece is made UNUSED.
        types = IntArray(count) {
            if (trainer.byteFallback && pieceStrings[it] == NULL_PIECE) PieceType.UNUSED else model.pieces[it].type
        }
        for (i in 0 until count) {
            if (model.pieces[i].piece.size >= MAX_PIECE_BYTES) throw ArtifactError("$where: piece is too long.")
        }
        val userDefined = ArrayList<ByteArray>()
        val byteFound = IntArray(256) { -1 }
        var unk = -1
        for (i in 0 until count) {
            val piece = pieceStrings[i]
            val type = types[i]
            if (piece.isEmpty()) throw ArtifactError("$where: piece must not be empty.")
            if (piece == NULL_PIECE && type == PieceType.UNUSED) continue
            if ('\u0000' in piece) throw ArtifactError("$where: piece must not include null character.")
            val normal = type == PieceType.NORMAL || type == PieceType.USER_DEFINED || type == PieceType.UNUSED
            val map = if (normal) pieceIds else reservedIds
            if (piece in map) throw ArtifactError("$where: $piece is already defined.")
            map[piece] = i
            if (type == PieceType.USER_DEFINED) userDefined.add(model.pieces[i].piece)
            if (type == PieceType.UNKNOWN) {
                if (unk >= 0) throw ArtifactError("$where: unk is already defined.")
                unk = i
            }
            if (type == PieceType.BYTE) {
                if (!trainer.byteFallback) {
                    throw ArtifactError("$where: byte piece $piece is found although `byte_fallback` is false.")
                }
                val byte = pieceToByte(piece)
                if (byte < 0) throw ArtifactError("$where: byte piece $piece is invalid.")
                byteFound[byte] = i
            }
        }
        if (unk < 0 && !trainer.byteFallback) throw ArtifactError("$where: unk is not defined.")
        modelUnkId = unk
        if (trainer.byteFallback && byteFound.any { it < 0 }) {
            throw ArtifactError("$where: there are not 256 byte pieces although `byte_fallback` is true.")
        }
        byteIds = if (trainer.byteFallback) byteFound else null
        if (scores.any { it.isNaN() || it.isInfinite() }) throw ArtifactError("$where: score is NaN or Inf.")
        if (pieceIds.isEmpty()) throw ArtifactError("$where: no pieces are loaded.")

        var low = Float.MAX_VALUE // FLT_MAX when there is no NORMAL piece, as in C++
        for (i in 0 until count) if (types[i] == PieceType.NORMAL) low = minOf(low, scores[i])
        minScore = low

        // The pieces the Viterbi can use: PieceToId's map without the UNUSED pieces.
        val keys = ArrayList<ByteArray>()
        val values = ArrayList<Int>()
        for ((piece, id) in pieceIds) {
            if (types[id] != PieceType.UNUSED) {
                keys.add(model.pieces[id].piece)
                values.add(id)
            }
        }
        trie = SortedKeyTrie(keys, values.toIntArray())
        val matcher = SortedKeyTrie(userDefined, IntArray(userDefined.size))
        normalizer = SentencePieceNormalizer(model.normalizerSpec, trainer.treatWhitespaceAsSuffix, matcher, where)
        val denormalizerSpec = model.denormalizerSpec
        denormalizer = if (denormalizerSpec != null && denormalizerSpec.precompiledCharsmap.isNotEmpty()) {
            SentencePieceNormalizer(denormalizerSpec, false, null, "$where (denormalizer)")
        } else {
            null
        }
        val surface = trainer.unkSurface
        unkSurface = if (surface == null) DEFAULT_UNK_SURFACE else try {
            decodeUtf8(surface)
        } catch (e: java.nio.charset.CharacterCodingException) {
            throw ArtifactError("$where: unk_surface is not UTF-8")
        }
        removeExtraWhitespaces = model.normalizerSpec.removeExtraWhitespaces
        stripFirstSpace = model.normalizerSpec.addDummyPrefix || removeExtraWhitespaces
    }

    /** The number of pieces (ids are 0 until this). */
    val vocabularySize: Int
        get() = pieceStrings.size

    /** `unk_id()`: the id of the `unk_piece` (`<unk>`) if it is the UNKNOWN piece, else -1. */
    val unkId: Int = specialId(model.trainerSpec.unkPiece, "<unk>", PieceType.UNKNOWN)

    /** `bos_id()`: the id of the CONTROL piece `bos_piece` (`<s>`), or -1. */
    val bosId: Int = specialId(model.trainerSpec.bosPiece, "<s>", PieceType.CONTROL)

    /** `eos_id()`: the id of the CONTROL piece `eos_piece` (`</s>`), or -1. */
    val eosId: Int = specialId(model.trainerSpec.eosPiece, "</s>", PieceType.CONTROL)

    /** `pad_id()`: the id of the CONTROL piece `pad_piece` (`<pad>`), or -1. */
    val padId: Int = specialId(model.trainerSpec.padPiece, "<pad>", PieceType.CONTROL)

    private fun specialId(piece: String, default: String, type: Int): Int {
        val id = pieceToId(if (piece.isEmpty()) default else piece)
        return if (id >= 0 && types[id] == type) id else -1
    }

    /**
     * The id of [piece] (`piece_to_id`): the unknown piece's id if the model does not have it,
     * -1 if the model has no unknown piece either (possible with `byte_fallback`).
     */
    fun pieceToId(piece: String): Int = reservedIds[piece] ?: pieceIds[piece] ?: modelUnkId

    /** The piece of [id]; [IllegalArgumentException] if out of range. */
    fun idToPiece(id: Int): String {
        if (id < 0 || id >= pieceStrings.size) {
            throw IllegalArgumentException("piece id is out of range: $id (vocabulary size ${pieceStrings.size})")
        }
        return pieceStrings[id]
    }

    /** The [PieceType] of [id] (NORMAL, UNKNOWN, CONTROL, ...). */
    fun pieceType(id: Int): Int {
        idToPiece(id)
        return types[id]
    }

    private fun isType(id: Int, type: Int) = id >= 0 && id < types.size && types[id] == type

    /** `IsUnknownId`: the processor's unknown id (-1 included) or an UNKNOWN piece. */
    private fun isUnknown(id: Int) = id == unkId || isType(id, PieceType.UNKNOWN)

    /** `normalize(text)`: the text the pieces are cut from (spaces escaped as `▁`). */
    fun normalize(text: String): String = String(normalizer.normalize(utf8Of(text)), Charsets.UTF_8)

    /** The pieces of [text] (`encode(text, out_type=str)`). */
    fun encodeAsPieces(text: String): List<String> = encode(utf8Of(text)).first

    /** The ids of [text] (`encode(text)`). */
    fun encodeAsIds(text: String): IntArray = encode(utf8Of(text)).second

    /** The pieces of UTF-8 [utf8], malformed bytes included (`encode(bytes, out_type=str)`). */
    fun encodeAsPieces(utf8: ByteArray): List<String> = encode(utf8).first

    /** The ids of UTF-8 [utf8], malformed bytes included (`encode(bytes)`). */
    fun encodeAsIds(utf8: ByteArray): IntArray = encode(utf8).second

    /** The text of [pieces] (`decode_pieces`); pieces not in the model are allowed. */
    fun decodePieces(pieces: List<String>): String = decode(pieces, IntArray(pieces.size) { pieceToId(pieces[it]) })

    /** The text of [ids] (`decode_ids`); [IllegalArgumentException] for an id out of range. */
    fun decodeIds(ids: IntArray): String = decode(ids.map { idToPiece(it) }, ids)

    /** The text of [ids] (`decode_ids`); [IllegalArgumentException] for an id out of range. */
    fun decodeIds(ids: List<Int>): String = decodeIds(ids.toIntArray())

    /** `DecodeOptimized` of pieces with their ids. */
    private fun decode(pieces: List<String>, ids: IntArray): String {
        val text = ByteBuilder()
        val byteQueue = ByteBuilder()
        var isBosWs = true // whether a leading `▁` may still be dropped
        for (i in pieces.indices) {
            val id = ids[i]
            val piece = pieces[i]
            if (isType(id, PieceType.BYTE)) {
                byteQueue.append(pieceToByte(piece).toByte())
                continue
            }
            appendBytes(byteQueue, text)
            if (text.size > 0) isBosWs = false
            if (isType(id, PieceType.CONTROL)) continue
            var body = piece
            var hasBosWs = false
            if (isBosWs && stripFirstSpace && body.startsWith(SPACE_SYMBOL)) {
                body = body.substring(SPACE_SYMBOL.length)
                hasBosWs = !removeExtraWhitespaces // then every leading `▁` piece is dropped
            }
            val out = when {
                !isUnknown(id) -> body.replace(SPACE_SYMBOL, " ")
                id >= 0 && pieceStrings[id] == piece -> unkSurface
                else -> piece
            }
            text.append(out.toByteArray(Charsets.UTF_8))
            if (hasBosWs || text.size > 0) isBosWs = false
        }
        appendBytes(byteQueue, text)
        val bytes = text.toByteArray()
        return String(denormalizer?.normalize(bytes) ?: bytes, Charsets.UTF_8)
    }

    /** `ProcessByteQueue`: the queued bytes as UTF-8 into [text], U+FFFD per malformed byte. */
    private fun appendBytes(queue: ByteBuilder, text: ByteBuilder) {
        var offset = 0
        while (offset < queue.size) {
            val length = validUtf8CharLength(queue.data, offset, queue.size)
            if (length < 0) {
                text.append(REPLACEMENT_CHARACTER_UTF8)
                offset += 1
            } else {
                text.append(queue.data, offset, offset + length)
                offset += length
            }
        }
        queue.size = 0
    }

    /** Normalize, segment and emit: (pieces, ids). */
    private fun encode(input: ByteArray): Pair<List<String>, IntArray> {
        val normalized = normalizer.normalize(input)
        val pieces = ArrayList<String>()
        val ids = ArrayList<Int>()
        var isPrevUnknown = false
        var mergedStart = 0 // start of the last piece, when it is a mergeable unknown piece
        for (segment in viterbi(normalized)) {
            val start = segment[0]
            val end = segment[1]
            val id = segment[2]
            if (isType(id, PieceType.CONTROL)) { // unreachable: CONTROL pieces are not in the trie
                pieces.add(String(normalized, start, end - start, Charsets.UTF_8))
                ids.add(id)
                isPrevUnknown = false
                continue
            }
            val unknown = isUnknown(id)
            if (unknown && byteIds != null) {
                for (i in start until end) {
                    val b = normalized[i].toInt() and 0xFF
                    pieces.add(BYTE_PIECES[b])
                    ids.add(byteIds[b])
                }
            } else if (unknown && isPrevUnknown) {
                pieces[pieces.size - 1] = String(normalized, mergedStart, end - mergedStart, Charsets.UTF_8)
            } else {
                pieces.add(String(normalized, start, end - start, Charsets.UTF_8))
                ids.add(id)
                mergedStart = start
            }
            isPrevUnknown = unknown
        }
        return Pair(pieces, ids.toIntArray())
    }

    /** `Model::EncodeOptimized`: the best segmentation of [text] as (start, end, id) byte ranges. */
    private fun viterbi(text: ByteArray): List<IntArray> {
        val size = text.size
        if (size == 0) return emptyList()
        val bestScore = FloatArray(size + 1)
        val startsAt = IntArray(size + 1) { -1 }
        val bestId = IntArray(size + 1) { -1 }
        val unkScore: Float = minScore - UNK_PENALTY
        var maxFrontier = 0
        var start = 0
        while (start < size) {
            var tillHere = bestScore[start]
            if (tillHere < -SCORE_RESET_THRESHOLD || tillHere > SCORE_RESET_THRESHOLD) {
                val offset = tillHere
                for (i in start..maxFrontier) {
                    if (i == start || startsAt[i] != -1) bestScore[i] -= offset
                }
                tillHere = 0f
            }
            val charLength = minOf(oneCharLen(text[start]), size - start)
            var hasSingleNode = false
            trie.forEachPrefix(text, start, size) { stop, id ->
                maxFrontier = maxOf(maxFrontier, stop)
                val length = stop - start
                val score: Float = if (types[id] == PieceType.USER_DEFINED) {
                    (0.1 * (length - 1)).toFloat() // GetUserDefinedScore: double, returned as float
                } else {
                    scores[id]
                }
                val candidate: Float = score + tillHere
                if (startsAt[stop] == -1 || candidate > bestScore[stop]) {
                    bestScore[stop] = candidate
                    startsAt[stop] = start
                    bestId[stop] = id
                }
                if (length == charLength) hasSingleNode = true
            }
            if (!hasSingleNode) {
                val stop = start + charLength
                maxFrontier = maxOf(maxFrontier, stop)
                val candidate: Float = unkScore + tillHere
                if (startsAt[stop] == -1 || candidate > bestScore[stop]) {
                    bestScore[stop] = candidate
                    startsAt[stop] = start
                    bestId[stop] = modelUnkId
                }
            }
            start += charLength
        }
        val segments = ArrayList<IntArray>()
        var end = size
        while (end > 0) {
            segments.add(intArrayOf(startsAt[end], end, bestId[end]))
            end = startsAt[end]
        }
        segments.reverse()
        return segments
    }

    companion object {
        private const val UNK_PENALTY = 10.0f
        private const val SCORE_RESET_THRESHOLD = 100000.0f
        private const val MAX_PIECE_BYTES = 8000
        private const val NULL_PIECE = "\u0000"
        private const val SPACE_SYMBOL = "\u2581"
        private const val DEFAULT_UNK_SURFACE = " \u2047 "
        private val BYTE_PIECES = Array(256) { String.format("<0x%02X>", it) }
        private val BYTE_OF_PIECE: Map<String, Int> = BYTE_PIECES.withIndex().associate { it.value to it.index }

        /** `PieceToByte`: 0..255 for `<0x00>`..`<0xFF>` (upper-case hex), else -1. */
        private fun pieceToByte(piece: String): Int = BYTE_OF_PIECE[piece] ?: -1

        /** UTF-8 of [text]; [InputError] for a lone surrogate (not Unicode text). */
        private fun utf8Of(text: String): ByteArray {
            var i = 0
            while (i < text.length) {
                val c = text[i]
                if (Character.isHighSurrogate(c) && i + 1 < text.length && Character.isLowSurrogate(text[i + 1])) {
                    i += 2
                    continue
                }
                if (Character.isSurrogate(c)) {
                    throw InputError("text has a lone surrogate U+%04X at index $i: not valid Unicode".format(c.toInt()))
                }
                i++
            }
            return text.toByteArray(Charsets.UTF_8)
        }

        /** A tokenizer for the `.model` / `.spm` file at [path]. */
        fun fromFile(path: File): SentencePieceTokenizer = fromBytes(path.readBytes(), path.path)

        /** A tokenizer for the bytes of a `.model` / `.spm` file; [where] names it in errors. */
        fun fromBytes(bytes: ByteArray, where: String): SentencePieceTokenizer =
            SentencePieceTokenizer(SentencePieceModelProto.parse(bytes, where), where)
    }
}
