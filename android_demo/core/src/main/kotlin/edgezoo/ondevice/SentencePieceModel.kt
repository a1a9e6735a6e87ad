package edgezoo.ondevice

/*
 * The parts of a SentencePiece model file the unigram tokenizer needs, read without a protobuf
 * library, and sentencepiece's text normalizer (`src/normalizer.cc`).
 *
 * A `.model` / `.spm` file is a serialized `sentencepiece.ModelProto`
 * (`src/sentencepiece_model.proto`, proto2). Only these fields are read; everything else is
 * skipped as the C++ parser skips unknown fields:
 *
 * - `pieces` (1): `piece` (1), `score` (2, float), `type` (3);
 * - `trainer_spec` (2): `model_type` (3), `treat_whitespace_as_suffix` (24), `byte_fallback` (35),
 *   `unk_surface` (44), `unk_piece` / `bos_piece` / `eos_piece` / `pad_piece` (45-48);
 * - `normalizer_spec` (3) and `denormalizer_spec` (5): `name` (1), `precompiled_charsmap` (2),
 *   `add_dummy_prefix` (3), `remove_extra_whitespaces` (4), `escape_whitespaces` (5).
 *
 * Proto2 semantics are kept: absent fields take the `.proto` defaults, a message field that
 * occurs twice is merged, the last value of a scalar wins, and an enum value the `.proto` does
 * not define leaves the field unchanged (C++ stores it as an unknown field).
 */

/** The piece types of `ModelProto.SentencePiece.Type`. */
object PieceType {
    const val NORMAL = 1
    const val UNKNOWN = 2
    const val CONTROL = 3
    const val USER_DEFINED = 4
    const val UNUSED = 5
    const val BYTE = 6
}

/** `TrainerSpec.ModelType`: only [UNIGRAM] is supported by [SentencePieceTokenizer]. */
object SentencePieceModelType {
    const val UNIGRAM = 1
    const val BPE = 2
    const val WORD = 3
    const val CHAR = 4

    fun name(type: Int): String = when (type) {
        UNIGRAM -> "UNIGRAM"
        BPE -> "BPE"
        WORD -> "WORD"
        CHAR -> "CHAR"
        else -> type.toString()
    }
}

/** One vocabulary entry: its UTF-8 bytes, log-probability score and [PieceType]. */
class SentencePieceEntry(val piece: ByteArray, val score: Float, val type: Int)

/** The `TrainerSpec` fields the tokenizer uses (proto defaults when absent). */
class SentencePieceTrainerSpec {
    var modelType = SentencePieceModelType.UNIGRAM
    var treatWhitespaceAsSuffix = false
    var byteFallback = false
    /** `unk_surface` if the field is present (even empty), else null: the default ` ⁇ `. */
    var unkSurface: ByteArray? = null
    var unkPiece = ""
    var bosPiece = ""
    var eosPiece = ""
    var padPiece = ""
}

/** A `NormalizerSpec` (proto defaults when absent). */
class SentencePieceNormalizerSpec {
    var name = ""
    var precompiledCharsmap = ByteArray(0)
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true
}

