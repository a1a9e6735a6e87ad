package edgezoo.ondevice

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class JsonTest {
    private fun fails(text: String, offset: Int? = null) {
        try {
            Json.parse(text)
            fail("parsed invalid JSON: $text")
        } catch (e: Json.JsonError) {
            if (offset != null) assertEquals("offset of the error in $text", offset, e.offset)
        }
    }

    @Test
    fun parsesObjectsArraysAndScalars() {
        val value = Json.parse(""" { "a": [1, -2, 3.5, -0.25e2, 1E3, true, false, null], "b": {"c": "d"}, "e": {} , "f": [] } """)
        val expected = linkedMapOf<String, Any?>(
            "a" to listOf(1L, -2L, 3.5, -25.0, 1000.0, true, false, null),
            "b" to mapOf("c" to "d"),
            "e" to emptyMap<String, Any?>(),
            "f" to emptyList<Any?>()
        )
        assertEquals(expected, value)
        assertEquals(listOf("a", "b", "e", "f"), (value as Map<*, *>).keys.toList())
    }

    @Test
    fun numbersKeepIntegersExact() {
        assertEquals(9007199254740993L, Json.parse("9007199254740993"))
        assertEquals(0L, Json.parse("0"))
        assertEquals(-0.0, Json.parse("-0.0"))
        // Too large for a Long: a Double, as Python would give an int (we have no bignum).
        assertEquals(1e20, Json.parse("100000000000000000000"))
        assertEquals(0.1f, (Json.parse("0.10000000149011612") as Double).toFloat())
    }

    @Test
    fun pythonNonFiniteFloats() {
        assertTrue((Json.parse("NaN") as Double).isNaN())
        assertEquals(Double.POSITIVE_INFINITY, Json.parse("Infinity"))
        assertEquals(listOf(Double.NEGATIVE_INFINITY), Json.parse("[-Infinity]"))
    }

    @Test
    fun stringEscapes() {
        assertEquals("a\"b\\c/d\b\u000C\n\r\t", Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""))
        assertEquals("é€", Json.parse("\"\\u00e9\\u20AC\""))
        assertEquals("😀", Json.parse("\"\\ud83d\\ude00\""))
        assertEquals("Straße „quoted“ 😀", Json.parse("\"Straße „quoted“ 😀\""))
    }

    @Test
    fun repeatedKeyKeepsLastValue() {
        assertEquals(mapOf("a" to 2L), Json.parse("""{"a": 1, "a": 2}"""))
    }

    @Test
    fun whitespaceAroundTheValue() {
        assertNull(Json.parse(" \n\tnull\r\n "))
    }

    @Test
    fun rejectsInvalidJson() {
        fails("")
        fails("{")
        fails("[1, 2,]", 6)
        fails("{\"a\" 1}", 5)
        fails("{\"a\": 1,}", 8)
        fails("{a: 1}", 1)
        fails("[1] [2]", 4)
        fails("01", 1)
        fails("1.", 2)
        fails("1e", 2)
        fails("-", 1)
        fails("\"abc")
        fails("\"a\\x\"", 3)
        fails("\"\\u12G4\"")
        fails("\"tab\tin string\"", 4)
        fails("tru", 0)
        fails("[" + "[".repeat(600) + "]".repeat(601))
    }
}
