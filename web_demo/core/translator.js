/**
 * Translation with an encoder-decoder step model (mirrors `ondevice/translator.py`).
 */

import { ArtifactError, InputError } from './errors.js';
import { argmaxTokens, beamSearch, generateTokens, greedySearch } from './search.js';
import { headCodePoints, pyRepr, pythonIsBlank } from './python.js';

/** Stack id lists into a (batch, longest) block padded with `padId` (`pad_batch`). */
export function padBatch(sequences, padId = 0) {
  const length = sequences.reduce((longest, s) => Math.max(longest, s.length), 0);
  return sequences.map((s) => Int32Array.from({ length }, (_, j) => (j < s.length ? s[j] : padId)));
}

/**
 * Translate text with an encoder-decoder step model (`ondevice.translator.Translator`).
 *
 * `Translator.fromManifest` makes one for a converted model; the constructor takes the parts.
 */
export class Translator {
  /**
   * @param model a step model, or a model with its own `start` (decoder_state.js).
   * @param sourceTokenizer tokenizer of the source language (`tokenize(text)`).
   * @param targetTokenizer tokenizer of the target language (`detokenize(ids)`).
   * @param {{pad: number, start: number, end: number}} specialTokens
   * @param {number} maxSourceLength longest accepted source (tokens).
   * @param {number} maxTargetLength most decode steps.
   * @param {number} batchSize sentences decoded together.
   */
  constructor(model, sourceTokenizer, targetTokenizer, specialTokens, maxSourceLength, maxTargetLength, batchSize = 32) {
    this.model = model;
    this.sourceTokenizer = sourceTokenizer;
    this.targetTokenizer = targetTokenizer;
    this.special = { ...specialTokens };
    this.maxSourceLength = maxSourceLength;
    this.maxTargetLength = maxTargetLength;
    this.batchSize = batchSize;
  }

  /**
   * A `Translator` for `manifest`'s model run by `model`, with the given tokenizers (the parts
   * of Python's `Translator.from_artifact`: a translation model whose logits have as many
   * columns as the target vocabulary has tokens).
   */
  static fromManifest(manifest, model, sourceTokenizer, targetTokenizer, batchSize = 32) {
    if (manifest.task !== 'translation') {
      throw new ArtifactError(
        `${manifest.directory}: a ${pyRepr(manifest.family)} model for task ${pyRepr(manifest.task)}; ` +
          "translation needs a 'translation' model",
      );
    }
    const logits = manifest.tensors('decode_step', 'outputs').find((t) => t.role === 'logits');
    const size = logits ? logits.shape[logits.shape.length - 1] : -1;
    if (size > 0 && size !== targetTokenizer.vocabularySize) {
      throw new ArtifactError(
        `${manifest.path('target_vocabulary')} has ${targetTokenizer.vocabularySize} tokens but the model's logits ` +
          `have ${size}; the vocabulary does not belong to this model`,
      );
    }
    return new Translator(
      model,
      sourceTokenizer,
      targetTokenizer,
      manifest.specialTokens,
      manifest.maxSourceLength,
      manifest.maxTargetLength,
      batchSize,
    );
  }

  /**
   * Source token ids of one sentence. `InputError` if the text is empty or, unless `truncate`,
   * has more tokens than the model accepts.
   */
  encodeText(text, truncate = false) {
    if (pythonIsBlank(text)) throw new InputError('empty input: nothing to translate');
    const ids = this.sourceTokenizer.tokenize(text);
    if (!ids.length) throw new InputError(`input has no translatable characters: ${pyRepr(headCodePoints(text, 40))}`);
    if (ids.length > this.maxSourceLength) {
      if (truncate) return ids.slice(0, this.maxSourceLength);
      throw new InputError(
        `input is ${ids.length} tokens long; this model accepts at most ${this.maxSourceLength} ` +
          '(split it into sentences)',
      );
    }
    return ids;
  }

  /** Most decode steps for a request of `maxSteps` (null or 0: the model's maximum). */
  _steps(maxSteps) {
    return Math.min(maxSteps || this.maxTargetLength, this.maxTargetLength);
  }

  /**
   * Target token ids for already-tokenized sources (batched by length, order kept).
   *
   * @param {number[][]} idLists source ids per sentence.
   * @param {{beamSize?: number, maxSteps?: number|null, lengthPenalty?: number, beamStop?: string}} options
   * @returns {Promise<number[][]>}
   */
  async translateIds(idLists, options = {}) {
    const { beamSize = 1, maxSteps = null, lengthPenalty = 1.0, beamStop = 'early' } = options;
    const steps = this._steps(maxSteps);
    const order = idLists.map((_, i) => i).sort((a, b) => idLists[a].length - idLists[b].length); // stable
    const results = new Array(idLists.length);
    const { pad, start: startId, end: endId } = this.special;
    for (let start = 0; start < order.length; start += this.batchSize) {
      const chunk = order.slice(start, start + this.batchSize);
      const source = padBatch(
        chunk.map((i) => idLists[i]),
        pad,
      );
      const outputs =
        beamSize <= 1
          ? await greedySearch(this.model, source, startId, endId, steps, pad)
          : await beamSearch(this.model, source, startId, endId, steps, {
              beamSize,
              lengthPenalty,
              stop: beamStop,
              padId: pad,
            });
      chunk.forEach((i, j) => {
        results[i] = outputs[j];
      });
    }
    return results;
  }

  /**
   * Translate a list of sentences; returns one string per sentence.
   *
   * @param {string[]} sentences
   * @param {{beamSize?: number, maxSteps?: number|null, lengthPenalty?: number, truncate?: boolean, beamStop?: string}} options
   * @returns {Promise<string[]>}
   */
  async translate(sentences, options = {}) {
    const ids = sentences.map((s) => this.encodeText(s, options.truncate ?? false));
    const outputs = await this.translateIds(ids, options);
    return outputs.map((o) => this.targetTokenizer.detokenize(o));
  }

  /**
   * Translate one sentence greedily, yielding the translation as it grows (an async
   * generator, Python's `translate_stream`).
   *
   * Each item is the detokenized text of all tokens so far (a new token can change how earlier
   * pieces join, e.g. a `##` suffix). The last item is the full translation, equal to
   * `(await translate([text]))[0]`. Nothing is yielded for an empty translation.
   *
   * @param {string} text
   * @param {{maxSteps?: number|null, truncate?: boolean}} options
   */
  async *translateStream(text, options = {}) {
    const { maxSteps = null, truncate = false } = options;
    const source = padBatch([this.encodeText(text, truncate)], this.special.pad);
    const tokens = [];
    const steps = generateTokens(
      this.model,
      source,
      this.special.start,
      this.special.end,
      this._steps(maxSteps),
      argmaxTokens,
      this.special.pad,
    );
    for await (const [, added] of steps) {
      if (added.length) {
        // nothing new on the step that ends the sentence
        tokens.push(...added);
        yield this.targetTokenizer.detokenize(tokens);
      }
    }
  }
}