/** The parsed `ModelProto`; [parse] throws [ArtifactError] for bytes that are not one. */
class SentencePieceModelProto(
    val pieces: List<SentencePieceEntry>,
    val trainerSpec: SentencePieceTrainerSpec,
    val normalizerSpec: SentencePieceNormalizerSpec,
    /** Null when the file has no `denormalizer_spec`. */
    val denormalizerSpec: SentencePieceNormalizerSpec?
) {
    companion object {
        /** Parse the bytes of a `.model` file; [where] names it in errors. */
        fun parse(bytes: ByteArray, where: String): SentencePieceModelProto {
            val reader = ProtoReader(bytes, 0, bytes.size, where)
            val pieces = ArrayList<SentencePieceEntry>()
            val trainer = SentencePieceTrainerSpec()
            val normalizer = SentencePieceNormalizerSpec()
            var denormalizer: SentencePieceNormalizerSpec? = null
            while (!reader.atEnd()) {
                val tag = reader.readTag()
                when {
                    tag == field(1, LENGTH) -> pieces.add(parsePiece(reader.readMessage()))
                    tag == field(2, LENGTH) -> parseTrainerSpec(reader.readMessage(), trainer)
                    tag == field(3, LENGTH) -> parseNormalizerSpec(reader.readMessage(), normalizer)
                    tag == field(5, LENGTH) -> {
                        val spec = denormalizer ?: SentencePieceNormalizerSpec()
                        parseNormalizerSpec(reader.readMessage(), spec)
                        denormalizer = spec
                    }
                    else -> reader.skip(tag)
                }
            }
            return SentencePieceModelProto(pieces, trainer, normalizer, denormalizer)
        }

        private const val VARINT = 0
        private const val FIXED32 = 5
        private const val LENGTH = 2

        private fun field(number: Int, wireType: Int) = (number shl 3) or wireType

        private fun parsePiece(reader: ProtoReader): SentencePieceEntry {
            var piece = ByteArray(0)
            var score = 0f
            var type = PieceType.NORMAL
            while (!reader.atEnd()) {
                val tag = reader.readTag()
                when (tag) {
                    field(1, LENGTH) -> piece = reader.readBytes()
                    field(2, FIXED32) -> score = java.lang.Float.intBitsToFloat(reader.readFixed32())
                    field(3, VARINT) -> {
                        val value = reader.readVarint()
                        if (value in 1L..6L) type = value.toInt()
                    }
                    else -> reader.skip(tag)
                }
            }
            return SentencePieceEntry(piece, score, type)
        }

        private fun parseTrainerSpec(reader: ProtoReader, spec: SentencePieceTrainerSpec) {
            while (!reader.atEnd()) {
                val tag = reader.readTag()
                when (tag) {
                    field(3, VARINT) -> {
                        val value = reader.readVarint()
                        if (value in 1L..4L) spec.modelType = value.toInt()
                    }
                    field(24, VARINT) -> spec.treatWhitespaceAsSuffix = reader.readVarint() != 0L
                    field(35, VARINT) -> spec.byteFallback = reader.readVarint() != 0L
                    field(44, LENGTH) -> spec.unkSurface = reader.readBytes()
                    field(45, LENGTH) -> spec.unkPiece = reader.readString()
                    field(46, LENGTH) -> spec.bosPiece = reader.readString()
                    field(47, LENGTH) -> spec.eosPiece = reader.readString()
                    field(48, LENGTH) -> spec.padPiece = reader.readString()
                    else -> reader.skip(tag)
                }
            }
        }

        private fun parseNormalizerSpec(reader: ProtoReader, spec: SentencePieceNormalizerSpec) {
            while (!reader.atEnd()) {
                val tag = reader.readTag()
                when (tag) {
                    field(1, LENGTH) -> spec.name = reader.readString()
                    field(2, LENGTH) -> spec.precompiledCharsmap = reader.readBytes()
                    field(3, VARINT) -> spec.addDummyPrefix = reader.readVarint() != 0L
                    field(4, VARINT) -> spec.removeExtraWhitespaces = reader.readVarint() != 0L
                    field(5, VARINT) -> spec.escapeWhitespaces = reader.readVarint() != 0L
                    else -> reader.skip(tag)
                }
            }
        }
    }
}

/** A protobuf wire-format reader over `bytes[pos, end)`; every problem is an [ArtifactError]. */
internal class ProtoReader(private val bytes: ByteArray, private var pos: Int, private val end: Int, private val where: String) {
    private fun corrupt(what: String): ArtifactError =
        ArtifactError("$where: not a SentencePiece model file ($what at byte $pos)")

    fun atEnd(): Boolean = pos >= end

    fun readVarint(): Long {
        var result = 0L
        var shift = 0
        while (true) {
            if (pos >= end) throw corrupt("truncated varint")
            val b = bytes[pos++].toInt()
            if (shift < 64) result = result or ((b and 0x7F).toLong() shl shift)
            if (b and 0x80 == 0) return result
            shift += 7
            if (shift >= 70) throw corrupt("varint longer than 10 bytes")
        }
    }

    /** A field tag; field number 0 or more than 32 bits is corrupt. */
    fun readTag(): Int {
        val tag = readVarint()
        if (tag ushr 3 == 0L || tag > 0xFFFFFFFFL) throw corrupt("invalid field tag $tag")
        return tag.toInt()
    }

    fun readFixed32(): Int {
        if (end - pos < 4) throw corrupt("truncated fixed32")
        var value = 0
        for (i in 0 until 4) value = value or ((bytes[pos + i].toInt() and 0xFF) shl (8 * i))
        pos += 4
        return value
    }

