package edgezoo.ondevice

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class WordPieceTokenizerTest {
    private val tokens = Goldens.json("tokens.json")

    private fun checkGoldens(side: String) {
        val tokenizer = Goldens.tokenizer(side)
        val entries = tokens.getValue(side).asList().map { it.asMap() }
        assertTrue("too few golden $side sentences", entries.size >= 150)
        var mismatches = 0
        for (entry in entries) {
            val text = entry["text"] as String
            val where = "$side text ${pyRepr(text)}"
            val ids = entry["ids"].asInts()
            if (tokenizer.tokenize(text) != ids) mismatches++
            assertEquals("ids of $where", ids, tokenizer.tokenize(text))
            assertEquals("words of $where", entry["words"], tokenizer.words(text))
            assertEquals("detokenized ids of $where", entry["detokenized"], tokenizer.detokenize(ids))
            assertEquals("joined words of $where", entry["joined"], detokenizeWords(tokenizer.words(text)))
        }
        assertEquals(0, mismatches)
    }

    @Test
    fun sourceLanguageGoldens() = checkGoldens("source")

    @Test
    fun targetLanguageGoldens() = checkGoldens("target")

    @Test
    fun goldensCoverTheHardCases() {
        val texts = tokens.getValue("target").asList().map { it.asMap()["text"] as String }
        for (needle in listOf("ß", "Ü", "ñ", "¿", "„", "中", "😀", "\u0000", "\u200b", "e\u0301")) {
            assertTrue("no golden text with ${pyRepr(needle)}", texts.any { needle in it })
        }
        val oov = Goldens.tokenizer("target").tokenToId("[UNK]")
        val ids = tokens.getValue("target").asList().flatMap { it.asMap()["ids"].asInts() }
        assertTrue("no out-of-vocabulary word in the goldens", oov in ids)
    }

    @Test
    fun docstringExample() {
        val vocab = listOf("[PAD]", "[UNK]", "[START]", "[END]", "T", "-", "Sh", "##irt", ".")
        val tokenizer = WordPieceTokenizer(vocab)
        assertEquals(listOf("T", "-", "Shirt", "."), tokenizer.words("T-Shirt."))
        assertEquals(listOf(4, 5, 6, 7, 8), tokenizer.tokenize("T-Shirt."))
        assertEquals("T-Shirt.", tokenizer.detokenize(listOf(2, 4, 5, 6, 7, 8, 3)))
        assertEquals(listOf(1), tokenizer.tokenize("Shirts")) // cannot be covered: one oov token
        assertEquals(listOf(1), tokenizer.tokenize("T".repeat(101))) // longer than 100 bytes
        assertEquals("[UNK] T", tokenizer.detokenize(listOf(1, 0, 4)))
        assertEquals("irt", tokenizer.detokenize(listOf(7)))
        assertEquals(9, tokenizer.vocabularySize)
        assertEquals("Sh", tokenizer.idToToken(6))
    }

    @Test
    fun vocabularyFileIsReadLikePython() {
        // Universal newlines and rstrip(); no extra entry for the final newline.
        val text = "[PAD]\r\n[UNK]\r[START]\n[END] \u00a0\nword\t\n\n"
        assertEquals(listOf("[PAD]", "[UNK]", "[START]", "[END]", "word", ""), WordPieceTokenizer.readVocabulary(text))
        assertEquals(listOf("a", "b"), WordPieceTokenizer.readVocabulary("a\nb"))
        assertEquals(emptyList<String>(), WordPieceTokenizer.readVocabulary(""))
        try {
            WordPieceTokenizer.fromBytes(byteArrayOf(0x5b, 0xff.toByte(), 0x0a), "v.txt")
            fail("accepted a non-UTF-8 vocabulary")
        } catch (e: ArtifactError) {
            assertEquals("v.txt: vocabulary is not UTF-8", e.message)
        }
    }

    @Test
    fun badVocabularies() {
        try {
            WordPieceTokenizer(listOf("[UNK]", "a", "a"))
            fail("accepted duplicates")
        } catch (e: IllegalArgumentException) {
            assertEquals("Tokens in the vocabulary must be unique. Duplicate: 'a'", e.message)
        }
        try {
            WordPieceTokenizer(listOf("a"))
            fail("accepted a vocabulary without oov token")
        } catch (e: IllegalArgumentException) {
            assertEquals("Cannot find `oov_token='[UNK]'` in the vocabulary.", e.message)
        }
        try {
            WordPieceTokenizer(listOf("[UNK]")).idToToken(1)
            fail("accepted an out of range id")
        } catch (e: IllegalArgumentException) {
            assertEquals("`id` must be in range [0, 0]. Received: 1", e.message)
        }
    }

    @Test
    fun detokenizeRules() {
        fun join(vararg words: String) = detokenizeWords(words.toList())
        assertEquals("Es 3.5 km, a las 10:30.", join("Es", "3", ".", "5", "km", ",", "a", "las", "10", ":", "30", "."))
        assertEquals("¿Qué tal? ¡Hola!", join("¿", "Qué", "tal", "?", "¡", "Hola", "!"))
        assertEquals("Er sagte: „Open“-Schild.", join("Er", "sagte", ":", "„", "Open", "“", "-", "Schild", "."))
        assertEquals("He said \"hi\" and \"bye\".", join("He", "said", "\"", "hi", "\"", "and", "\"", "bye", "\"", "."))
        assertEquals("“Hi” don't dogs'toys", join("“", "Hi", "”", "don", "'", "t", "dogs", "'", "toys"))
        assertEquals("Obst- und Gemüse, T-Shirt and/or", join("Obst", "-", "und", "Gemüse", ",", "T", "-", "Shirt", "and", "/", "or"))
        assertEquals("a -,", join("a", "-", ","))
        assertEquals("(x)-y%", join("(", "x", ")", "-", "y", "%"))
        assertEquals("", join())
    }
}
