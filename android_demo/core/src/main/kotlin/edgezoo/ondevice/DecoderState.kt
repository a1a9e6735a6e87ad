package edgezoo.ondevice

/*
 * Decoding state: what a search holds between two steps of one batch (mirrors
 * `ondevice/decoder_state.py`).
 *
 * A search starts a state from source ids ([Decoder.start]) and then only calls, once per
 * generated position:
 *
 * - `logits = state.step(token)`: run the decoder for position [DecoderState.length]
 *   (one token per row -> logits (rows, vocab)) and update the state the way the manifest says:
 *   a `replace` state takes the step's output, an `append` state (a K/V cache) gets the step's
 *   row written at index `length` along its `time_axis`;
 * - `state.select(rows, memoryRows)`: keep only these rows, in this order (beam reordering,
 *   finished sentences leaving the batch); memory tensors follow `memoryRows` (default `rows`),
 *   which beam search sets to whole sentences since beams of one sentence share their memory.
 *
 * [ArrayDecoderState] implements this over any [StepModel] (tensors held in [Tensor]s): the
 * replayed goldens, test doubles. The app's LiteRT model uses [BufferDecoderState], whose
 * buffers are fed to the interpreter and of which a step writes only the new rows.
 */

/** Logits of one step: [rows] rows of [vocab] float32 values, row-major. */
class Logits(val rows: Int, val vocab: Int, val values: FloatArray) {
    init {
        require(values.size == rows * vocab) { "${values.size} logits do not make $rows rows of $vocab" }
    }
}

/** The decoding state of one batch (see the file comment). Not thread safe. */
interface DecoderState : AutoCloseable {
    /** Positions decoded so far (the `step` of the next [step]). */
    val length: Int

    /** Rows currently decoded. */
    val batchSize: Int

    /** Decode position [length] for one token per row; returns logits (rows, vocab). */
    fun step(token: IntArray): Logits

    /**
     * Keep [rows] of every state (in this order, repeats allowed) and [memoryRows] (default
     * [rows]) of every memory tensor.
     */
    fun select(rows: IntArray, memoryRows: IntArray? = null)

    /** Release what the state holds (idempotent). */
    override fun close()
}

/** Anything a search can decode with: makes a [DecoderState] for a batch of sources. */
interface Decoder {
    /**
     * A decoding state for (batch, src) [sourceIds].
     *
     * @param maxSteps most steps that will be run (cache capacity where the state needs one).
     */
    fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState
}

/**
 * An encoder-decoder run one decoder position at a time, with the tensors passed in and out
 * of each call (the Python *step model*). Decoded through an [ArrayDecoderState].
 */
interface StepModel : Decoder {
    /** The memory and state tensors passed from `encode` to `decode_step` (manifest order). */
    val decoderTensors: List<TensorInfo>

    /** Run `encode` on a (batch, src) block of ids; returns memory + initial `replace` states. */
    fun encode(sourceIds: Array<IntArray>): Map<String, Tensor>

    /**
     * Run one `decode_step` for one token per row; returns [LOGITS] (rows, vocab) and, under
     * the inputs' names, the whole next value of each `replace` state and this position's row
     * (size 1 along the time axis) of each `append` state.
     */
    fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor>

    override fun start(sourceIds: Array<IntArray>, maxSteps: Int): DecoderState =
        ArrayDecoderState(this, sourceIds, maxSteps)
}

/** The key of the logits in a [StepModel.decodeStep] result. */
const val LOGITS = "logits"

/** A zero buffer for an append state: its manifest shape with this batch and cache length. */
internal fun appendBuffer(t: TensorInfo, batch: Int, capacity: Int): Tensor {
    val shape = IntArray(t.shape.size) { t.shape[it] }
    shape[t.batchAxis ?: throw ArtifactError("manifest.json: state '${t.name}' has no batch_axis")] = batch
    shape[t.timeAxis!!] = capacity
    if (shape.any { it < 0 }) {
        throw ArtifactError("state '${t.name}' has an unknown dimension besides batch and time: ${t.shape}")
    }
    return Tensor.zeros(DType.of(t.dtype), shape)
}

/**
 * A decoding state held in [Tensor]s, for any [StepModel] (`ondevice.decoder_state.ArrayDecoderState`).
 *
 * @param model the step model.
 * @param sourceIds (batch, src) ids for [StepModel.encode].
 * @param maxSteps capacity of append states along their time axis.
 */
class ArrayDecoderState(
    private val model: StepModel,
    sourceIds: Array<IntArray>,
    maxSteps: Int
) : DecoderState {
    override var length = 0
        private set
    override var batchSize = sourceIds.size
        private set

    /** The memory and state tensors by name (what the next step is fed). */
    val tensors = LinkedHashMap<String, Tensor>()

    init {
        val encoded = model.encode(sourceIds)
        for (t in model.decoderTensors) {
            tensors[t.name] = if (t.isAppend) {
                appendBuffer(t, batchSize, maxSteps)
            } else {
                encoded[t.name] ?: throw ArtifactError("encode did not produce '${t.name}'")
            }
        }
    }

    override fun close() = Unit

    override fun step(token: IntArray): Logits {
        val out = LinkedHashMap(model.decodeStep(token, length, tensors))
        val logits = out.remove(LOGITS) ?: throw ArtifactError("decode_step returned no '$LOGITS' (got ${out.keys})")
        for (t in model.decoderTensors) {
            val value = out[t.name]
            if (t.role != "state" || value == null) continue
            if (t.timeAxis == null) {
                tensors[t.name] = value
            } else {
                tensors.getValue(t.name).setSlice(t.timeAxis, length, value)
            }
        }
        length++
        val vocab = logits.shape.last()
        return Logits(logits.shape[0], vocab, logits.toFloatArray())
    }

    override fun select(rows: IntArray, memoryRows: IntArray?) {
        for (t in model.decoderTensors) {
            val chosen = if (t.role == "state") rows else memoryRows ?: rows
            val axis = t.batchAxis ?: throw ArtifactError("manifest.json: ${t.role} tensor '${t.name}' has no batch_axis")
            tensors[t.name] = tensors.getValue(t.name).take(chosen, axis)
        }
        batchSize = rows.size
    }
}