    private fun readLength(): Int {
        val length = readVarint()
        if (length < 0 || length > (end - pos).toLong()) throw corrupt("length $length past the end")
        return length.toInt()
    }

    fun readBytes(): ByteArray {
        val length = readLength()
        val out = bytes.copyOfRange(pos, pos + length)
        pos += length
        return out
    }

    fun readString(): String = utf8(readBytes())

    fun utf8(data: ByteArray): String = try {
        decodeUtf8(data)
    } catch (e: java.nio.charset.CharacterCodingException) {
        throw corrupt("string field that is not UTF-8")
    }

    fun readMessage(): ProtoReader {
        val length = readLength()
        val sub = ProtoReader(bytes, pos, pos + length, where)
        pos += length
        return sub
    }

    /** Skip the value of a field with [tag] (an unknown field, or a known one of another wire type). */
    fun skip(tag: Int) {
        when (tag and 7) {
            0 -> readVarint()
            1 -> { if (end - pos < 8) throw corrupt("truncated fixed64"); pos += 8 }
            2 -> { val length = readLength(); pos += length }
            3 -> { // a group: skip fields up to its end-group tag
                val number = tag ushr 3
                while (true) {
                    if (atEnd()) throw corrupt("unterminated group")
                    val inner = readTag()
                    if (inner and 7 == 4) {
                        if (inner ushr 3 != number) throw corrupt("mismatched end of group")
                        return
                    }
                    skip(inner)
                }
            }
            5 -> { if (end - pos < 4) throw corrupt("truncated fixed32"); pos += 4 }
            else -> throw corrupt("invalid wire type ${tag and 7}")
        }
    }
}

// --- UTF-8 as sentencepiece reads it (`src/util.h`, `src/util.cc`). ---

/** `string_util::OneCharLen`: the sequence length announced by a lead byte (1 for others). */
internal fun oneCharLen(lead: Byte): Int = when ((lead.toInt() and 0xFF) ushr 4) {
    in 0..11 -> 1
    12, 13 -> 2
    14 -> 3
    else -> 4
}

private fun isTrailByte(b: Byte): Boolean = (b.toInt() and 0xC0) == 0x80

private fun isValidCodepoint(c: Int): Boolean = c < 0xD800 || (c in 0xE000..0x10FFFF)

/**
 * `string_util::IsValidDecodeUTF8` at `bytes[pos, end)`: the byte length of the valid
 * character there, or -1 if the bytes there are malformed (sentencepiece then consumes one byte).
 * Surrogates, overlong forms and code points above U+10FFFF are malformed.
 */
internal fun validUtf8CharLength(bytes: ByteArray, pos: Int, end: Int): Int {
    val len = end - pos
    val b0 = bytes[pos].toInt() and 0xFF
    if (b0 < 0x80) return 1
    if (len >= 2 && (b0 and 0xE0) == 0xC0) {
        val cp = ((b0 and 0x1F) shl 6) or (bytes[pos + 1].toInt() and 0x3F)
        return if (isTrailByte(bytes[pos + 1]) && cp >= 0x80 && isValidCodepoint(cp)) 2 else -1
    }
    if (len >= 3 && (b0 and 0xF0) == 0xE0) {
        val cp = ((b0 and 0x0F) shl 12) or ((bytes[pos + 1].toInt() and 0x3F) shl 6) or (bytes[pos + 2].toInt() and 0x3F)
        val ok = isTrailByte(bytes[pos + 1]) && isTrailByte(bytes[pos + 2]) && cp >= 0x800 && isValidCodepoint(cp)
        return if (ok) 3 else -1
    }
    if (len >= 4 && (b0 and 0xF8) == 0xF0) {
        val cp = ((b0 and 0x07) shl 18) or ((bytes[pos + 1].toInt() and 0x3F) shl 12) or
            ((bytes[pos + 2].toInt() and 0x3F) shl 6) or (bytes[pos + 3].toInt() and 0x3F)
        val ok = isTrailByte(bytes[pos + 1]) && isTrailByte(bytes[pos + 2]) && isTrailByte(bytes[pos + 3]) &&
            cp >= 0x10000 && isValidCodepoint(cp)
        return if (ok) 4 else -1
    }
    return -1
}

