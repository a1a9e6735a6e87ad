package edgezoo.demo

import edgezoo.ondevice.ArtifactError
import edgezoo.ondevice.BufferDecoderState
import edgezoo.ondevice.DType
import edgezoo.ondevice.DecodeSignatures
import edgezoo.ondevice.Decoder
import edgezoo.ondevice.DecoderState
import edgezoo.ondevice.Manifest
import edgezoo.ondevice.StepRunner
import edgezoo.ondevice.Tensor
import edgezoo.ondevice.TensorBuffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter

/**
 * A converted model run by the LiteRT interpreter (the app's twin of `ondevice/litert_model.py`):
 * the [StepRunner] under the core's [BufferDecoderState], which owns the decoding buffers, picks
 * the `decode_step` variant of each step (manifest `decode_signatures`, shortest cache first) and
 * writes only the new rows of each step.
 *
 * What the LiteRT Java API (`org.tensorflow.lite.Interpreter`, LiteRT 2.1) allows, and why the
 * buffers are the core's and not the interpreter's (as in the Python runtime):
 *
 * - There is no writable view of an input tensor: `Tensor.asReadOnlyBuffer()` is read-only and
 *   the writable buffer behind it is private. So the new K/V rows cannot be written into the
 *   interpreter's input memory; they are written into the state's own direct buffers, at their
 *   offset along the time axis.
 * - `runSignature(inputs, outputs, key)` copies every input it is given into the signature's
 *   input tensor: a direct buffer in native order with one `memcpy` of the whole tensor, a Java
 *   array element by element. So each step costs one `memcpy` per input (the whole caches and
 *   memory), and no per-element work in Java. Inputs left out keep their last value, but a
 *   signature that is the model's primary subgraph (here `decode_step`) must be given all of
 *   its inputs, so every step passes them all.
 * - An input is resized only from a Java array (a buffer of another size is refused), and
 *   `Interpreter.resizeInput` reaches only the primary subgraph. So after the state re-allocates
 *   its buffers (a new batch, the next cache variant), each input whose shape the interpreter does
 *   not have yet is passed once as a Java array of the new shape; later steps pass the buffers.
 * - Outputs are read after the run through `getOutputTensorFromSignature(name, key)
 *   .asReadOnlyBuffer()`, a view of the interpreter's memory (no copy); the core copies out only
 *   the logits rows it needs and the new state rows.
 *
 * Not thread safe: one interpreter must not run two signatures at once, so the app calls it from
 * a single background thread. (Decoding states do not hold the interpreter between steps: each
 * step feeds every input, so a state may be abandoned, or two interleaved, without harm.)
 *
 * @param manifest the artifact's validated manifest.
 * @param model the `.tflite` bytes: a direct buffer in native order or a mapped file.
 * @param numThreads CPU threads for the kernels.
 */
class LiteRTStepModel(manifest: Manifest, model: ByteBuffer, numThreads: Int) : Decoder, StepRunner, AutoCloseable {
    private val modelFile = manifest.path("model_file")

    private val interpreter: Interpreter = try {
        Interpreter(model, Interpreter.Options().setNumThreads(numThreads))
    } catch (e: IllegalArgumentException) {
        throw ArtifactError("${manifest.path("model_file")}: not a loadable .tflite model: ${firstLine(e)}")
    } catch (e: IllegalStateException) {
        throw ArtifactError("${manifest.path("model_file")}: not a loadable .tflite model: ${firstLine(e)}")
    }

    /** The decoding signatures the manifest describes. */
    val signatures: DecodeSignatures = try {
        DecodeSignatures(manifest)
    } catch (e: ArtifactError) {
        interpreter.close()
        throw e
    }

    /** Decode steps run and their time, since the last [resetCounters]. */
    var decodeSteps = 0
        private set
    var decodeNanos = 0L
        private set
    var encodeNanos = 0L
        private set

