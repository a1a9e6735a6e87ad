// The page: load an artifact (`?model=DIR`, default `artifact/` as `zoo web` serves it) and
// translate the text box line by line, streaming greedy translations as they are decoded.
//
// State for scripts and tests: `document.body.dataset.state` is `loading`, `ready`, `busy` or
// `error`; `window.zoo` holds the last run's figures.

import * as lite from '@litertjs/core';
import { loadWebTranslator } from './core/artifact.js';
import { ZooError } from './core/errors.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const button = $('translate');
window.zoo = { error: null, lastRun: null };

function setState(state, message, isError = false) {
  document.body.dataset.state = state;
  if (message !== undefined) status.textContent = message;
  status.classList.toggle('error', isError);
  button.disabled = state !== 'ready';
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

function describe(manifest) {
  const languages = manifest.data.languages ?? {};
  const pair = languages.source && languages.target ? `${languages.source} → ${languages.target}` : 'translation';
  const name = new URLSearchParams(location.search).get('name') || manifest.directory.replace(/\/$/, '').split('/').pop();
  return `${name}: ${manifest.family}, ${manifest.recipe}, ${pair}`;
}

async function main() {
  const directory = new URLSearchParams(location.search).get('model') || 'artifact';
  let loaded;
  try {
    await lite.loadLiteRt('./node_modules/@litertjs/core/wasm/');
    loaded = await loadWebTranslator(lite, directory, fetchBytes);
    setState('loading', 'Preparing the model (first runs of each signature)...');
    await loaded.model.warmUp(); // a signature that fails to run fails here, with its error
  } catch (e) {
    window.zoo.error = String(e.message ?? e);
    const known = e instanceof ZooError;
    setState('error', `Could not load the model from ${directory}/: ${known ? e.message : `${e.name}: ${e.message}`}`, true);
    return;
  }
  const { translator, manifest, model } = loaded;
  const beam = $('beam');
  const widest = model.batchSizes[model.batchSizes.length - 1];
  for (let b = 2; b <= widest; b++) beam.add(new Option(String(b), String(b)));
  const source = $('source');
  if (!source.value) source.value = manifest.data.languages?.source === 'de' ? 'Ein Mann fährt Fahrrad.' : 'How are you today?';
  const described = describe(manifest);
  setState('ready', `Model ${described}. Ready.`);

  button.addEventListener('click', async () => {
    const beamSize = Number(beam.value);
    const lines = source.value.split('\n');
    const output = $('translation');
    const done = [];
    model.resetCounters();
    setState('busy', `Model ${described}. Translating...`);
    try {
      for (const line of lines) {
        if (!line.trim()) {
          done.push('');
          continue;
        }
        let text = '';
        if (beamSize === 1) {
          for await (const partial of translator.translateStream(line)) {
            text = partial;
            output.textContent = [...done, text].join('\n');
          }
        } else {
          [text] = await translator.translate([line], { beamSize });
        }
        done.push(text);
        output.textContent = done.join('\n');
      }
      const { decodeSteps, decodeMs, encodeMs } = model;
      const perStep = decodeSteps ? decodeMs / decodeSteps : 0;
      $('speed').textContent = decodeSteps
        ? `${decodeSteps} decode steps, ${perStep.toFixed(2)} ms per step; encoder ${encodeMs.toFixed(1)} ms (WebAssembly, 1 thread)`
        : '';
      window.zoo.lastRun = { beamSize, translations: done, decodeSteps, msPerStep: perStep, encodeMs };
      setState('ready', `Model ${described}. Ready.`);
    } catch (e) {
      const message = e instanceof ZooError ? e.message : `${e.name}: ${e.message}`;
      window.zoo.error = message;
      output.textContent = done.join('\n');
      setState('ready', `Model ${described}. ${message}`, true);
    }
  });
}

main();