internal val REPLACEMENT_CHARACTER_UTF8 = byteArrayOf(0xEF.toByte(), 0xBF.toByte(), 0xBD.toByte())

/** U+2581 LOWER ONE EIGHTH BLOCK, sentencepiece's escaped space. */
internal val SPACE_SYMBOL_UTF8 = byteArrayOf(0xE2.toByte(), 0x96.toByte(), 0x81.toByte())

/** A growable byte buffer. */
internal class ByteBuilder(capacity: Int = 16) {
    var data = ByteArray(maxOf(capacity, 16))
    var size = 0

    fun append(b: Byte) {
        if (size == data.size) data = data.copyOf(data.size * 2)
        data[size++] = b
    }

    fun append(src: ByteArray, from: Int = 0, to: Int = src.size) {
        if (size + (to - from) > data.size) data = data.copyOf(maxOf(data.size * 2, size + (to - from)))
        System.arraycopy(src, from, data, size, to - from)
        size += to - from
    }

    fun endsWith(suffix: ByteArray): Boolean {
        if (size < suffix.size) return false
        for (i in suffix.indices) if (data[size - suffix.size + i] != suffix[i]) return false
        return true
    }

    fun toByteArray(): ByteArray = data.copyOf(size)
}

/**
 * A set of byte strings searched by prefix, as sentencepiece searches its darts-clone tries of
 * pieces and of user-defined symbols: the keys, sorted bytewise, are the trie.
 */
internal class SortedKeyTrie(keys: List<ByteArray>, values: IntArray) {
    private val keys: Array<ByteArray>
    private val values: IntArray

    init {
        val order = keys.indices.sortedWith(Comparator { a, b -> compareBytes(keys[a], keys[b]) })
        this.keys = Array(order.size) { keys[order[it]] }
        this.values = IntArray(order.size) { values[order[it]] }
    }

    val isEmpty: Boolean
        get() = keys.isEmpty()

    /**
     * Calls [found] (end position, value) for every key that is a prefix of `text[start, end)`,
     * shortest first (darts-clone's `commonPrefixSearch` / `traverse` order).
     */
    inline fun forEachPrefix(text: ByteArray, start: Int, end: Int, found: (Int, Int) -> Unit) {
        var lo = 0
        var hi = size()
        var depth = 0
        while (start + depth < end && lo < hi) {
            val b = text[start + depth].toInt() and 0xFF
            if (keyLength(lo) == depth) lo++ // the key equal to the prefix so far sorts first
            lo = lowerBound(lo, hi, depth, b)
            hi = lowerBound(lo, hi, depth, b + 1)
            depth++
            if (lo < hi && keyLength(lo) == depth) found(start + depth, value(lo))
        }
    }

    fun size(): Int = keys.size

    fun keyLength(i: Int): Int = keys[i].size

    fun value(i: Int): Int = values[i]

    /** The first index in [lo, hi) whose key's byte at [depth] is >= [b] (all keys there are longer than [depth]). */
    fun lowerBound(lo: Int, hi: Int, depth: Int, b: Int): Int {
        var low = lo
        var high = hi
        while (low < high) {
            val mid = (low + high) ushr 1
            if ((keys[mid][depth].toInt() and 0xFF) < b) low = mid + 1 else high = mid
        }
        return low
    }

    private companion object {
        fun compareBytes(a: ByteArray, b: ByteArray): Int {
            val n = minOf(a.size, b.size)
            for (i in 0 until n) {
                val d = (a[i].toInt() and 0xFF) - (b[i].toInt() and 0xFF)
                if (d != 0) return d
            }
            return a.size - b.size
        }
    }
}

/**
 * A darts-clone double array (`third_party/darts_clone/darts.h`) as stored in a precompiled
 * charsmap: 32-bit little-endian units. [validate] is darts-clone's `validate`, which
 * sentencepiece 0.2.3 runs on every charsmap it loads; reads outside the array throw
 * [ArtifactError] all the same.
 */
internal class DoubleArrayTrie(blob: ByteArray, from: Int, byteLength: Int, private val where: String) {
    private val units = IntArray(byteLength / 4) { i ->
        val p = from + 4 * i
        (blob[p].toInt() and 0xFF) or ((blob[p + 1].toInt() and 0xFF) shl 8) or
            ((blob[p + 2].toInt() and 0xFF) shl 16) or ((blob[p + 3].toInt() and 0xFF) shl 24)
    }

