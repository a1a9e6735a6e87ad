package edgezoo.ondevice

/*
 * Greedy and beam search over any encoder-decoder with explicit state (mirrors
 * `ondevice/search.py`).
 *
 * The searches drive a [DecoderState] ([Decoder.start]): `state.step(token)` once per position,
 * `state.select(rows)` to reorder beams and to drop sentences that are finished, so a finished
 * sentence costs nothing in later steps. The app's LiteRT model makes a [BufferDecoderState]
 * (buffers fed to the interpreter); a [StepModel] (the golden tests replay the Python runtime's
 * recorded steps through one) an [ArrayDecoderState]. Both sides run the same algorithm and
 * are compared call for call.
 *
 * No search ever generates the start token or the padding token: their scores are -inf before a
 * token is chosen (after the log-softmax in beam search), as in Python ([neverGenerated]).
 */
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

/** The token ids no search generates (`ondevice.search.never_generated`). */
fun neverGenerated(startId: Int, padId: Int): IntArray = sortedSetOf(startId, padId).toIntArray()

/** A copy of [logits] with the columns [ids] set to -inf (`ondevice.search.suppress`). */
fun suppress(logits: Logits, ids: IntArray): Logits {
    val values = logits.values.copyOf()
    for (row in 0 until logits.rows) for (id in ids) values[row * logits.vocab + id] = Float.NEGATIVE_INFINITY
    return Logits(logits.rows, logits.vocab, values)
}

/**
 * Decode one token per unfinished sentence per step (greedy, sampling), as
 * `ondevice.search.generate_tokens`.
 *
 * After every step [onStep] gets `(sentences, tokens)`: the indices (into [sourceIds]) of the
 * sentences that got a token this step and those tokens. A sentence whose token is [endId] is
 * finished and leaves the batch (the end token is not reported).
 *
 * @param model makes the decoding state.
 * @param sourceIds (batch, src) ids.
 * @param startId first decoder token.
 * @param endId end-of-sentence token; null: never.
 * @param maxSteps most decode steps.
 * @param choose picks one token per row from the step's logits (-inf for start and padding).
 * @param padId the padding token.
 */
fun generateTokens(
    model: Decoder,
    sourceIds: Array<IntArray>,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    choose: (Logits) -> IntArray,
    padId: Int = 0,
    onStep: (sentences: IntArray, tokens: IntArray) -> Unit
) {
    val never = neverGenerated(startId, padId)
    val batch = sourceIds.size
    val state = model.start(sourceIds, maxSteps)
    try {
        var sentences = IntArray(batch) { it } // the sentence of each row of the state
        var token = IntArray(batch) { startId }
        for (step in 0 until maxSteps) {
            token = choose(suppress(state.step(token), never))
            val keep = token.indices.filter { endId == null || token[it] != endId }.toIntArray()
            val tokens = token
            val rows = sentences
            onStep(IntArray(keep.size) { rows[keep[it]] }, IntArray(keep.size) { tokens[keep[it]] })
            if (keep.size < token.size) {
                if (keep.isEmpty()) break
                state.select(keep)
                sentences = IntArray(keep.size) { rows[keep[it]] }
                token = IntArray(keep.size) { tokens[keep[it]] }
            }
        }
    } finally {
        state.close()
    }
}

/** The argmax token of each row of [logits] (`np.argmax`: the first maximum). */
fun argmaxTokens(logits: Logits): IntArray =
    IntArray(logits.rows) { argmax(logits.values, it * logits.vocab, logits.vocab) }

/**
 * Decode the argmax token at each step until [endId] or [maxSteps]; finished sentences leave
 * the batch.
 *
 * @param model makes the decoding state.
 * @param sourceIds (batch, src) ids, 0-padded.
 * @param startId first decoder token.
 * @param endId sentences stop at this token (not returned); null: never.
 * @param maxSteps most decode steps (tokens generated).
 * @param padId the padding token (never generated).
 * @return per sentence, the generated token ids without start/end.
 */
