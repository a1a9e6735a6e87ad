/**
 * Greedy and beam search over any encoder-decoder with explicit state (mirrors
 * `ondevice/search.py`, as the Kotlin core's `Search.kt` does).
 *
 * The searches drive a decoding state (decoder_state.js, `startDecoding`):
 * `await state.step(tokens)` once per position, `await state.select(rows)` to reorder beams and
 * to drop sentences that are finished, so a finished sentence costs nothing in later steps.
 * Every call is awaited: the LiteRT.js runtime runs its signatures asynchronously, so the
 * searches are `async` (and `generateTokens` an async generator).
 *
 * No search ever generates the start token or the padding token: their scores are -inf before
 * a token is chosen (after the log-softmax in beam search), as in Python (`neverGenerated`).
 *
 * Numbers as in Python: log-softmax in float64 with numpy's pairwise summation, `np.argmax`'s
 * first maximum, and beam candidates ranked best first with exact ties going to the lower
 * (beam, token) index, so every runtime picks the same hypotheses.
 */

import { ValueError } from './errors.js';
import { Logits, startDecoding } from './decoder_state.js';
import { pyRepr } from './python.js';

export const BEAM_STOP_RULES = ['early', 'fairseq'];

/**
 * numpy's pairwise summation (`np.add.reduce` over a contiguous float64 row), so that the sums
 * of the log-softmax match the Python runtime's bit for bit where `exp` does.
 */
export function pairwiseSum(a, start, n) {
  if (n < 8) {
    let res = 0.0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])); // prettier-ignore
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * Log-softmax of `logits[offset .. offset + length)` in float64, like the Python runtime's
 * `log_softmax` (same operations: subtract the max, subtract the log of the pairwise sum of
 * the exps).
 *
 * @returns {Float64Array}
 */
export function logSoftmax(logits, offset = 0, length = logits.length - offset) {
  const out = new Float64Array(length);
  let max = -Infinity;
  let nan = false;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i];
    out[i] = v;
    if (Number.isNaN(v)) nan = true;
    else if (v > max) max = v;
  }
  if (nan) max = NaN;
  const exps = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    out[i] -= max;
    exps[i] = Math.exp(out[i]);
  }
  const logSum = Math.log(pairwiseSum(exps, 0, length));
  for (let i = 0; i < length; i++) out[i] -= logSum;
  return out;
}

