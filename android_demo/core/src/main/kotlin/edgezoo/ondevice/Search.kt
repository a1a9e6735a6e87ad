package edgezoo.ondevice

/*
 * Greedy and beam search over any encoder-decoder with explicit state (mirrors
 * `ondevice/search.py`).
 *
 * A [StepModel] has `encode(sourceIds) -> tensors`, `decodeStep(token, step, tensors)` (returning
 * `"logits"` and the next state) and `decoderTensors`: the manifest's memory and state tensors
 * with their batch axis. The app's LiteRT model is one; the golden tests replay the Python
 * runtime's recorded steps through another, so both sides run the same algorithm and are
 * compared call for call.
 */

/** The key of the logits in a [StepModel.decodeStep] result. */
const val LOGITS = "logits"

/** An encoder-decoder run one decoder position at a time. */
interface StepModel {
    /** The memory and state tensors passed from `encode` to `decode_step` (manifest order). */
    val decoderTensors: List<TensorInfo>

    /** Run `encode` on a (batch, src) block of ids; returns memory + initial state. */
    fun encode(sourceIds: Array<IntArray>): Map<String, Tensor>

    /** Run one `decode_step` for one token per row; returns [LOGITS] (rows, vocab) and the next state. */
    fun decodeStep(token: IntArray, step: Int, tensors: Map<String, Tensor>): Map<String, Tensor>
}

/**
 * numpy's pairwise summation (`np.add.reduce` over a contiguous float64 row), so that the sums
 * of the log-softmax match the Python runtime's bit for bit where `exp` does.
 */
internal fun pairwiseSum(a: DoubleArray, start: Int, n: Int): Double {
    if (n < 8) {
        var res = 0.0
        for (i in 0 until n) res += a[start + i]
        return res
    } else if (n <= 128) {
        val r = DoubleArray(8) { a[start + it] }
        var i = 8
        while (i < n - (n % 8)) {
            for (j in 0 until 8) r[j] += a[start + i + j]
            i += 8
        }
        var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while (i < n) {
            res += a[start + i]
            i++
        }
        return res
    }
    var n2 = n / 2
    n2 -= n2 % 8
    return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2)
}

/** Log-softmax of `logits[offset until offset + length]`, in float64 like the Python runtime. */
fun logSoftmax(logits: FloatArray, offset: Int = 0, length: Int = logits.size): DoubleArray {
    val out = DoubleArray(length)
    var max = Double.NEGATIVE_INFINITY
    var nan = false
    for (i in 0 until length) {
        val v = logits[offset + i].toDouble()
        out[i] = v
        if (v.isNaN()) nan = true else if (v > max) max = v
    }
    if (nan) max = Double.NaN
    for (i in 0 until length) out[i] = out[i] - max
    val exps = DoubleArray(length) { Math.exp(out[it]) }
    val logSum = Math.log(pairwiseSum(exps, 0, length))
    for (i in 0 until length) out[i] = out[i] - logSum
    return out
}

/** `np.argmax` of a row: the first maximum; the first NaN if there is one. */
internal fun argmax(values: FloatArray, offset: Int, length: Int): Int {
    var best = 0
    var bestValue = values[offset]
    if (bestValue.isNaN()) return 0
    for (i in 1 until length) {
        val v = values[offset + i]
        if (v.isNaN()) return i
        if (v > bestValue) {
            best = i
            bestValue = v
        }
    }
    return best
}

/** Gather [tensors] along each one's batch axis (beam reordering); other roles are kept. */
internal fun take(
    tensors: Map<String, Tensor>,
    decoderTensors: List<TensorInfo>,
    indices: IntArray,
    roles: Set<String> = setOf("state")
): MutableMap<String, Tensor> {
    val out = LinkedHashMap(tensors)
    for (t in decoderTensors) {
        val tensor = out[t.name]
        if (t.role in roles && tensor != null) {
            val axis = t.batchAxis ?: throw ArtifactError("manifest.json: ${t.role} tensor '${t.name}' has no batch_axis")
            out[t.name] = tensor.take(indices, axis)
        }
    }
    return out
}

private fun logitsOf(result: MutableMap<String, Tensor>): Tensor =
    result.remove(LOGITS) ?: throw ArtifactError("decode_step returned no '$LOGITS' (got ${result.keys})")

/**
 * Decode the argmax token at each step until [endId] or [maxSteps].
 *
 * @param model a [StepModel].
 * @param sourceIds (batch, src) ids, [padId]-padded.
 * @param startId first decoder token.
 * @param endId sentences stop at this token (not returned); null: never.
 * @param maxSteps most decode steps (tokens generated).
 * @param padId fed for sentences that already finished.
 * @return per sentence, the generated token ids without start/end.
 */
fun greedySearch(
    model: StepModel,
    sourceIds: Array<IntArray>,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    padId: Int = 0
): List<List<Int>> {
    val batch = sourceIds.size
    val tensors = LinkedHashMap(model.encode(sourceIds))
    var token = IntArray(batch) { startId }
    val done = BooleanArray(batch)
    val outputs = List(batch) { ArrayList<Int>() }
    for (step in 0 until maxSteps) {
        val result = LinkedHashMap(model.decodeStep(token, step, tensors))
        val logits = logitsOf(result)
        tensors.putAll(result)
        val vocab = logits.shape.last()
        val values = logits.toFloatArray()
        token = IntArray(batch) { argmax(values, it * vocab, vocab) }
        for (b in 0 until batch) {
            if (done[b]) continue
            if (endId != null && token[b] == endId) done[b] = true else outputs[b].add(token[b])
        }
        if (done.all { it }) break
        token = IntArray(batch) { if (done[it]) padId else token[it] }
    }
    return outputs
}