fun greedySearch(
    model: Decoder,
    sourceIds: Array<IntArray>,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    padId: Int = 0
): List<List<Int>> {
    val outputs = List(sourceIds.size) { ArrayList<Int>() }
    generateTokens(model, sourceIds, startId, endId, maxSteps, ::argmaxTokens, padId) { sentences, tokens ->
        for (i in sentences.indices) outputs[sentences[i]].add(tokens[i])
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

/** When a sentence of a beam search is done (`beam_search(stop=...)`). */
enum class BeamStop(val pythonName: String) {
    /**
     * Once its best finished hypothesis scores at least as well as every live one would if it
     * ended at the next step (exact with length penalty 0, the usual heuristic otherwise).
     */
    EARLY("early"),

    /** Once it has `beamSize` finished hypotheses. */
    FAIRSEQ("fairseq");

    companion object {
        /** The rule called [name] in Python (`"early"`, `"fairseq"`). */
        fun of(name: String): BeamStop = values().firstOrNull { it.pythonName == name }
            ?: throw IllegalArgumentException(
                "unknown beam stop rule ${pyRepr(name)}; choose from ${values().joinToString(", ") { it.pythonName }}"
            )
    }
}

/**
 * Beam search with length normalization, as `ondevice.search.beam_search`.
 *
 * Each sentence keeps [beamSize] live hypotheses. Candidates are the top `2 * beamSize`
 * extensions of all live beams (exact ties: lower beam, then lower token first); one ending in
 * [endId] (among the top [beamSize]) becomes a finished hypothesis, the rest refill the live
 * beams. The winner maximizes `sum log p / length ** lengthPenalty` (length counts the end
 * token). A sentence is done by the [stop] rule, or when no live hypothesis remains; a sentence
 * that is done leaves the batch. At [maxSteps] the live hypotheses count as finished. States
 * are reordered along their manifest batch axis; memory is tiled once per sentence.
 *
 * @return per sentence, the best hypothesis' token ids (no start/end).
 */
fun beamSearch(
    model: Decoder,
    sourceIds: Array<IntArray>,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    beamSize: Int = 5,
    lengthPenalty: Double = 1.0,
    stop: BeamStop = BeamStop.EARLY,
    padId: Int = 0
): List<List<Int>> {
    val state = model.start(sourceIds, maxSteps)
    try {
        return beamSearch(state, sourceIds.size, beamSize, startId, endId, maxSteps, lengthPenalty, stop, padId)
    } finally {
        state.close()
    }
}

private class Hypothesis(val score: Double, val tokens: List<Int>)

private fun beamSearch(
    state: DecoderState,
    batch: Int,
    k: Int,
    startId: Int,
    endId: Int?,
    maxSteps: Int,
    lengthPenalty: Double,
    stop: BeamStop,
    padId: Int
): List<List<Int>> {
    val never = neverGenerated(startId, padId)
    state.select(IntArray(batch * k) { it / k }) // sentence-major: row = sentence * k + beam
    var active = IntArray(batch) { it } // sentences still in the state, in row-block order
    var scores = Array(batch) { DoubleArray(k) { Double.NEGATIVE_INFINITY }.also { it[0] = 0.0 } } // one start beam
    var history = Array(batch) { Array(k) { IntArray(0) } }
    var token = IntArray(batch * k) { startId }
    val finished = List(batch) { ArrayList<Hypothesis>() } // normalized score, tokens

    fun normalize(score: Double, length: Int): Double =
        if (lengthPenalty != 0.0) score / Math.pow(length.toDouble(), lengthPenalty) else score

    for (step in 0 until maxSteps) {
        val n = active.size
        val logits = state.step(token)
        val vocab = logits.vocab
        val newScores = Array(n) { DoubleArray(k) { Double.NEGATIVE_INFINITY } }
        val newTokens = Array(n) { IntArray(k) }
        val parents = Array(n) { IntArray(k) }
        val done = BooleanArray(n)
        for (a in 0 until n) {
            val b = active[a]
            val candidates = DoubleArray(k * vocab)
            for (beam in 0 until k) {
                val logProbs = logSoftmax(logits.values, (a * k + beam) * vocab, vocab)
                for (id in never) logProbs[id] = Double.NEGATIVE_INFINITY
                for (v in 0 until vocab) candidates[beam * vocab + v] = scores[a][beam] + logProbs[v]
            }
            val top = topIndices(candidates, minOf(2 * k, k * vocab)) // best first
            var alive = 0
            for ((rank, index) in top.withIndex()) {
                val beam = index / vocab
                val tok = index % vocab
                val score = candidates[index]
                if (score.isNaN() || score.isInfinite()) break
                if (endId != null && tok == endId) {
                    if (rank < k) {
                        val hyp = history[a][beam].toList()
                        finished[b].add(Hypothesis(normalize(score, hyp.size + 1), hyp))
                    }
                    continue
                }
                newScores[a][alive] = score
                newTokens[a][alive] = tok
                parents[a][alive] = beam
                alive++
                if (alive == k) break
            }
            if (stop == BeamStop.FAIRSEQ) {
                done[a] = finished[b].size >= k
            } else if (finished[b].isNotEmpty()) {
                var best = finished[b][0].score // Python's max(): the first maximum
                for (h in finished[b]) if (h.score > best) best = h.score
                var reachable = Double.NEGATIVE_INFINITY
                for (j in 0 until alive) reachable = npMax(reachable, normalize(newScores[a][j], step + 2), j == 0)
                done[a] = best >= reachable
            }
            if (alive == 0) done[a] = true
        }
        history = Array(n) { a -> Array(k) { j -> history[a][parents[a][j]] + newTokens[a][j] } }
        val keep = (0 until n).filter { !done[it] }.toIntArray()
        val kept = active
        active = IntArray(keep.size) { kept[keep[it]] }
        scores = Array(keep.size) { newScores[keep[it]] }
        history = Array(keep.size) { history[keep[it]] }
        if (step == maxSteps - 1 || keep.isEmpty()) break
        val rows = IntArray(keep.size * k) { keep[it / k] * k + parents[keep[it / k]][it % k] }
        val memoryRows = IntArray(keep.size * k) { keep[it / k] * k + it % k }
        state.select(rows, memoryRows)
        token = IntArray(keep.size * k) { newTokens[keep[it / k]][it % k] }
    }

    val remaining = HashMap<Int, Int>()
    for ((a, b) in active.withIndex()) remaining[b] = a
    val results = ArrayList<List<Int>>()
    for (b in 0 until batch) {
        val hyps = ArrayList(finished[b])
        val a = remaining[b]
        if (a != null) { // ran out of steps: live beams count as finished
            for (beam in 0 until k) {
                val s = scores[a][beam]
                if (!s.isNaN() && !s.isInfinite()) hyps.add(Hypothesis(normalize(s, history[a][beam].size), history[a][beam].toList()))
            }
        }
        var best = Hypothesis(0.0, emptyList())
        if (hyps.isNotEmpty()) {
            best = hyps[0]
            for (h in hyps) if (h.score > best.score) best = h // Python's max(): the first maximum
        }
        results.add(best.tokens)
    }
    return results
}

/** `np.max` of an array, accumulated: NaN wins; [first] starts the accumulation at [x]. */
private fun npMax(m: Double, x: Double, first: Boolean): Double = when {
    first -> x
    m.isNaN() || x.isNaN() -> Double.NaN
    else -> maxOf(m, x)
}