    private fun unit(pos: Int): Int {
        if (pos < 0 || pos >= units.size) throw ArtifactError("$where: corrupt normalization charsmap (trie)")
        return units[pos]
    }

    private fun hasLeaf(unit: Int) = (unit ushr 8) and 1 == 1
    private fun value(unit: Int) = unit and 0x7FFFFFFF
    /** `label()` as an unsigned 32-bit value: the byte, or >= 2^31 for a value unit. */
    private fun label(unit: Int): Long = (unit and (0x80000000.toInt() or 0xFF)).toLong() and 0xFFFFFFFFL
    private fun offset(unit: Int) = (unit ushr 10) shl ((unit and (1 shl 9)) ushr 6)

    /** `DoubleArrayImpl::validate(max_value_limit)`: every child block and value in range. */
    fun validate(maxValue: Int): Boolean {
        val size = units.size
        if (size == 0) return false
        val root = units[0]
        if (label(root) != 0L || hasLeaf(root) || offset(root) == 0 || (offset(root) or 0xFF) >= size) return false
        for (i in 1 until size) {
            val u = units[i]
            if (label(u) <= 0xFF) {
                if (((i xor offset(u)) or 0xFF) >= size) return false
                if (hasLeaf(u) && label(units[i xor offset(u)]) <= 0xFF) return false
            } else if (maxValue >= 0 && value(u) >= maxValue) {
                return false
            }
        }
        return true
    }

    /**
     * `commonPrefixSearch(text + start, results, maxResults, end - start)` reduced to what the
     * normalizer uses: the longest of the first [maxResults] keys that are prefixes of
     * `text[start, end)`, as (length shl 32) or value; -1 if none.
     */
    fun longestPrefix(text: ByteArray, start: Int, end: Int, maxResults: Int): Long {
        var best = -1L
        var found = 0
        var nodePos = offset(unit(0))
        for (i in start until end) {
            val c = text[i].toInt() and 0xFF
            nodePos = nodePos xor c
            val u = unit(nodePos)
            if (label(u) != c.toLong()) return best
            nodePos = nodePos xor offset(u)
            if (hasLeaf(u)) {
                if (found < maxResults) best = ((i + 1 - start).toLong() shl 32) or value(unit(nodePos)).toLong()
                found++
            }
        }
        return best
    }
}

/**
 * sentencepiece's `normalizer::Normalizer` (`src/normalizer.cc`, 0.2.3) on UTF-8 bytes:
 * rule-based replacement with the precompiled charsmap (the longest of the first 32 matching
 * rules; user-defined symbols are matched first and copied verbatim), malformed UTF-8 -> U+FFFD
 * one byte at a time, leading/trailing/repeated whitespace removal, the dummy prefix (or suffix)
 * space, and spaces escaped as `▁`. A charsmap is checked at construction as 0.2.3 checks it
 * (`DecodePrecompiledCharsMap`, darts-clone `validate`); a bad one is an [ArtifactError].
 *
 * @param userDefined the user-defined symbols (`PrefixMatcher`); null for the denormalizer.
 */
