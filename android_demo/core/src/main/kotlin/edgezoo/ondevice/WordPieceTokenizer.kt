package edgezoo.ondevice

import java.io.File
import java.text.Normalizer

/*
 * WordPiece tokenizer of the on-device runtime (mirrors `ondevice/tokenizer.py`, id for id).
 *
 * The rules, as in the Python module:
 *
 * 1. Normalize the text to NFC.
 * 2. Truncate the text at the first U+0000 (NUL).
 * 3. Classify each code point ([UnicodeTable], generated from the Python rules): whitespace
 *    (ASCII " \t\n\r\f", categories Cc and Cf: a dropped delimiter), punctuation (the ASCII
 *    punctuation ranges, categories P*) and CJK ideographs (each kept as its own word), and
 *    everything else (part of a word).
 * 4. WordPiece each word: longer than [MAX_BYTES_PER_WORD] UTF-8 bytes -> the oov token;
 *    otherwise greedy longest-match-first, pieces after the first carrying the suffix
 *    indicator; a word that cannot be fully covered -> a single oov token.
 *
 * Lengths are counted in code points, as Python counts `len(str)`.
 */

/** Tokens with ids 0..3 in every vocabulary the project writes. */
val RESERVED_TOKENS = listOf("[PAD]", "[UNK]", "[START]", "[END]")

/** Words longer than this many UTF-8 bytes map to the oov token. */
const val MAX_BYTES_PER_WORD = 100