    init {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            interpreter.close()
            throw ArtifactError("this device is big-endian; the runtime expects little-endian tensors")
        }
        val available = interpreter.signatureKeys.toSet()
        for (name in listOf("encode") + signatures.variants.map { it.name }) {
            if (name !in available) {
                interpreter.close()
                throw ArtifactError("model has no '$name' signature (has ${available.sorted()}); convert it with `zoo convert`")
            }
        }
        for (variant in signatures.variants) {
            val expected = variant.inputs.map { it.name }.toSet()
            val actual = interpreter.getSignatureInputs(variant.name).toSet()
            if (expected != actual) {
                interpreter.close()
                throw ArtifactError("${variant.name} inputs in the model ${actual.sorted()} differ from manifest.json ${expected.sorted()}")
            }
        }
    }

    fun resetCounters() {
        decodeSteps = 0
        decodeNanos = 0L
        encodeNanos = 0L
    }

    /** Encode [sourceIds] and return a decoding state over the core's buffers. */
    override fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState =
        BufferDecoderState(signatures, this, sourceIds)

    override fun encode(sourceIds: Array<IntArray>): Map<String, TensorBuffer> {
        val start = System.nanoTime()
        // An int[batch][src] array: the interpreter resizes `source_ids` to its shape.
        run("encode") { interpreter.runSignature(mapOf<String, Any>(signatures.source.name to sourceIds), HashMap(), "encode") }
        val outputs = readOutputs("encode")
        encodeNanos += System.nanoTime() - start
        return outputs
    }

    override fun decode(signature: String, inputs: Map<String, TensorBuffer>): Map<String, TensorBuffer> {
        val start = System.nanoTime()
        val feeds = HashMap<String, Any>()
        for ((name, tensor) in inputs) {
            val current = interpreter.getInputTensorFromSignature(name, signature).shape()
            feeds[name] = if (current.contentEquals(tensor.shape)) {
                // Copied whole by one memcpy: a direct buffer in native (= little-endian) order,
                // read from index 0 (its capacity must be the tensor's size).
                tensor.buffer.duplicate().order(ByteOrder.nativeOrder()).also { it.clear() }
            } else {
                toJavaArray(tensor.toTensor()) // resizes the input to the buffer's new shape
            }
        }
        run(signature) { interpreter.runSignature(feeds, HashMap(), signature) }
        val outputs = readOutputs(signature)
        decodeNanos += System.nanoTime() - start
        decodeSteps++
        return outputs
    }

    override fun close() = interpreter.close()

    /**
     * Runs [block] (one signature call) and turns what the interpreter throws into an [ArtifactError]
     * naming the signature: kernels check values inside the file (quantization parameters, shapes)
     * only when they run, so a corrupt model can pass loading and fail here (mirrors
     * `ondevice/litert_model.py`).
     */
    private inline fun run(signature: String, block: () -> Unit) {
        try {
            block()
        } catch (e: ArtifactError) {
            throw e
        } catch (e: RuntimeException) {
            throw ArtifactError("$modelFile: signature '$signature' failed: ${firstLine(e)}")
        }
    }

    /** Every output of [signature] as a read-only view of the interpreter's memory (valid until the next run). */
    private fun readOutputs(signature: String): Map<String, TensorBuffer> {
        val out = LinkedHashMap<String, TensorBuffer>()
        for (name in interpreter.getSignatureOutputs(signature)) {
            val tensor = interpreter.getOutputTensorFromSignature(name, signature)
            val view = tensor.asReadOnlyBuffer().order(ByteOrder.nativeOrder())
            val dtype = dtypeOf(tensor.dataType())
            val shape = tensor.shape()
            if (shape.fold(1) { a, b -> a * b } * dtype.size != view.capacity()) {
                throw ArtifactError("$signature output '$name': shape ${shape.toList()} does not match its ${view.capacity()} bytes")
            }
            out[name] = TensorBuffer(dtype, shape, view)
        }
        return out
    }

    companion object {
        private fun firstLine(e: Exception): String =
            e.message?.trim()?.lineSequence()?.firstOrNull() ?: e.javaClass.simpleName

        private fun dtypeOf(type: DataType): DType = DType.of(type.name.lowercase())

        /** A Java array of [tensor]'s shape and element type (what the interpreter resizes from). */
        fun toJavaArray(tensor: Tensor): Any {
            val data = ByteBuffer.wrap(tensor.data).order(ByteOrder.LITTLE_ENDIAN)
            val component: Class<*> = when (tensor.dtype) {
                DType.FLOAT32 -> java.lang.Float.TYPE
                DType.INT32 -> Integer.TYPE
                DType.INT64 -> java.lang.Long.TYPE
                DType.INT16 -> java.lang.Short.TYPE
                DType.INT8, DType.UINT8 -> java.lang.Byte.TYPE
                DType.BOOL -> java.lang.Boolean.TYPE
                DType.FLOAT16 -> throw ArtifactError("float16 inputs are not supported by the Java interpreter API")
            }
            val shape = tensor.shape
            if (shape.isEmpty()) {
                return when (tensor.dtype) {
                    DType.FLOAT32 -> data.float
                    DType.INT64 -> data.long
                    else -> data.int
                }
            }
            val array = java.lang.reflect.Array.newInstance(component, *shape)
            fill(array, 0, shape, tensor.dtype, data)
            return array
        }

        private fun fill(array: Any, depth: Int, shape: IntArray, dtype: DType, data: ByteBuffer) {
            if (depth < shape.size - 1) {
                for (i in 0 until shape[depth]) fill(java.lang.reflect.Array.get(array, i), depth + 1, shape, dtype, data)
                return
            }
            when (array) {
                is FloatArray -> for (i in array.indices) array[i] = data.float
                is IntArray -> for (i in array.indices) array[i] = data.int
                is LongArray -> for (i in array.indices) array[i] = data.long
                is ShortArray -> for (i in array.indices) array[i] = data.short
                is ByteArray -> for (i in array.indices) array[i] = data.get()
                is BooleanArray -> for (i in array.indices) array[i] = data.get().toInt() != 0
                else -> throw ArtifactError("cannot feed a ${dtype.manifestName} tensor")
            }
        }
    }
}