internal class SentencePieceNormalizer(
    private val spec: SentencePieceNormalizerSpec,
    private val treatWhitespaceAsSuffix: Boolean,
    private val userDefined: SortedKeyTrie?,
    private val where: String
) {
    private val trie: DoubleArrayTrie?
    private val normalized: ByteArray // the replacement strings, each NUL-terminated
    private val normalizedFrom: Int

    init {
        val blob = spec.precompiledCharsmap
        if (blob.isEmpty()) {
            trie = null
            normalized = blob
            normalizedFrom = 0
        } else {
            // <trie size (uint32 LE)><double array><normalized strings> (DecodePrecompiledCharsMap)
            fun broken(why: String) = ArtifactError("$where: $why")
            if (blob.size <= 4) throw broken("Blob for normalization rule is broken.")
            val trieSize = (blob[0].toLong() and 0xFF) or ((blob[1].toLong() and 0xFF) shl 8) or
                ((blob[2].toLong() and 0xFF) shl 16) or ((blob[3].toLong() and 0xFF) shl 24)
            if (trieSize >= blob.size - 4) throw broken("Trie data size exceeds the input blob size.")
            if (trieSize < 1024 || trieSize and 0x3FF != 0L) throw broken("Trie data size is not divisible by 1024.")
            normalizedFrom = 4 + trieSize.toInt()
            if (blob[blob.size - 1] != 0.toByte()) throw broken("normalized block must be null terminated.")
            val array = DoubleArrayTrie(blob, 4, trieSize.toInt(), where)
            if (!array.validate(blob.size - normalizedFrom)) throw broken("precompiled_charsmap is invalid.")
            trie = array
            normalized = blob
        }
    }

    // NormalizePrefix's result: the replacement is source[from, to); `consumed` input bytes.
    private var source: ByteArray = normalized
    private var from = 0
    private var to = 0
    private var consumed = 0

    /** `Normalizer::NormalizePrefix` of `input[pos, end)` (non-empty) into the fields above. */
    private fun normalizePrefix(input: ByteArray, pos: Int, end: Int) {
        if (userDefined != null && !userDefined.isEmpty) {
            // PrefixMatcher::PrefixMatch: the longest of the first 64 matching symbols.
            var longest = 0
            var found = 0
            userDefined.forEachPrefix(input, pos, end) { stop, _ ->
                if (found++ < MAX_USER_DEFINED_RESULTS) longest = maxOf(longest, stop - pos)
            }
            if (longest > 0) {
                setResult(input, pos, pos + longest, longest)
                return
            }
        }
        val match = trie?.longestPrefix(input, pos, end, MAX_TRIE_RESULTS) ?: -1L
        val start = normalizedFrom + (match and 0xFFFFFFFFL).toInt()
        if (match >= 0 && start < normalized.size) {
            var stop = start
            while (stop < normalized.size && normalized[stop] != 0.toByte()) stop++
            setResult(normalized, start, stop, (match ushr 32).toInt())
            return
        }
        val length = validUtf8CharLength(input, pos, end)
        if (length < 0) setResult(REPLACEMENT_CHARACTER_UTF8, 0, 3, 1) else setResult(input, pos, pos + length, length)
    }

    private fun setResult(source: ByteArray, from: Int, to: Int, consumed: Int) {
        this.source = source
        this.from = from
        this.to = to
        this.consumed = consumed
    }

    private fun resultIsOneSpace() = to - from == 1 && source[from] == ' '.toByte()

    /** `Normalizer::Normalize` of UTF-8 [input] (any bytes); the result is valid UTF-8. */
    @Synchronized
    fun normalize(input: ByteArray): ByteArray {
        val end = input.size
        var pos = 0
        if (end == 0) return ByteArray(0)
        if (spec.removeExtraWhitespaces) { // ignores heading space
            while (pos < end) {
                normalizePrefix(input, pos, end)
                if (!resultIsOneSpace()) break
                pos += consumed
            }
        }
        if (pos == end) return ByteArray(0) // all chars are whitespace
        val out = ByteBuilder(3 * (end - pos))
        val space = if (spec.escapeWhitespaces) SPACE_SYMBOL_UTF8 else byteArrayOf(' '.toByte())
        if (!treatWhitespaceAsSuffix && spec.addDummyPrefix) out.append(space)
        var isPrevSpace = spec.removeExtraWhitespaces
        while (pos < end) {
            normalizePrefix(input, pos, end)
            var start = from
            while (isPrevSpace && start < to && source[start] == ' '.toByte()) start++
            if (start < to) {
                for (i in start until to) {
                    if (spec.escapeWhitespaces && source[i] == ' '.toByte()) out.append(SPACE_SYMBOL_UTF8) else out.append(source[i])
                }
                isPrevSpace = source[to - 1] == ' '.toByte()
            }
            pos += consumed
            if (!spec.removeExtraWhitespaces) isPrevSpace = false
        }
        if (spec.removeExtraWhitespaces) { // ignores trailing space
            while (out.endsWith(space)) out.size -= space.size
        }
        if (treatWhitespaceAsSuffix && spec.addDummyPrefix) out.append(space)
        return out.toByteArray()
    }

    private companion object {
        const val MAX_TRIE_RESULTS = 32 // Normalizer::kMaxTrieResultsSize
        const val MAX_USER_DEFINED_RESULTS = 64 // PrefixMatcher's kResultSize
    }
}
