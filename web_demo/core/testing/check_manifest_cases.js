// `node check_manifest_cases.js CASES.json`: validate each case's manifest text with the
// JavaScript core and print the outcomes as a JSON list (tests/test_web_core.py compares them
// with ondevice/manifest.py's).
//
// CASES.json: a list of {"label", "text"}; each outcome is null (valid), the ArtifactError's
// message, or "UNEXPECTED <name>: <message>" for any other error.

import fs from 'node:fs';

import { ArtifactError } from '../errors.js';
import { parseJson } from '../json.js';
import { validate } from '../manifest.js';

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const outcomes = cases.map(({ text }) => {
  try {
    validate(parseJson(text));
    return null;
  } catch (e) {
    return e instanceof ArtifactError ? e.message : `UNEXPECTED ${e.name}: ${e.message}`;
  }
});
process.stdout.write(JSON.stringify(outcomes));
