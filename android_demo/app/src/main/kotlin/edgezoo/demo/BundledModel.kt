package edgezoo.demo

import android.content.res.AssetManager
import edgezoo.ondevice.ArtifactError
import edgezoo.ondevice.MANIFEST_FILE
import edgezoo.ondevice.Manifest
import edgezoo.ondevice.Translator
import edgezoo.ondevice.checkModelSha256
import edgezoo.ondevice.decodeUtf8
import edgezoo.ondevice.loadTokenizers
import edgezoo.ondevice.parseManifest
import java.io.FileInputStream
import java.io.FileNotFoundException
import java.io.IOException
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel
import java.security.MessageDigest

/**
 * A converted model directory bundled under `assets/models/NAME/` (see `copy_artifact.sh`),
 * loaded: manifest, LiteRT step model and translator.
 */
class BundledModel private constructor(
    val name: String,
    val manifest: Manifest,
    val model: LiteRTStepModel,
    val translator: Translator
) : AutoCloseable {

    /** `en` → `es` style languages from the manifest, if it records them. */
    fun languages(): Pair<String, String> {
        val languages = manifest.data["languages"] as? Map<*, *>
        return Pair(languages?.get("source") as? String ?: "?", languages?.get("target") as? String ?: "?")
    }

    override fun close() = model.close()

    companion object {
        const val ROOT = "models"

        /** Names of the bundled model directories (those holding a manifest), sorted. */
        fun list(assets: AssetManager): List<String> {
            val names = try {
                assets.list(ROOT)?.toList() ?: emptyList()
            } catch (e: IOException) {
                emptyList<String>()
            }
            return names.filter { name ->
                try {
                    assets.list("$ROOT/$name")?.contains(MANIFEST_FILE) == true
                } catch (e: IOException) {
                    false
                }
            }.sorted()
        }

        /**
         * Load `assets/models/NAME`: validate the manifest, check the model's sha256, load the
         * tokenizers (WordPiece vocabularies, or SentencePiece models and vocabulary) and create
         * the interpreter. Every problem is an [ArtifactError] with a one-line message.
         */
        fun load(assets: AssetManager, name: String, numThreads: Int): BundledModel {
            val dir = "$ROOT/$name"
            val manifest = parseManifest(decode(readAsset(assets, "$dir/$MANIFEST_FILE"), "$dir/$MANIFEST_FILE"), "$dir/$MANIFEST_FILE", dir)
            val modelPath = manifest.path("model_file")
            val modelBuffer = mapAsset(assets, modelPath)
            checkModelSha256(manifest, sha256(modelBuffer), modelPath)
            // WordPiece vocabularies, or SentencePiece models + vocabulary, by the manifest's kind.
            val (source, target) = loadTokenizers(manifest.tokenizer, manifest.directory, manifest.specialTokens) { path ->
                readAsset(assets, path)
            }
            val model = LiteRTStepModel(manifest, modelBuffer, numThreads)
            val translator = Translator.fromManifest(manifest, model, source, target, batchSize = 8)
            return BundledModel(name, manifest, model, translator)
        }

        private fun decode(bytes: ByteArray, path: String): String = try {
            decodeUtf8(bytes)
        } catch (e: java.nio.charset.CharacterCodingException) {
            throw ArtifactError("$path: not valid JSON (not UTF-8)")
        }

        private fun readAsset(assets: AssetManager, path: String): ByteArray = try {
            assets.open(path).use { it.readBytes() }
        } catch (e: FileNotFoundException) {
            throw ArtifactError("$path is missing")
        } catch (e: IOException) {
            throw ArtifactError("$path: cannot be read (${e.message})")
        }

        /** The model file, memory-mapped (it is stored uncompressed) or else copied into a direct buffer. */
        private fun mapAsset(assets: AssetManager, path: String): ByteBuffer {
            try {
                assets.openFd(path).use { fd ->
                    FileInputStream(fd.fileDescriptor).use { stream ->
                        return stream.channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
                    }
                }
            } catch (e: FileNotFoundException) {
                // Missing, or compressed in the APK (openFd fails): read it instead.
            } catch (e: IOException) {
                // Same as above.
            }
            val bytes = readAsset(assets, path)
            return ByteBuffer.allocateDirect(bytes.size).order(ByteOrder.nativeOrder()).apply {
                put(bytes)
                rewind()
            }
        }

        private fun sha256(buffer: ByteBuffer): String {
            val digest = MessageDigest.getInstance("SHA-256")
            digest.update(buffer.duplicate())
            return digest.digest().joinToString("") { String.format("%02x", it) }
        }
    }
}