/** Characters Python's `str.isspace()` accepts (what `str.strip()` removes). */
private val PYTHON_WHITESPACE: Set<Int> = (
    listOf(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680) +
        (0x2000..0x200A).toList() + listOf(0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
    ).toSet()

/** Python's `str.rstrip()`. */
fun pythonRstrip(text: String): String {
    var end = text.length
    while (end > 0) {
        val cp = Character.codePointBefore(text, end)
        if (cp !in PYTHON_WHITESPACE) break
        end -= Character.charCount(cp)
    }
    return text.substring(0, end)
}

/** Python's `str.strip()`. */
fun pythonStrip(text: String): String {
    val end = pythonRstrip(text).length
    var start = 0
    while (start < end) {
        val cp = text.codePointAt(start)
        if (cp !in PYTHON_WHITESPACE) break
        start += Character.charCount(cp)
    }
    return text.substring(start, end)
}

/** Python's `str.strip() == ""`. */
fun pythonIsBlank(text: String): Boolean {
    var i = 0
    while (i < text.length) {
        val cp = text.codePointAt(i)
        if (cp !in PYTHON_WHITESPACE) return false
        i += Character.charCount(cp)
    }
    return true
}

private fun codePoints(text: String): IntArray {
    val out = IntArray(text.codePointCount(0, text.length))
    var i = 0
    var j = 0
    while (i < text.length) {
        val cp = text.codePointAt(i)
        out[j++] = cp
        i += Character.charCount(cp)
    }
    return out
}

private fun utf8Length(codePoints: IntArray, start: Int, end: Int): Int {
    var bytes = 0
    for (i in start until end) {
        val cp = codePoints[i]
        bytes += when {
            cp < 0x80 -> 1
            cp < 0x800 -> 2
            cp < 0x10000 -> 3
            else -> 4
        }
    }
    return bytes
}

private fun stringOf(codePoints: IntArray, start: Int, end: Int, prefix: String = ""): String {
    val sb = StringBuilder(prefix.length + 2 * (end - start))
    sb.append(prefix)
    for (i in start until end) sb.appendCodePoint(codePoints[i])
    return sb.toString()
}

/**
 * A WordPiece tokenizer with exactly the ids of the Python runtime's `WordPieceTokenizer` (and
 * so of keras-hub's, see `ondevice/tokenizer.py`).
 *
 * @param vocabulary the WordPiece tokens; a token's id is its index. Unique, containing
 *     [oovToken].
 * @param oovToken the token substituted for words that cannot be tokenized.
 * @param suffixIndicator the prefix marking a piece that continues a word, e.g. `"##ing"`.
 */
class WordPieceTokenizer(
    vocabulary: List<String>,
    val oovToken: String = "[UNK]",
    val suffixIndicator: String = "##"
) : TextTokenizer {
    val vocabulary: List<String> = ArrayList(vocabulary)
    private val tokenToIdMap = HashMap<String, Int>()
    private val oovId: Int
    private val maxPrefixChars: Int
    private val maxSuffixChars: Int
    private val skipIds: Set<Int>

    init {
        for ((i, token) in this.vocabulary.withIndex()) {
            if (token in tokenToIdMap) {
                throw IllegalArgumentException("Tokens in the vocabulary must be unique. Duplicate: ${pyRepr(token)}")
            }
            tokenToIdMap[token] = i
        }
        oovId = tokenToIdMap[oovToken]
            ?: throw IllegalArgumentException("Cannot find `oov_token=${pyRepr(oovToken)}` in the vocabulary.")
        require(suffixIndicator.isNotEmpty()) { "`suffix_indicator` must be a non-empty string." }
        var prefix = 0
        var suffix = 0
        val indicatorLength = suffixIndicator.codePointCount(0, suffixIndicator.length)
        for (token in this.vocabulary) {
            val length = token.codePointCount(0, token.length)
            if (token.startsWith(suffixIndicator)) suffix = maxOf(suffix, length - indicatorLength)
            prefix = maxOf(prefix, length)
        }
        maxPrefixChars = prefix
        maxSuffixChars = suffix
        skipIds = RESERVED_TOKENS.filter { it in tokenToIdMap && it != oovToken }.map { tokenToIdMap.getValue(it) }.toSet()
    }

    /** The number of tokens in the vocabulary. */
    override val vocabularySize: Int
        get() = vocabulary.size

    /** The token of id [i]; [IllegalArgumentException] if out of range. */
    fun idToToken(i: Int): String {
        if (i < 0 || i >= vocabulary.size) {
            throw IllegalArgumentException("`id` must be in range [0, ${vocabulary.size - 1}]. Received: $i")
        }
        return vocabulary[i]
    }

    /** The id of token [t]; [IllegalArgumentException] if not in the vocabulary. */
    fun tokenToId(t: String): Int =
        tokenToIdMap[t] ?: throw IllegalArgumentException("Token ${pyRepr(t)} is not in the vocabulary.")

    /**
     * Split text into words, the pre-tokenization step: NFC, truncate at the first NUL, drop
     * whitespace / control / format characters, keep each punctuation mark and CJK ideograph as
     * its own word.
     */
    fun words(text: String): List<String> {
        var normalized = Normalizer.normalize(text, Normalizer.Form.NFC)
        val nul = normalized.indexOf('\u0000')
        if (nul >= 0) normalized = normalized.substring(0, nul)
        val words = ArrayList<String>()
        var start = -1 // UTF-16 index where the current word starts, if any.
        var index = 0
        while (index < normalized.length) {
            val cp = normalized.codePointAt(index)
            val next = index + Character.charCount(cp)
            val cls = UnicodeTable.charClass(cp)
            if (cls == UnicodeTable.WORD) {
                if (start < 0) start = index
            } else {
                if (start >= 0) {
                    words.add(normalized.substring(start, index))
                    start = -1
                }
                if (cls == UnicodeTable.KEEP) words.add(normalized.substring(index, next))
            }
            index = next
        }
        if (start >= 0) words.add(normalized.substring(start))
        return words
    }

    /** Greedy longest-match-first WordPiece of a single word. */
    private fun wordToIds(word: String, out: MutableList<Int>) {
        val chars = codePoints(word)
        val length = chars.size
        if (utf8Length(chars, 0, length) > MAX_BYTES_PER_WORD) {
            out.add(oovId)
            return
        }
        val ids = ArrayList<Int>()
        var start = 0
        while (start < length) {
            var end: Int
            val prefix: String
            if (start == 0) {
                end = minOf(length, maxPrefixChars)
                prefix = ""
            } else {
                end = minOf(length, start + maxSuffixChars)
                prefix = suffixIndicator
            }
            var pieceId: Int? = null
            while (end > start) {
                pieceId = tokenToIdMap[stringOf(chars, start, end, prefix)]
                if (pieceId != null) break
                end -= 1
            }
            if (pieceId == null) {
                out.add(oovId)
                return
            }
            ids.add(pieceId)
            start = end
        }
        out.addAll(ids)
    }

    /** WordPiece ids of [text] (NFC is applied here); empty for text without words. */
    override fun tokenize(text: String): List<Int> {
        val ids = ArrayList<Int>()
        for (word in words(text)) wordToIds(word, ids)
        return ids
    }

    /**
     * Turn ids back into normal text: `[PAD]`, `[START]`, `[END]` are skipped, the oov token is
     * kept as a word, a piece starting with the suffix indicator is glued (without it) to the
     * previous word, and the words are joined with [detokenizeWords].
     */
    override fun detokenize(ids: List<Int>): String {
        val words = ArrayList<String>()
        for (i in ids) {
            if (i in skipIds) continue
            val token = idToToken(i)
            if (token.startsWith(suffixIndicator) && token.length > suffixIndicator.length) {
                val piece = token.substring(suffixIndicator.length)
                if (words.isNotEmpty()) words[words.size - 1] = words[words.size - 1] + piece else words.add(piece)
            } else {
                words.add(token)
            }
        }
        return detokenizeWords(words)
    }

    companion object {
        /**
         * Vocabulary lines as Python reads a file in text mode: universal newlines (`\n`,
         * `\r\n`, `\r`) and `line.rstrip()`.
         */
        fun readVocabulary(text: String): List<String> {
            val lines = ArrayList<String>()
            var start = 0
            var i = 0
            while (i < text.length) {
                val c = text[i]
                if (c == '\n' || c == '\r') {
                    lines.add(pythonRstrip(text.substring(start, i)))
                    i += if (c == '\r' && i + 1 < text.length && text[i + 1] == '\n') 2 else 1
                    start = i
                } else {
                    i++
                }
            }
            if (start < text.length) lines.add(pythonRstrip(text.substring(start)))
            return lines
        }

        /** A tokenizer over the vocabulary file at [path] (UTF-8, one token per line). */
        fun fromFile(path: File, oovToken: String = "[UNK]", suffixIndicator: String = "##"): WordPieceTokenizer =
            fromBytes(path.readBytes(), path.path, oovToken, suffixIndicator)

        /** A tokenizer over the bytes of a vocabulary file; [where] names it in errors. */
        fun fromBytes(
            bytes: ByteArray,
            where: String,
            oovToken: String = "[UNK]",
            suffixIndicator: String = "##"
        ): WordPieceTokenizer {
            val text = try {
                decodeUtf8(bytes)
            } catch (e: java.nio.charset.CharacterCodingException) {
                throw ArtifactError("$where: vocabulary is not UTF-8")
            }
            return WordPieceTokenizer(readVocabulary(text), oovToken, suffixIndicator)
        }
    }
}

// --- Detokenization rules (mirrors the tables of ondevice/tokenizer.py). ---

/** Tokens attached to the previous token. */
val NO_SPACE_BEFORE = setOf(".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "\u2026", "\u00bb", "\u201d")

/** Tokens attached to the next token. */
val NO_SPACE_AFTER = setOf("(", "[", "{", "\u00bf", "\u00a1", "\u00ab", "\u201e")

/** Joined on both sides between two words, else attached to a word before. */
val APOSTROPHES = setOf("'", "\u2019")

/** Joined on both sides between a word (or closing quote/bracket) and a word. */
val WORD_JOINERS = setOf("-", "/")

/** Words before which a `-` after a word glues left only (German "Obst- und Gemüsehändler"). */
val SUSPENDED_HYPHEN_FOLLOWERS = setOf("und", "oder", "bis", "sowie", "bzw")

/** Joined on both sides between two all-digit tokens (3.5, 1,000, 10:30). */
val NUMBER_SEPARATORS = setOf(".", ",", ":")

/** Tokens that, like a closing quote, may precede a [WORD_JOINERS] join. */
val CLOSING_BRACKETS = setOf(")", "]", "}", "\u00bb", "\u201d")

const val STRAIGHT_QUOTE = "\""
const val LOW_OPENING_QUOTE = "\u201e"
const val HIGH_QUOTE = "\u201c"

/** True if some character is a letter or number (category L* or N*). */
private fun isWord(token: String): Boolean {
    var i = 0
    while (i < token.length) {
        val cp = token.codePointAt(i)
        if (UnicodeTable.isLetterOrNumber(cp)) return true
        i += Character.charCount(cp)
    }
    return false
}

/** True for a non-empty token of decimal digits (category Nd) only. */
private fun isDigits(token: String): Boolean {
    if (token.isEmpty()) return false
    var i = 0
    while (i < token.length) {
        val cp = token.codePointAt(i)
        if (!UnicodeTable.isDecimalDigit(cp)) return false
        i += Character.charCount(cp)
    }
    return true
}

/**
 * Join words and punctuation tokens into normal text (the rules of
 * `ondevice.tokenizer.detokenize_words`, first matching rule wins):
 *
 * 1. A [NUMBER_SEPARATORS] token between two all-digit tokens glues both sides.
 * 2. [NO_SPACE_BEFORE] tokens glue left.
 * 3. [NO_SPACE_AFTER] tokens glue right; `„` also opens a German quotation.
 * 4. A straight double quote alternates: odd ones open (glue right), even ones close.
 * 5. `“` closes (glues left) when a `„` is open, else opens (glues right).
 * 6. An apostrophe between two words glues both sides; after a word only, it glues left.
 * 7. `-` or `/` glues both sides when the next token is a word and the previous one a word or a
 *    closing bracket/quote, except `-` before a [SUSPENDED_HYPHEN_FOLLOWERS] word (left only).
 * 8. Anything else is a plain token.
 *
 * The result is NFC.
 */
fun detokenizeWords(words: List<String>): String {
    val pieces = StringBuilder()
    var glueNext = false
    var straightOpen = false
    var lowOpen = false
    var prevCloses = false
    val count = words.size
    var first = true
    for ((index, token) in words.withIndex()) {
        val prev = if (index > 0) words[index - 1] else null
        val next = if (index + 1 < count) words[index + 1] else null
        var glueLeft = false
        var glueRight = false
        var closes = false
        if (token in NUMBER_SEPARATORS && prev != null && next != null && isDigits(prev) && isDigits(next)) {
            glueLeft = true
            glueRight = true
        } else if (token in NO_SPACE_BEFORE) {
            glueLeft = true
            closes = token in CLOSING_BRACKETS
        } else if (token in NO_SPACE_AFTER) {
            glueRight = true
            if (token == LOW_OPENING_QUOTE) lowOpen = true
        } else if (token == STRAIGHT_QUOTE) {
            if (straightOpen) {
                glueLeft = true
                closes = true
            } else {
                glueRight = true
            }
            straightOpen = !straightOpen
        } else if (token == HIGH_QUOTE) {
            if (lowOpen) {
                glueLeft = true
                closes = true
                lowOpen = false
            } else {
                glueRight = true
            }
        } else if (token in APOSTROPHES) {
            val prevWord = prev != null && isWord(prev)
            val nextWord = next != null && isWord(next)
            if (prevWord && nextWord) {
                glueLeft = true
                glueRight = true
            } else if (prevWord) {
                glueLeft = true
            }
        } else if (token in WORD_JOINERS) {
            val leftOk = prev != null && (isWord(prev) || prevCloses)
            if (leftOk && next != null && isWord(next)) {
                glueLeft = true
                glueRight = !(token == "-" && next in SUSPENDED_HYPHEN_FOLLOWERS)
            }
        }
        if (!first && !glueNext && !glueLeft) pieces.append(' ')
        pieces.append(token)
        first = false
        glueNext = glueRight
        prevCloses = closes
    }
    return Normalizer.normalize(pieces.toString(), Normalizer.Form.NFC)
}
