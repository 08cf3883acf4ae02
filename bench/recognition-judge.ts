/**
 * Fits the recogniser's judge with the word loop (issue 16): a logistic model over the ratio
 * against the phone loop, the ratio against the word loop and the SNR, on the calibration
 * utterances only (a run of ./recognition-calibrate.ts with `CALIB_WORD_LOOP`), with its
 * acceptance set for the out-of-grammar accepts the ratio rule has on the same utterances.
 * Prints its coefficients, and, given a second run (the bench's utterances, `CALIB_SET=bench`),
 * what the fitted judge does there, and stricter settings of it. Not in the product: on the
 * bench it did not pay for a third decoder (docs/benchmarks.md).
 * Run: `node dist-bench/bench/recognition-judge.js wl2000lw1 [benchwl]` (the runs' CALIB_TAGs).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { features } from '../src/speech/confidence.js';
import { DEFAULT_REJECT_THRESHOLD, thresholdAt } from '../src/speech/pocketsphinx.js';
import type { Row } from './recognition-calibrate.js';
import { fit } from './recognition-fit.js';

/** The model's inputs: the ratios (path-score units per frame), the SNR (dB, at most 30), and their products. */
function judgeInputs(ratio: number, wordRatio: number, snrDb: number): number[] {
  const snr = Math.min(30, snrDb);
  return [ratio, wordRatio, snr, (ratio * snr) / 30, (wordRatio * snr) / 30];
}

const load = (tag: string): Row[] => {
  const rows = (JSON.parse(readFileSync(path.join(os.tmpdir(), `speaker-agent-recognition-calibration-${tag}.json`), 'utf8')) as { rows: Row[] }).rows;
  for (const r of rows) if (r.evidence) r.features = features(r.evidence);
  if (rows.some((r) => r.features && r.features.wordRatio === undefined)) throw new Error(`${tag} was decoded without the word loop`);
  return rows;
};
const pct = (x: number) => Math.round(x * 1000) / 10;

function report(rows: Row[], accept: (r: Row) => boolean): string {
  return [null, 20, 10]
    .map((snr) => {
      const at = rows.filter((r) => r.snr === snr);
      const req = at.filter((r) => r.inGrammar);
      const oog = at.filter((r) => !r.inGrammar);
      return `${snr === null ? 'quiet' : `${snr} dB`} ${pct(req.filter((r) => r.right && accept(r)).length / req.length)} / ${pct(oog.filter(accept).length / oog.length)}`;
    })
    .join(', ');
}

function main(): void {
  const [calTag, benchTag] = process.argv.slice(2);
  if (!calTag) throw new Error('usage: recognition-judge.js <calibration tag> [bench tag]');
  const rows = load(calTag);
  const x = (r: Row) => judgeInputs(r.features!.ratio, r.features!.wordRatio!, r.features!.snrDb);
  const heard = rows.filter((r) => r.features);
  const model = fit(heard.map(x), heard.map((r) => (r.right ? 1 : 0)));
  // The model is linear in its inputs: its raw coefficients, from its values at the unit vectors.
  const d = x(heard[0]!).length;
  const w0 = model(new Array<number>(d).fill(0));
  const w = Array.from({ length: d }, (_, j) => model(Array.from({ length: d }, (_, k) => (k === j ? 1 : 0))) - w0);
  const rule = (r: Row) => !!r.features && r.features.ratio >= thresholdAt(DEFAULT_REJECT_THRESHOLD, r.features.snrDb);
  const oog = heard.filter((r) => !r.inGrammar);
  const ruleAccepts = oog.filter(rule).length;
  // The logit threshold that accepts as many of the calibration's out-of-grammar sentences as the rule.
  const logits = oog.map((r) => model(x(r))).sort((a, b) => b - a);
  const cut = (logits[ruleAccepts - 1]! + logits[ruleAccepts]!) / 2;
  const accept = (r: Row) => !!r.features && model(x(r)) >= cut;
  const out = [
    `inputs: ratio, wordRatio, snr (<= 30), ratio*snr/30, wordRatio*snr/30; fitted on ${rows.length} calibration utterances (${calTag})`,
    `WEIGHTS = [${[w0 - cut, ...w].map((v) => Math.round(v * 1e5) / 1e5).join(', ')}] (intercept less the logit threshold ${Math.round(cut * 1000) / 1000})`,
    `calibration, rule:  ${report(rows, rule)}`,
    `calibration, judge: ${report(rows, accept)}`,
  ];
  if (benchTag) {
    const bench = load(benchTag);
    out.push(`${benchTag}, rule:  ${report(bench, rule)}`, `${benchTag}, judge: ${report(bench, accept)}`);
    // Stricter judges (the logit threshold raised), for the trade-off.
    for (const more of [0.25, 0.5, 1]) out.push(`${benchTag}, judge + ${more}: ${report(bench, (r) => !!r.features && model(x(r)) >= cut + more)} (calibration ${report(rows, (r) => !!r.features && model(x(r)) >= cut + more)})`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

main();