/** `np.argmax` of a row: the first maximum; the first NaN if there is one. */
export function argmax(values, offset = 0, length = values.length - offset) {
  let best = 0;
  let bestValue = values[offset];
  if (Number.isNaN(bestValue)) return 0;
  for (let i = 1; i < length; i++) {
    const v = values[offset + i];
    if (Number.isNaN(v)) return i;
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** The argmax token of each row of `logits` (`argmax_tokens`). */
export function argmaxTokens(logits) {
  const out = new Int32Array(logits.rows);
  for (let r = 0; r < logits.rows; r++) out[r] = argmax(logits.values, r * logits.vocab, logits.vocab);
  return out;
}

/** The token ids no search generates (`never_generated`): sorted, without repeats. */
export function neverGenerated(startId, padId) {
  return [...new Set([Number(startId), Number(padId)])].sort((a, b) => a - b);
}

/** A copy of `logits` with the columns `ids` set to -inf (`suppress`). */
export function suppress(logits, ids) {
  const values = new logits.values.constructor(logits.values);
  for (let row = 0; row < logits.rows; row++) {
    for (const id of ids) values[row * logits.vocab + id] = -Infinity;
  }
  return new Logits(logits.rows, logits.vocab, values);
}

function isNoneId(id) {
  return id === null || id === undefined;
}

/**
 * Decode one token per unfinished sentence per step (greedy, sampling), as
 * `ondevice.search.generate_tokens`.
 *
 * An async generator: after every step it yields `[sentences, tokens]`, the indices (into
 * `sourceIds`) of the sentences that got a token this step and those tokens (Int32Arrays); a
 * sentence whose token is `endId` is finished and leaves the batch (the end token is not
 * yielded). The state is closed when the generator ends or is left early.
 *
 * @param model a step model, or a model with its own `start` (decoder_state.js).
 * @param {number[][]} sourceIds (batch, src) ids, padded.
 * @param {number} startId first decoder token.
 * @param {number|null} endId end-of-sentence token; null: never.
 * @param {number} maxSteps most decode steps.
 * @param {(logits: Logits) => Int32Array} choose one token per row (it sees -inf for the
 *     start and padding tokens); may return a promise.
 * @param {number} padId the padding token.
 */
export async function* generateTokens(model, sourceIds, startId, endId, maxSteps, choose, padId = 0) {
  const never = neverGenerated(startId, padId);
  const batch = sourceIds.length;
  const state = await startDecoding(model, sourceIds, maxSteps);
  try {
    let sentences = Int32Array.from({ length: batch }, (_, i) => i); // the sentence of each row
    let token = new Int32Array(batch).fill(startId);
    for (let step = 0; step < maxSteps; step++) {
      token = Int32Array.from(await choose(suppress(await state.step(token), never)));
      const keep = [];
      for (let i = 0; i < token.length; i++) if (isNoneId(endId) || token[i] !== endId) keep.push(i);
      const rows = sentences;
      const tokens = token;
      yield [Int32Array.from(keep, (i) => rows[i]), Int32Array.from(keep, (i) => tokens[i])];
      if (keep.length < token.length) {
        if (!keep.length) break;
        await state.select(keep);
        sentences = Int32Array.from(keep, (i) => rows[i]);
        token = Int32Array.from(keep, (i) => tokens[i]);
      }
    }
  } finally {
    await state.close();
  }
}

/**
 * Decode the argmax token at each step until `endId` or `maxSteps`; finished sentences leave
 * the batch (`greedy_search`).
 *
 * @returns {Promise<number[][]>} per sentence, the generated token ids without start/end.
 */
export async function greedySearch(model, sourceIds, startId, endId, maxSteps, padId = 0) {
  const outputs = sourceIds.map(() => []);
  for await (const [sentences, tokens] of generateTokens(model, sourceIds, startId, endId, maxSteps, argmaxTokens, padId)) {
    sentences.forEach((b, i) => outputs[b].push(tokens[i]));
  }
  return outputs;
}

/** True if candidate (`a`, index `ia`) ranks before (`b`, `ib`): higher first, NaN last, ties by index. */
function ranksBefore(a, ia, b, ib) {
  if (Number.isNaN(a)) return Number.isNaN(b) && ia < ib;
  if (Number.isNaN(b)) return true;
  if (a !== b) return a > b;
  return ia < ib;
}

/**
 * Indices of the `n` best `values`, best first; exact ties go to the lower index (Python's
 * `_top_candidates`, one row).
 */
export function topIndices(values, n) {
  const top = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (count === n && !ranksBefore(v, i, values[top[n - 1]], top[n - 1])) continue;
    let pos = count < n ? count++ : n - 1;
    while (pos > 0 && ranksBefore(v, i, values[top[pos - 1]], top[pos - 1])) {
      top[pos] = top[pos - 1];
      pos--;
    }
    top[pos] = i;
  }
  return top;
}

/** `np.max` of an array, accumulated: NaN wins; `first` starts the accumulation at `x`. */
function npMax(m, x, first) {
  if (first) return x;
  if (Number.isNaN(m) || Number.isNaN(x)) return NaN;
  return Math.max(m, x);
}

/**
 * Beam search with length normalization, as `ondevice.search.beam_search`.
 *
 * Each sentence keeps `beamSize` live hypotheses. Candidates are the top `2 * beamSize`
 * extensions of all live beams (exact ties: lower beam, then lower token first); one ending in
 * `endId` (among the top `beamSize`) becomes a finished hypothesis, the rest refill the live
 * beams. The winner maximizes `sum log p / length ** lengthPenalty` (length counts the end
 * token). When a sentence is done:
 *
 * - `stop: 'early'`: once its best finished hypothesis scores at least as well as every live
 *   one would if it ended at the next step;
 * - `stop: 'fairseq'`: once it has `beamSize` finished hypotheses.
 *
 * At `maxSteps` the live hypotheses count as finished. A sentence that is done (or has no live
 * hypothesis left) leaves the batch. States are reordered along their manifest batch axis;
 * memory is tiled once per sentence.
 *
 * @param model a step model, or a model with its own `start`.
 * @param {number[][]} sourceIds (batch, src) ids.
 * @param {number} startId first decoder token.
 * @param {number|null} endId end-of-sentence token; null: never.
 * @param {number} maxSteps most decode steps.
 * @param {{beamSize?: number, lengthPenalty?: number, stop?: string, padId?: number}} options
 *     hypotheses per sentence (5), length normalization exponent (1.0; 0 = raw
 *     log-probability), `'early'` or `'fairseq'`, the padding token (0, never generated).
 * @returns {Promise<number[][]>} per sentence, the best hypothesis' token ids (no start/end).
 */
export async function beamSearch(model, sourceIds, startId, endId, maxSteps, options = {}) {
  const { beamSize = 5, lengthPenalty = 1.0, stop = 'early', padId = 0 } = options;
  if (!BEAM_STOP_RULES.includes(stop)) {
    throw new ValueError(`unknown beam stop rule ${pyRepr(stop)}; choose from ${BEAM_STOP_RULES.join(', ')}`);
  }
  const state = await startDecoding(model, sourceIds, maxSteps);
  try {
    return await runBeamSearch(state, sourceIds.length, beamSize, startId, endId, maxSteps, lengthPenalty, stop, padId);
  } finally {
    await state.close();
  }
}

async function runBeamSearch(state, batch, k, startId, endId, maxSteps, lengthPenalty, stop, padId) {
  const never = neverGenerated(startId, padId);
  await state.select(Int32Array.from({ length: batch * k }, (_, i) => Math.floor(i / k))); // row = sentence * k + beam
  let active = Array.from({ length: batch }, (_, b) => b); // sentences still in the state, in row-block order
  let scores = Array.from({ length: batch }, () => {
    const s = new Float64Array(k).fill(-Infinity);
    s[0] = 0.0; // all beams start identical: keep one
    return s;
  });
  let history = Array.from({ length: batch }, () => Array.from({ length: k }, () => []));
  let token = new Int32Array(batch * k).fill(startId);
  const finished = Array.from({ length: batch }, () => []); // {score (normalized), tokens}

  const normalize = (score, length) => (lengthPenalty !== 0 ? score / Math.pow(length, lengthPenalty) : score);

  for (let step = 0; step < maxSteps; step++) {
    const n = active.length;
    const logits = await state.step(token);
    const vocab = logits.vocab;
    const newScores = Array.from({ length: n }, () => new Float64Array(k).fill(-Infinity));
    const newTokens = Array.from({ length: n }, () => new Int32Array(k));
    const parents = Array.from({ length: n }, () => new Int32Array(k));
    const done = new Array(n).fill(false);
    const candidates = new Float64Array(k * vocab);
    for (let a = 0; a < n; a++) {
      const b = active[a];
      for (let beam = 0; beam < k; beam++) {
        const logProbs = logSoftmax(logits.values, (a * k + beam) * vocab, vocab);
        for (const id of never) logProbs[id] = -Infinity;
        for (let v = 0; v < vocab; v++) candidates[beam * vocab + v] = scores[a][beam] + logProbs[v];
      }
      const top = topIndices(candidates, Math.min(2 * k, k * vocab)); // best first
      let alive = 0;
      for (let rank = 0; rank < top.length; rank++) {
        const index = top[rank];
        const beam = Math.floor(index / vocab);
        const tok = index % vocab;
        const score = candidates[index];
        if (!Number.isFinite(score)) break;
        if (!isNoneId(endId) && tok === endId) {
          if (rank < k) {
            const hyp = [...history[a][beam]];
            finished[b].push({ score: normalize(score, hyp.length + 1), tokens: hyp });
          }
          continue;
        }
        newScores[a][alive] = score;
        newTokens[a][alive] = tok;
        parents[a][alive] = beam;
        alive++;
        if (alive === k) break;
      }
      if (stop === 'fairseq') {
        done[a] = finished[b].length >= k;
      } else if (finished[b].length) {
        let best = finished[b][0].score; // Python's max(): the first maximum
        for (const h of finished[b]) if (h.score > best) best = h.score;
        let reachable = -Infinity;
        for (let j = 0; j < alive; j++) reachable = npMax(reachable, normalize(newScores[a][j], step + 2), j === 0);
        done[a] = best >= reachable;
      }
      if (alive === 0) done[a] = true;
    }
    history = history.map((beams, a) => Array.from({ length: k }, (_, j) => [...beams[parents[a][j]], newTokens[a][j]]));
    const keep = [];
    for (let a = 0; a < n; a++) if (!done[a]) keep.push(a);
    const kept = active;
    active = keep.map((a) => kept[a]);
    scores = keep.map((a) => newScores[a]);
    history = keep.map((a) => history[a]);
    if (step === maxSteps - 1 || !keep.length) break;
    const rows = Int32Array.from({ length: keep.length * k }, (_, i) => keep[Math.floor(i / k)] * k + parents[keep[Math.floor(i / k)]][i % k]);
    const memoryRows = Int32Array.from({ length: keep.length * k }, (_, i) => keep[Math.floor(i / k)] * k + (i % k));
    await state.select(rows, memoryRows);
    token = Int32Array.from({ length: keep.length * k }, (_, i) => newTokens[keep[Math.floor(i / k)]][i % k]);
  }

  const remaining = new Map(active.map((b, a) => [b, a]));
  const results = [];
  for (let b = 0; b < batch; b++) {
    const hyps = [...finished[b]];
    const a = remaining.get(b);
    if (a !== undefined) {
      // ran out of steps: live beams count as finished
      for (let beam = 0; beam < k; beam++) {
        const s = scores[a][beam];
        if (Number.isFinite(s)) hyps.push({ score: normalize(s, history[a][beam].length), tokens: history[a][beam] });
      }
    }
    let best = { score: 0.0, tokens: [] };
    if (hyps.length) {
      best = hyps[0];
      for (const h of hyps) if (h.score > best.score) best = h; // Python's max(): the first maximum
    }
    results.push([...best.tokens]);
  }
  return results;
}
