package edgezoo.ondevice

/** The golden files written by `android_demo/tools/make_goldens.py` (test resources). */
object Goldens {
    fun bytes(name: String): ByteArray {
        val stream = Goldens::class.java.classLoader.getResourceAsStream("goldens/$name")
            ?: throw AssertionError("missing golden file goldens/$name: run android_demo/tools/make_goldens.py")
        return stream.use { it.readBytes() }
    }

    fun text(name: String): String = decodeUtf8(bytes(name))

    @Suppress("UNCHECKED_CAST")
    fun json(name: String): Map<String, Any?> = Json.parse(text(name)) as Map<String, Any?>

    val manifest: Manifest by lazy { parseManifest(text(MANIFEST_FILE), "goldens/$MANIFEST_FILE", "goldens") }

    fun tokenizer(side: String): WordPieceTokenizer {
        val file = manifest.path("${side}_vocabulary").substringAfterLast('/')
        return WordPieceTokenizer.fromBytes(bytes(file), "goldens/$file")
    }
}

@Suppress("UNCHECKED_CAST")
fun Any?.asMap(): Map<String, Any?> = this as Map<String, Any?>

@Suppress("UNCHECKED_CAST")
fun Any?.asList(): List<Any?> = this as List<Any?>

fun Any?.asInts(): List<Int> = asList().map { (it as Long).toInt() }
