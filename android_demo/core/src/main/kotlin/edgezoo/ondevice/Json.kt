package edgezoo.ondevice

/**
 * A small JSON reader (RFC 8259 plus Python's `NaN`, `Infinity`, `-Infinity`, which
 * `json.dump` writes for non-finite floats).
 *
 * Values become Kotlin objects: an object is a `Map<String, Any?>` (keys in file order; a
 * repeated key keeps the last value, as Python's `json.load` does), an array a `List<Any?>`,
 * a string a `String`, `true`/`false` a `Boolean`, `null` `null`, a number without fraction or
 * exponent a `Long` (a `Double` if it does not fit), any other number a `Double`.
 *
 * The core has no Android dependency, so it cannot use `org.json`.
 */
object Json {
    /** Parse [text]; throws [JsonError] with the offset of the first problem. */
    fun parse(text: String): Any? {
        val reader = Reader(text)
        reader.skipWhitespace()
        val value = reader.readValue(0)
        reader.skipWhitespace()
        if (reader.pos != text.length) throw reader.error("extra data after the JSON value")
        return value
    }

    /** A syntax error; [offset] is the character position in the text. */
    class JsonError(message: String, val offset: Int) : Exception("$message at offset $offset")

    private const val MAX_DEPTH = 512

    private class Reader(val text: String) {
        var pos = 0

        fun error(message: String) = JsonError(message, pos)

        fun skipWhitespace() {
            while (pos < text.length) {
                val c = text[pos]
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++ else return
            }
        }

        fun readValue(depth: Int): Any? {
            if (depth > MAX_DEPTH) throw error("nesting deeper than $MAX_DEPTH")
            if (pos >= text.length) throw error("unexpected end of input")
            val c = text[pos]
            return when {
                c == '{' -> readObject(depth)
                c == '[' -> readArray(depth)
                c == '"' -> readString()
                c == '-' || (c in '0'..'9') -> readNumber()
                text.startsWith("true", pos) -> { pos += 4; true }
                text.startsWith("false", pos) -> { pos += 5; false }
                text.startsWith("null", pos) -> { pos += 4; null }
                text.startsWith("NaN", pos) -> { pos += 3; Double.NaN }
                text.startsWith("Infinity", pos) -> { pos += 8; Double.POSITIVE_INFINITY }
                else -> throw error("unexpected character '${c}'")
            }
        }

        private fun expect(c: Char) {
            if (pos >= text.length || text[pos] != c) throw error("expected '$c'")
            pos++
        }

        private fun readObject(depth: Int): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            expect('{')
            skipWhitespace()
            if (pos < text.length && text[pos] == '}') {
                pos++
                return out
            }
            while (true) {
                skipWhitespace()
                if (pos >= text.length || text[pos] != '"') throw error("expected a string key")
                val key = readString()
                skipWhitespace()
                expect(':')
                skipWhitespace()
                out.remove(key)
                out[key] = readValue(depth + 1)
                skipWhitespace()
                if (pos < text.length && text[pos] == ',') {
                    pos++
                    continue
                }
                expect('}')
                return out
            }
        }

        private fun readArray(depth: Int): List<Any?> {
            val out = ArrayList<Any?>()
            expect('[')
            skipWhitespace()
            if (pos < text.length && text[pos] == ']') {
                pos++
                return out
            }
            while (true) {
                skipWhitespace()
                out.add(readValue(depth + 1))
                skipWhitespace()
                if (pos < text.length && text[pos] == ',') {
                    pos++
                    continue
                }
                expect(']')
                return out
            }
        }

        private fun readString(): String {
            expect('"')
            val sb = StringBuilder()
            while (true) {
                if (pos >= text.length) throw error("unterminated string")
                val c = text[pos++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (pos >= text.length) throw error("unterminated string")
                        when (val e = text[pos++]) {
                            '"' -> sb.append('"')
                            '\\' -> sb.append('\\')
                            '/' -> sb.append('/')
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (pos + 4 > text.length) throw error("truncated \\u escape")
                                var code = 0
                                for (i in 0 until 4) {
                                    val digit = Character.digit(text[pos + i], 16)
                                    if (digit < 0) throw error("bad \\u escape")
                                    code = code * 16 + digit
                                }
                                pos += 4
                                sb.append(code.toChar())
                            }
                            else -> {
                                pos--
                                throw error("bad escape '\\$e'")
                            }
                        }
                    }
                    c < ' ' -> {
                        pos--
                        throw error("control character in string")
                    }
                    else -> sb.append(c)
                }
            }
        }

        private fun readNumber(): Any {
            val start = pos
            if (text[pos] == '-') {
                pos++
                if (text.startsWith("Infinity", pos)) {
                    pos += 8
                    return Double.NEGATIVE_INFINITY
                }
            }
            if (pos >= text.length || text[pos] !in '0'..'9') throw error("bad number")
            if (text[pos] == '0') pos++ else while (pos < text.length && text[pos] in '0'..'9') pos++
            var integral = true
            if (pos < text.length && text[pos] == '.') {
                integral = false
                pos++
                if (pos >= text.length || text[pos] !in '0'..'9') throw error("bad number")
                while (pos < text.length && text[pos] in '0'..'9') pos++
            }
            if (pos < text.length && (text[pos] == 'e' || text[pos] == 'E')) {
                integral = false
                pos++
                if (pos < text.length && (text[pos] == '+' || text[pos] == '-')) pos++
                if (pos >= text.length || text[pos] !in '0'..'9') throw error("bad number")
                while (pos < text.length && text[pos] in '0'..'9') pos++
            }
            val literal = text.substring(start, pos)
            if (integral) {
                val asLong = literal.toLongOrNull()
                if (asLong != null) return asLong
            }
            return literal.toDouble()
        }
    }
}
