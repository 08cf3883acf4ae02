/**
 * Calibration of the recogniser's rejection (issue 16), on utterances kept apart from the
 * recognition bench's (./recognition.ts): other requests (drawn from the grammar with another
 * seed, none of the bench's), other sentences outside the grammar, the four tuned voices only,
 * other noise seeds. Each utterance is decoded as the bench does (20 ms chunks, up to 300 ms
 * after the last word, grouped by noise level and voice) and its measures (../src/speech/confidence.ts)
 * are written to bench/results/recognition-calibration.json. Then:
 *   - a logistic model over the measures is fitted (accept = the words make the command asked),
 *     and the coefficients printed, for src/speech/confidence.ts;
 *   - the rule in the recogniser now and the fitted model are compared at equal false accepts.
 * Run: `tsc -p tsconfig.bench.json && node dist-bench/bench/recognition-calibrate.js`
 * (about 4 minutes); `CALIB_REFIT=1` refits from the saved measures without decoding;
 * `CALIB_DECODER_ARGS="-name value ..."` and `CALIB_DENOISE=0` decode with other front ends
 * (then the file gets a suffix and the current model is only evaluated, not refitted).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinSkills, skillGrammars } from '../src/local-gateway/assistant.js';
import { silentLogger } from '../src/log/logger.js';
import { acceptScore, MODEL, type Features } from '../src/speech/confidence.js';
import { Grammar } from '../src/speech/phrases.js';
import type { Evidence } from '../src/speech/pocketsphinx-session.js';
import { DEFAULT_REJECT_THRESHOLD, PocketsphinxStt } from '../src/speech/pocketsphinx.js';
import { padded, speechEnd, spoken, withNoise } from '../test/support/speech-fixtures.js';
import { benchSentences, rng } from './recognition.js';
import { sameCommand } from './recognition-score.js';

const RATE = 16000;
const CHUNK = 320;
const VOICES = ['flite/slt', 'flite/awb', 'flite/kal16', 'espeak/en-us'];
const NOISE: (number | null)[] = [null, 20, 10];
const N_REQUESTS = 40;
/** Outside the grammar, none of them in the bench; several share words with requests. */
const OUT_OF_GRAMMAR = [
  'play the radio',
  'what is on the news today',
  'send a message to john',
  'who won the game last night',
  'turn on the heating',
  'set the alarm for six thirty',
  'how far is the moon',
  'add milk to the shopping list',
  'what time does the shop close',
  'switch on the fan',
  'tell me a story',
  'remind me to call the doctor',
  'how tall is mount everest',
  'lock the front door',
  'what is the date of easter',
  'turn the music down',
  'is it going to rain',
  'set the temperature to twenty degrees',
  'what can i cook for dinner',
  'open the kitchen window',
  'how do you spell necessary',
  'start the vacuum cleaner',
  'who are you',
  'turn off the oven',
  'what day is christmas',
  'find my phone',
  'the cat sat on the mat',
  'how many minutes in an hour',
  'dim the bedroom lights',
  'good morning',
];

export interface Row {
  ref: string;
  inGrammar: boolean;
  voice: string;
  snr: number | null;
  hyp: string;
  /** The words make the command asked (false for every sentence outside the grammar). */
  right: boolean;
  features: Features | null;
  /** What the decoders returned (scores rounded), so other measures can be tried without decoding again. */
  evidence?: Evidence;
}

function calibrationUtterances(): { ref: string; inGrammar: boolean; voice: string; snr: number | null; pcm: Int16Array; end: number }[] {
  const g = new Grammar(skillGrammars(builtinSkills()).default!);
  const bench = benchSentences(false);
  const r = rng(1601);
  const requests = new Set<string>();
  while (requests.size < N_REQUESTS) {
    const s = g.sample(r);
    if (!bench.requests.includes(s)) requests.add(s);
  }
  for (const s of OUT_OF_GRAMMAR) if (g.matches(s) || bench.oog.includes(s)) throw new Error(`"${s}" is in the grammar or the bench`);
  const out = [];
  let seed = 5001;
  for (const snr of NOISE) {
    for (const voice of VOICES) {
      for (const [list, inGrammar] of [
        [[...requests], true],
        [OUT_OF_GRAMMAR, false],
      ] as const) {
        for (const ref of list) {
          const clean = padded(spoken(voice, ref), 500, 900);
          out.push({ ref, inGrammar, voice, snr, pcm: snr === null ? clean : withNoise(clean, snr, seed++), end: speechEnd(clean) });
        }
      }
    }
  }
  return out;
}

async function decode(): Promise<Row[]> {
  const args = process.env.CALIB_DECODER_ARGS?.split(/\s+/).filter(Boolean);
  let last: { features: Features; evidence: Evidence } | undefined;
  const stt = new PocketsphinxStt({
    grammars: skillGrammars(builtinSkills()),
    rejectThreshold: -1e9,
    completeSilenceMs: 0,
    denoise: process.env.CALIB_DENOISE !== '0',
    decoderArgs: args,
    onHypothesis: (h) => (last = h),
    log: silentLogger(),
  });
  const rows: Row[] = [];
  for (const u of calibrationUtterances()) {
    last = undefined;
    const s = stt.open();
    const final = s.next('final');
    const stop = Math.min(u.pcm.length, u.end + 0.3 * RATE);
    for (let i = 0; i < stop; i += CHUNK) s.send(u.pcm.subarray(i, Math.min(stop, i + CHUNK)));
    s.finalize();
    const [res] = await final;
    await s.close();
    const hyp = res.text;
    const seen = last as { features: Features; evidence: Evidence } | undefined;
    rows.push({ ref: u.ref, inGrammar: u.inGrammar, voice: u.voice, snr: u.snr, hyp, right: u.inGrammar && hyp !== '' && sameCommand(u.ref, hyp), features: seen?.features ?? null, evidence: seen?.evidence });
  }
  stt.close();
  return rows;
}

