package edgezoo.demo

import edgezoo.ondevice.ArtifactError
import edgezoo.ondevice.DType
import edgezoo.ondevice.Manifest
import edgezoo.ondevice.StepModel
import edgezoo.ondevice.Tensor
import edgezoo.ondevice.TensorInfo
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter

/**
 * The `encode` / `decode_step` signatures of a converted model, run by the LiteRT interpreter
 * (the app's twin of `ondevice/litert_model.py`).
 *
 * Every call goes through [Interpreter.runSignature] by signature and tensor name, as the
 * manifest describes them. Inputs whose shape changed since the last call (a new batch size or
 * source length) are passed as Java arrays, from which the interpreter resizes the signature's
 * input; unchanged shapes are passed as direct buffers (no copy per element). Outputs are read
 * after the run from the signature's output tensors, whose shapes are dynamic.
 *
 * Not thread safe: one interpreter's signature runners must not run concurrently, so the app
 * calls it from a single background thread.
 *
 * @param manifest the artifact's validated manifest.
 * @param model the `.tflite` bytes: a direct buffer in native order or a mapped file.
 * @param numThreads CPU threads for the kernels.
 */
class LiteRTStepModel(manifest: Manifest, model: ByteBuffer, numThreads: Int) : StepModel, AutoCloseable {
    private val interpreter: Interpreter = try {
        Interpreter(model, Interpreter.Options().setNumThreads(numThreads))
    } catch (e: IllegalArgumentException) {
        throw ArtifactError("${manifest.path("model_file")}: not a loadable .tflite model: ${firstLine(e)}")
    } catch (e: IllegalStateException) {
        throw ArtifactError("${manifest.path("model_file")}: not a loadable .tflite model: ${firstLine(e)}")
    }

    override val decoderTensors: List<TensorInfo> = manifest.decoderTensors()
    private val decodeInputs = manifest.tensors("decode_step", "inputs")
    private val tokenName = decodeInputs.first { it.role == "token" }.name
    private val step = decodeInputs.first { it.role == "step" }
    private val sourceName = manifest.tensors("encode", "inputs").first().name
    private val buffers = HashMap<String, ByteBuffer>()

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
        for (name in listOf("encode", "decode_step")) {
            if (name !in available) {
                interpreter.close()
                throw ArtifactError("model has no '$name' signature (has ${available.sorted()}); convert it with `zoo convert`")
            }
        }
        val expected = decodeInputs.map { it.name }.toSet()
        val actual = interpreter.getSignatureInputs("decode_step").toSet()
        if (expected != actual) {
            interpreter.close()
            throw ArtifactError("decode_step inputs in the model ${actual.sorted()} differ from manifest.json ${expected.sorted()}")
        }
    }

    fun resetCounters() {
        decodeSteps = 0
        decodeNanos = 0L
        encodeNanos = 0L
    }

    override fun encode(sourceIds: Array<IntArray>): Map<String, Tensor> {
        val start = System.nanoTime()
        // An int[batch][src] array: the interpreter resizes `source_ids` to its shape.
        interpreter.runSignature(mapOf<String, Any>(sourceName to sourceIds), HashMap(), "encode")
        val outputs = readOutputs("encode")
        encodeNanos += System.nanoTime() - start
        return outputs
    }

    override fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor> {
        val start = System.nanoTime()
        val feeds = HashMap<String, Any>()
        for (t in decoderTensors) {
            val tensor = tensors[t.name] ?: throw ArtifactError("encode did not produce '${t.name}'")
            feeds[t.name] = feed(t.name, tensor)
        }
        feeds[tokenName] = token // int[batch]: resized from the array's length
        feeds[this.step.name] = feed(this.step.name, scalar(step, this.step))
        interpreter.runSignature(feeds, HashMap(), "decode_step")
        val outputs = readOutputs("decode_step")
        decodeNanos += System.nanoTime() - start
        decodeSteps++
        return outputs
    }

    override fun close() = interpreter.close()

    private fun readOutputs(signature: String): Map<String, Tensor> {
        val out = LinkedHashMap<String, Tensor>()
        for (name in interpreter.getSignatureOutputs(signature)) {
            val tensor = interpreter.getOutputTensorFromSignature(name, signature)
            val buffer = tensor.asReadOnlyBuffer()
            buffer.rewind()
            val bytes = ByteArray(buffer.remaining())
            buffer.get(bytes)
            out[name] = Tensor(dtypeOf(tensor.dataType()), tensor.shape(), bytes)
        }
        return out
    }

    /** A direct buffer if [name]'s current input shape fits [tensor], else a resizing Java array. */
    private fun feed(name: String, tensor: Tensor): Any {
        val current = interpreter.getInputTensorFromSignature(name, "decode_step").shape()
        if (!current.contentEquals(tensor.shape)) return toJavaArray(tensor)
        var buffer = buffers[name]
        if (buffer == null || buffer.capacity() != tensor.data.size) {
            buffer = ByteBuffer.allocateDirect(tensor.data.size).order(ByteOrder.nativeOrder())
            buffers[name] = buffer
        }
        buffer!!.clear()
        buffer.put(tensor.data)
        buffer.rewind()
        return buffer
    }

    private fun scalar(value: Int, info: TensorInfo): Tensor {
        val dtype = DType.of(info.dtype)
        val data = ByteArray(dtype.size)
        val wrapped = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN)
        when (dtype) {
            DType.INT32 -> wrapped.putInt(value)
            DType.INT64 -> wrapped.putLong(value.toLong())
            DType.FLOAT32 -> wrapped.putFloat(value.toFloat())
            else -> throw ArtifactError("unsupported dtype ${info.dtype} for the '${info.name}' input")
        }
        return Tensor(dtype, IntArray(info.shape.size) { 1 }, data)
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