/** True if candidate ([a], index [ia]) ranks before ([b], [ib]): higher first, NaN last, ties by index. */
private fun ranksBefore(a: Double, ia: Int, b: Double, ib: Int): Boolean = when {
    a.isNaN() -> b.isNaN() && ia < ib
    b.isNaN() -> true
    a != b -> a > b
    else -> ia < ib
}

/** Indices of the [n] best [values], best first (exact ties: lower index first). */
internal fun topIndices(values: DoubleArray, n: Int): IntArray {
    val top = IntArray(n)
    var count = 0
    for (i in values.indices) {
        val v = values[i]
        if (count == n && !ranksBefore(v, i, values[top[n - 1]], top[n - 1])) continue
        var pos = if (count < n) count++ else n - 1
        while (pos > 0 && ranksBefore(v, i, values[top[pos - 1]], top[pos - 1])) {
            top[pos] = top[pos - 1]
            pos--
        }
        top[pos] = i
    }
    return top
}

/**
 * Beam search with length normalization (fairseq-style finishing), as `ondevice.search.beam_search`.
 *
 * Each sentence keeps [beamSize] live hypotheses. Candidates are the top `2 * beamSize`
 * extensions of all live beams; one ending in [endId] (among the top [beamSize]) becomes a
 * finished hypothesis, the rest refill the live beams. A sentence is done once it has
 * [beamSize] finished hypotheses; at [maxSteps] the live ones count as finished. The winner
 * maximizes `sum log p / length ** lengthPenalty` (length counts the end token). State tensors
 * are reordered along their manifest batch axis; memory tensors are only tiled once.
 *
 * @return per sentence, the best hypothesis' token ids (no start/end).
 */
fun beamSearch(
    model: StepModel,
    sourceIds: Array<IntArray>,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    beamSize: Int = 5,
    lengthPenalty: Double = 1.0
): List<List<Int>> {
    val batch = sourceIds.size
    val k = beamSize
    val tile = IntArray(batch * k) { it / k } // sentence-major: row = b * k + beam
    var tensors = take(model.encode(sourceIds), model.decoderTensors, tile, setOf("state", "memory"))
    var scores = Array(batch) { DoubleArray(k) { Double.NEGATIVE_INFINITY } }
    for (b in 0 until batch) scores[b][0] = 0.0 // all beams start identical: keep one
    var history = Array(batch) { Array(k) { IntArray(0) } }
    var token = IntArray(batch * k) { startId }
    val finished = List(batch) { ArrayList<Pair<Double, List<Int>>>() } // (normalized score, tokens)
    val done = BooleanArray(batch)

    fun normalize(score: Double, length: Int): Double =
        if (lengthPenalty != 0.0) score / Math.pow(length.toDouble(), lengthPenalty) else score

    for (step in 0 until maxSteps) {
        val result = LinkedHashMap(model.decodeStep(token, step, tensors))
        val logits = logitsOf(result)
        tensors.putAll(result)
        val vocab = logits.shape.last()
        val values = logits.toFloatArray()
        val nTop = minOf(2 * k, k * vocab)

        val newScores = Array(batch) { DoubleArray(k) { Double.NEGATIVE_INFINITY } }
        val newTokens = Array(batch) { IntArray(k) }
        val parents = Array(batch) { IntArray(k) }
        for (b in 0 until batch) {
            if (done[b]) continue
            val candidates = DoubleArray(k * vocab)
            for (beam in 0 until k) {
                val logProbs = logSoftmax(values, (b * k + beam) * vocab, vocab)
                for (v in 0 until vocab) candidates[beam * vocab + v] = scores[b][beam] + logProbs[v]
            }
            val top = topIndices(candidates, nTop) // best first
            var alive = 0
            for ((rank, index) in top.withIndex()) {
                val beam = index / vocab
                val tok = index % vocab
                val score = candidates[index]
                if (score.isNaN() || score.isInfinite()) break
                if (endId != null && tok == endId) {
                    if (rank < k) {
                        val hyp = history[b][beam].toList()
                        finished[b].add(Pair(normalize(score, hyp.size + 1), hyp))
                    }
                    continue
                }
                newScores[b][alive] = score
                newTokens[b][alive] = tok
                parents[b][alive] = beam
                alive++
                if (alive == k) break
            }
            if (finished[b].size >= k) done[b] = true
        }
        if (done.all { it }) break
        val rows = IntArray(batch * k) { b -> (b / k) * k + parents[b / k][b % k] }
        tensors = take(tensors, model.decoderTensors, rows)
        history = Array(batch) { b -> Array(k) { j -> history[b][parents[b][j]] + newTokens[b][j] } }
        scores = Array(batch) { b -> DoubleArray(k) { j -> if (done[b]) Double.NEGATIVE_INFINITY else newScores[b][j] } }
        token = IntArray(batch * k) { newTokens[it / k][it % k] }
    }

    val results = ArrayList<List<Int>>()
    for (b in 0 until batch) {
        val hyps = ArrayList(finished[b])
        if (!done[b]) { // ran out of steps: live beams count as finished
            for (beam in 0 until k) {
                val s = scores[b][beam]
                if (!s.isNaN() && !s.isInfinite()) {
                    hyps.add(Pair(normalize(s, history[b][beam].size), history[b][beam].toList()))
                }
            }
        }
        var best: Pair<Double, List<Int>> = Pair(0.0, emptyList())
        if (hyps.isNotEmpty()) {
            best = hyps[0]
            for (h in hyps) if (h.first > best.first) best = h
        }
        results.add(best.second)
    }
    return results
}