/** The model's inputs: standardised by the fit. */
export const inputs = (f: Features): number[] => [f.ratio, f.speechRatio, f.margin, Math.min(30, f.snrDb), f.words];

/** Logistic regression by gradient descent (L2 0.01) on standardised inputs; returns weights on the raw inputs. */
function fit(xs: number[][], ys: number[]): { bias: number; weights: number[] } {
  const d = xs[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((a, x) => a + x[j]!, 0) / xs.length);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(xs.reduce((a, x) => a + (x[j]! - mean[j]!) ** 2, 0) / xs.length) || 1);
  const z = xs.map((x) => x.map((v, j) => (v - mean[j]!) / sd[j]!));
  let w = new Array<number>(d).fill(0);
  let b = 0;
  for (let it = 0; it < 4000; it++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < z.length; i++) {
      const p = 1 / (1 + Math.exp(-(b + z[i]!.reduce((a, v, j) => a + v * w[j]!, 0))));
      const e = p - ys[i]!;
      gb += e;
      for (let j = 0; j < d; j++) gw[j]! += e * z[i]![j]!;
    }
    b -= (0.5 * gb) / z.length;
    w = w.map((wj, j) => wj - 0.5 * (gw[j]! / z.length + 0.01 * wj));
  }
  // Back to raw inputs: b + sum w_j (x_j - m_j) / s_j.
  const weights = w.map((wj, j) => wj / sd[j]!);
  const bias = b - w.reduce((a, wj, j) => a + (wj * mean[j]!) / sd[j]!, 0);
  return { bias, weights };
}

const pct = (x: number) => Math.round(x * 1000) / 10;

/** Command accuracy and out-of-grammar accepted, per noise level, for an acceptance rule. */
function evaluate(rows: Row[], accept: (r: Row) => boolean): Record<string, { accuracy: number; oogAccepted: number }> {
  const out: Record<string, { accuracy: number; oogAccepted: number }> = {};
  for (const snr of NOISE) {
    const at = rows.filter((r) => r.snr === snr);
    const req = at.filter((r) => r.inGrammar);
    const oog = at.filter((r) => !r.inGrammar);
    out[snr === null ? 'quiet' : `${snr}dB`] = {
      accuracy: pct(req.filter((r) => r.right && accept(r)).length / req.length),
      oogAccepted: pct(oog.filter((r) => r.hyp !== '' && r.features && accept(r)).length / oog.length),
    };
  }
  return out;
}

async function main(): Promise<void> {
  const suffix = process.env.CALIB_DECODER_ARGS || process.env.CALIB_DENOISE === '0' ? '-variant' : '';
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', `recognition-calibration${suffix}.json`);
  // The decoders' whole output (large: every phone of the loop) stays in the temp directory.
  const full = path.join(os.tmpdir(), `speaker-agent-recognition-calibration${suffix}.json`);
  let rows: Row[];
  if (process.env.CALIB_REFIT === '1') rows = (JSON.parse(readFileSync(full, 'utf8')) as { rows: Row[] }).rows;
  else {
    rows = await decode();
    const meta = { date: new Date().toISOString(), decoderArgs: process.env.CALIB_DECODER_ARGS ?? '', denoise: process.env.CALIB_DENOISE !== '0' };
    writeFileSync(full, JSON.stringify({ ...meta, rows }) + '\n');
    writeFileSync(file, JSON.stringify({ ...meta, rows: rows.map(({ evidence: _, ...r }) => r) }) + '\n');
  }
  const scored = rows.filter((r) => r.features);
  const { thresholdAt } = await import('../src/speech/pocketsphinx.js');
  const ratioRule = (r: Row) => r.features!.ratio >= thresholdAt(DEFAULT_REJECT_THRESHOLD, r.features!.snrDb >= 60 ? undefined : r.features!.snrDb);
  const report: Record<string, unknown> = {
    utterances: rows.length,
    rightHypothesesPct: evaluate(rows, () => true),
    ratioRule: evaluate(rows, ratioRule),
    currentModel: Object.fromEntries([0.3, 0.4, 0.5, 0.6, 0.7].map((t) => [`p>=${t}`, evaluate(rows, (r) => acceptScore(r.features!, MODEL) >= t)])),
  };
  if (!suffix) {
    const m = fit(
      scored.map((r) => inputs(r.features!)),
      scored.map((r) => (r.right ? 1 : 0)),
    );
    report.fitted = m;
    report.fittedModel = Object.fromEntries([0.3, 0.4, 0.5, 0.6, 0.7].map((t) => [`p>=${t}`, evaluate(rows, (r) => acceptScore(r.features!, m) >= t)]));
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
