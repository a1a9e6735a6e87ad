#!/usr/bin/env node
// Translate with the web runtime in Node (LiteRT.js + the JS core), as the page does.
//
//   node web_demo/tools/translate.mjs ARTIFACT [--beam N] < sentences.json
//
// stdin: a JSON list of sentences. stdout: one JSON object {translations, tokens, ms_per_token}.
// A bad artifact or input: one line on stderr, exit 2.
import { loadWebTranslator } from '../core/artifact.js';
import { ZooError } from '../core/errors.js';
import { loadLiteRtInNode, readFileBytes } from '../core/testing/node_litert.js';

const args = process.argv.slice(2);
const directory = args[0];
const beam = args.includes('--beam') ? Number(args[args.indexOf('--beam') + 1]) : 1;
try {
  const sentences = JSON.parse(await new Response(process.stdin).text());
  const lite = await loadLiteRtInNode();
  const { translator, model } = await loadWebTranslator(lite, directory, readFileBytes);
  const translations = [];
  let tokens = 0;
  let ms = 0;
  for (const sentence of sentences) {
    const start = performance.now();
    const [ids] = await translator.translateIds([translator.encodeText(sentence)], { beamSize: beam });
    ms += performance.now() - start;
    tokens += ids.length + 1;
    translations.push(translator.targetTokenizer.detokenize(ids));
  }
  model.delete();
  process.stdout.write(JSON.stringify({ translations, tokens, ms_per_token: ms / Math.max(tokens, 1) }) + '\n');
} catch (e) {
  if (!(e instanceof ZooError)) throw e;
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(2);
}
