/**
 * Calibration of the recogniser's rejection (issue 16), on utterances kept apart from the
 * recognition bench's (./recognition.ts): other requests (drawn from the grammar with another
 * seed, none of the bench's), other sentences outside the grammar, the four tuned voices only,
 * other noise seeds. Each utterance is decoded as the bench does (20 ms chunks, up to 300 ms
 * after the last word, grouped by noise level and voice) and its measures (../src/speech/confidence.ts)
 * are written to bench/results/recognition-calibration.json (and with the decoders' whole output,
 * from which the measures are recomputed, to the temp directory). Then it compares, per noise
 * level, the command accuracy at equal out-of-grammar accepts (2-6 % of them, one threshold
 * over all levels) of the recogniser's rule (the ratio against its SNR-dependent threshold) and
 * of logistic models over other measures, each cross-validated (fitted on four fifths of the
 * sentences, scored on the rest).
 * Run: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/recognition-calibrate.js`
 * (about 5 minutes); `CALIB_REFIT=1` compares again from the saved output without decoding;
 * `CALIB_NOISE=10` (or `quiet,20`) decodes only those levels; `CALIB_DECODER_ARGS="-name value
 * ..."`, `CALIB_DENOISE=0` (no Wiener filter) and `CALIB_SPEEX=1` (libspeexdsp's denoiser
 * first) decode with other front ends; `CALIB_SET=bench` decodes the bench's own utterances
 * instead (its six voices), to confirm there what calibration found; then `CALIB_REFIT=1
 * CALIB_APPLY_TO=bench` fits each model on the calibration set and judges it on the bench's;
 * `CALIB_CURVE=q,slope,drop,from` reports that threshold curve by level; `CALIB_DETAIL=0` reads
 * the ratio and SNR only (quicker: the N-best's search is slow with wide beams);
 * `CALIB_WORD_LOOP=2000` adds the word-loop competitor with that many common words (its ratio and
 * word overlap become inputs of more models), `CALIB_WORD_ARGS="-lw 1 ..."` its decoder options
 * (replacing its defaults).
 * `CALIB_GARBAGE=1e-25` decodes with the grammar's garbage path at that weight per phone (its
 * hypotheses rejected; the recogniser's curve is then its GARBAGE_CURVE; give it again with
 * `CALIB_REFIT=1`). Without it the decoders have no garbage path, as in every run recorded
 * before it (the product's default is DEFAULT_GARBAGE, 1e-25); `CALIB_QUIETS=-14,0` widens the curve search's quiet thresholds and
 * `CALIB_MAX_FA=4` searches for at most that mean out-of-grammar share accepted (%).
 * Any of these makes a variant: its files get the suffix `-$CALIB_TAG`. The recognition CPU of a
 * decoding run (under the machine's load of the moment) is in the results' `cpuPctOfOneCoreUnderLoad`.
 */
import { loadSpeexDsp } from '../src/drivers/speex/speexdsp.js';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinSkills, skillGrammars } from '../src/local-gateway/assistant.js';
import { silentLogger } from '../src/log/logger.js';
import { features, type Features } from '../src/speech/confidence.js';
import { Grammar } from '../src/speech/phrases.js';
import type { Evidence } from '../src/speech/pocketsphinx-session.js';
import { DEFAULT_REJECT_THRESHOLD, PocketsphinxStt, thresholdAt } from '../src/speech/pocketsphinx.js';
import { GARBAGE_CURVE, RATIO_CURVE } from '../src/speech/rejection.js';
import { padded, speechEnd, spoken, withNoise } from '../test/support/speech-fixtures.js';
import { benchSentences, rng, utterances as benchUtterances } from './recognition.js';
import { fit } from './recognition-fit.js';
import { sameCommand } from './recognition-score.js';

const RATE = 16000;
/** The recogniser's threshold curve for the run's decoders (with CALIB_GARBAGE, the garbage path's). */
const CURVE = Number(process.env.CALIB_GARBAGE ?? 0) > 0 ? GARBAGE_CURVE : RATIO_CURVE;
const CHUNK = 320;
/** The four voices the recogniser's options were tuned on. */
export const VOICES = ['flite/slt', 'flite/awb', 'flite/kal16', 'espeak/en-us'];
/** `CALIB_NOISE=10,20` (quiet as `quiet`) decodes only those levels. */
const NOISE: (number | null)[] = process.env.CALIB_NOISE ? process.env.CALIB_NOISE.split(',').map((x) => (x === 'quiet' ? null : Number(x))) : [null, 20, 10];
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

/** The calibration set's requests: drawn from `g` with their own seed, none of them the bench's. */
export function calibrationRequests(g: Grammar, bench: readonly string[]): Set<string> {
  const r = rng(1601);
  const requests = new Set<string>();
  while (requests.size < N_REQUESTS) {
    const s = g.sample(r);
    if (!bench.includes(s)) requests.add(s);
  }
  return requests;
}

export function calibrationUtterances(): { ref: string; inGrammar: boolean; voice: string; snr: number | null; pcm: Int16Array; end: number }[] {
  const g = new Grammar(skillGrammars(builtinSkills()).default!);
  const bench = benchSentences(false);
  const requests = calibrationRequests(g, bench.requests);
  for (const s of OUT_OF_GRAMMAR) if (g.matches(s) || bench.oog.includes(s)) throw new Error(`"${s}" is in the grammar or the bench`);
  const out = [];
  for (const snr of NOISE) {
    // The same noise for a level whichever levels run.
    let seed = 5001 + [null, 20, 10].indexOf(snr) * VOICES.length * (N_REQUESTS + OUT_OF_GRAMMAR.length);
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

/** Recognition CPU of the last decode(), seconds per second of audio (under whatever load there was). */
let cpuPerAudioSecond = 0;

async function decode(): Promise<Row[]> {
  const args = process.env.CALIB_DECODER_ARGS?.split(/\s+/).filter(Boolean);
  let last: { features: Features; evidence: Evidence } | undefined;
  const stt = new PocketsphinxStt({
    grammars: skillGrammars(builtinSkills()),
    rejectThreshold: -1e9,
    completeSilenceMs: 0,
    // CALIB_DETAIL=0: the ratio and SNR only (the N-best's A* search is slow with wide beams).
    detail: process.env.CALIB_DETAIL !== '0',
    // CALIB_FILTER=floor,alpha: the Wiener filter's options.
    denoise: process.env.CALIB_DENOISE === '0' ? false : process.env.CALIB_FILTER ? { floor: Number(process.env.CALIB_FILTER.split(',')[0]), alpha: Number(process.env.CALIB_FILTER.split(',')[1] ?? 0.98) } : true,
    decoderArgs: args,
    // CALIB_WORD_LOOP=2000: the word-loop competitor with that many common words (its measures
    // are recorded beside the phone loop's); CALIB_WORD_ARGS its own decoder options.
    wordLoop: Number(process.env.CALIB_WORD_LOOP ?? 0),
    // CALIB_GARBAGE=1e-3: the grammar's garbage path with that weight (hypotheses that take it are rejected).
    garbage: Number(process.env.CALIB_GARBAGE ?? 0),
    // The decoders for noise only with CALIB_NOISE_MODEL=1: each decode here studies one setting.
    ...(process.env.CALIB_NOISE_MODEL === '1' ? {} : { noiseModel: false as const }),
    ...(process.env.CALIB_WORD_ARGS ? { wordLoopArgs: process.env.CALIB_WORD_ARGS.split(/\s+/).filter(Boolean) } : {}),
    onHypothesis: (h) => (last = h),
    log: silentLogger(),
  });
  const rows: Row[] = [];
  // CALIB_SPEEX=1: libspeexdsp's preprocessor (its denoiser; the canceller in front of it gets
  // no reference, so passes the audio through) over each utterance before the recogniser.
  const speex = process.env.CALIB_SPEEX === '1' ? await loadSpeexDsp() : undefined;
  let audio = 0;
  const cpu0 = process.cpuUsage();
  // CALIB_SET=bench: the bench's own utterances, to confirm on them what calibration found.
  for (const u of process.env.CALIB_SET === 'bench' ? benchUtterances() : calibrationUtterances()) {
    last = undefined;
    const s = stt.open();
    const final = s.next('final');
    const stop = Math.min(u.pcm.length, u.end + 0.3 * RATE);
    if (speex) {
      const aec = speex.createCanceller({ frameSize: CHUNK, filterLength: 1600, sampleRate: RATE });
      const zero = new Int16Array(CHUNK);
      for (let i = 0; i + CHUNK <= u.pcm.length; i += CHUNK) {
        const out = new Int16Array(CHUNK);
        aec.process(u.pcm.subarray(i, i + CHUNK), zero, out);
        u.pcm.set(out, i);
      }
      aec.destroy();
    }
    for (let i = 0; i < stop; i += CHUNK) s.send(u.pcm.subarray(i, Math.min(stop, i + CHUNK)));
    audio += stop / RATE;
    s.finalize();
    const [res] = await final;
    await s.close();
    const hyp = res.text;
    const seen = last as { features: Features; evidence: Evidence } | undefined;
    rows.push({ ref: u.ref, inGrammar: u.inGrammar, voice: u.voice, snr: u.snr, hyp, right: u.inGrammar && hyp !== '' && sameCommand(u.ref, hyp), features: seen?.features ?? null, evidence: seen?.evidence });
  }
  stt.close();
  const cpu = process.cpuUsage(cpu0);
  cpuPerAudioSecond = (cpu.user + cpu.system) / 1e6 / audio;
  return rows;
}

/** Inputs a model may use, by name. */
const INPUTS: Record<string, (f: Features) => number> = {
  ratio: (f) => f.ratio,
  speechRatio: (f) => f.speechRatio,
  snr: (f) => Math.min(30, f.snrDb),
  'ratio*snr': (f) => (f.ratio * Math.min(30, f.snrDb)) / 30,
  margin: (f) => Math.max(-10, Math.min(10, f.margin)),
  worstWord: (f) => Math.max(-80, f.worstWord),
  meanWord: (f) => Math.max(-80, f.meanWord),
  acousticRatio: (f) => f.acousticRatio,
  words: (f) => f.words,
  logSpeechFrames: (f) => Math.log(f.speechFrames),
  wordRatio: (f) => f.wordRatio ?? 0,
  'wordRatio*snr': (f) => ((f.wordRatio ?? 0) * Math.min(30, f.snrDb)) / 30,
  wordOverlap: (f) => f.wordOverlap ?? 0,
};
const SETS: Record<string, string[]> = {
  'ratio, snr': ['ratio', 'snr'],
  'ratio, snr, ratio*snr': ['ratio', 'snr', 'ratio*snr'],
  '+ words': ['ratio', 'snr', 'ratio*snr', 'words'],
  '+ margin': ['ratio', 'snr', 'ratio*snr', 'margin'],
  '+ worst word': ['ratio', 'snr', 'ratio*snr', 'worstWord'],
  '+ mean word': ['ratio', 'snr', 'ratio*snr', 'meanWord'],
  '+ acoustic ratio': ['ratio', 'snr', 'ratio*snr', 'acousticRatio'],
  all: Object.keys(INPUTS),
};
/** The word loop's models, compared when the run has one. */
const WORD_SETS: Record<string, string[]> = {
  'wordRatio, snr': ['wordRatio', 'snr', 'wordRatio*snr'],
  'ratio, wordRatio, snr': ['ratio', 'snr', 'ratio*snr', 'wordRatio', 'wordRatio*snr'],
  '+ wordOverlap': ['ratio', 'snr', 'ratio*snr', 'wordRatio', 'wordRatio*snr', 'wordOverlap'],
  'wordRatio, overlap, snr': ['wordRatio', 'snr', 'wordRatio*snr', 'wordOverlap'],
};

const pct = (x: number) => Math.round(x * 1000) / 10;
const label = (snr: number | null) => (snr === null ? 'quiet' : `${snr}dB`);

/**
 * Command accuracy / out-of-grammar accepted (%) per noise level, for one score per utterance
 * and one threshold over all levels, set so that `faPct` % of all out-of-grammar sentences pass.
 */
function atFalseAccepts(rows: Row[], scores: number[], faPct: number): string {
  const oog = rows.flatMap((r, i) => (!r.inGrammar && r.features ? [scores[i]!] : [])).sort((a, b) => b - a);
  const k = Math.round((faPct / 100) * rows.filter((r) => !r.inGrammar).length);
  const t = k < oog.length ? oog[k]! + 1e-9 : -Infinity;
  return NOISE.map((snr) => {
    const at = rows.map((r, i) => [r, scores[i]!] as const).filter(([r]) => r.snr === snr);
    const req = at.filter(([r]) => r.inGrammar);
    const out = at.filter(([r]) => !r.inGrammar);
    return `${label(snr)} ${pct(req.filter(([r, x]) => r.right && x >= t).length / req.length)} / ${pct(out.filter(([r, x]) => r.features && x >= t).length / out.length)}`;
  }).join(', ');
}

/** Scores of each model, fitted on four fifths of the sentences and applied to the rest (folds by sentence). */
function crossValidated(rows: Row[], inputs: ((f: Features) => number)[]): number[] {
  const refs = [...new Set(rows.map((r) => r.ref))].sort();
  const r = rng(7);
  const fold = new Map(refs.map((ref) => [ref, Math.floor(r() * 5)]));
  const scores = new Array<number>(rows.length).fill(-Infinity);
  for (let k = 0; k < 5; k++) {
    const train = rows.filter((x) => x.features && fold.get(x.ref) !== k);
    const model = fit(
      train.map((x) => inputs.map((g) => g(x.features!))),
      train.map((x) => (x.right ? 1 : 0)),
    );
    rows.forEach((x, i) => {
      if (x.features && fold.get(x.ref) === k) scores[i] = model(inputs.map((g) => g(x.features!)));
    });
  }
  return scores;
}

/**
 * The rule's threshold curve (thresholdAt's shape: `quiet` from `from` dB up, `slope` lower per dB
 * below, at most `drop` lower) with the most command accuracy (mean over levels) for at most the
 * out-of-grammar accepts (mean over levels) of the recogniser's own curve.
 */
function searchCurve(rows: Row[], measure: (f: Features) => number = (f) => f.ratio, quiets = process.env.CALIB_QUIETS ? process.env.CALIB_QUIETS.split(',').map(Number) : [-3, 4]): string {
  const curve = (q: number, slope: number, drop: number, from: number) => (snr: number) => (snr >= from ? q : q - Math.min(drop, slope * (from - snr)));
  const judge = (t: (snr: number) => number) => {
    let acc = 0;
    let fa = 0;
    for (const snr of NOISE) {
      const at = rows.filter((r) => r.snr === snr);
      const ok = (r: Row) => !!r.features && measure(r.features) >= t(r.features.snrDb);
      acc += at.filter((r) => r.inGrammar && r.right && ok(r)).length / at.filter((r) => r.inGrammar).length;
      fa += at.filter((r) => !r.inGrammar && ok(r)).length / at.filter((r) => !r.inGrammar).length;
    }
    return { acc: acc / NOISE.length, fa: fa / NOISE.length };
  };
  const ownRows = rows;
  const own = (() => {
    let acc = 0;
    let fa = 0;
    for (const snr of NOISE) {
      const at = ownRows.filter((r) => r.snr === snr);
      const ok = (r: Row) => !!r.features && r.features.ratio >= thresholdAt(DEFAULT_REJECT_THRESHOLD, r.features.snrDb, CURVE);
      acc += at.filter((r) => r.inGrammar && r.right && ok(r)).length / at.filter((r) => r.inGrammar).length;
      fa += at.filter((r) => !r.inGrammar && ok(r)).length / at.filter((r) => !r.inGrammar).length;
    }
    return { acc: acc / NOISE.length, fa: fa / NOISE.length };
  })();
  let best = { acc: -1, fa: 0, params: '' };
  // CALIB_FIX_QUIET=0.5: only curves with that quiet threshold (the config's default is fixed there).
  const fixed = process.env.CALIB_FIX_QUIET === undefined ? undefined : Number(process.env.CALIB_FIX_QUIET);
  // CALIB_MAX_FA=4: the best curve for at most 4 % out-of-grammar accepted (mean over levels) instead of the recogniser's own.
  const maxFa = process.env.CALIB_MAX_FA ? Number(process.env.CALIB_MAX_FA) / 100 : own.fa;
  const step = (quiets[1]! - quiets[0]!) / 14;
  for (let q = fixed ?? quiets[0]!; q <= (fixed ?? quiets[1]!) + 1e-9; q += fixed === undefined ? step : 1) {
    for (const slope of [-0.6, -0.4, -0.2, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1]) {
      for (const drop of [2, 3, 4, 5, 6, 8]) {
        for (const from of [25, 30, 35]) {
          const j = judge(curve(q, slope, drop, from));
          if (j.fa <= maxFa && j.acc > best.acc) best = { ...j, params: `${Math.round(q * 100) / 100}, ${slope}, ${drop}, ${from}` };
        }
      }
    }
  }
  return `the recogniser's (${DEFAULT_REJECT_THRESHOLD + CURVE.offset}, ${CURVE.slope}, ${CURVE.drop}, ${CURVE.from}): accuracy ${pct(own.acc)} %, accepted ${pct(own.fa)} %; best (${best.params}): ${pct(best.acc)} %, ${pct(best.fa)} %`;
}

/** The grammar decoder's best path went through the garbage path (its phone-loop entries). */
export const isGarbage = (r: Row): boolean => !!r.evidence?.grammar.text && /(^| )ph_/.test(r.evidence.grammar.text);

async function main(): Promise<void> {
  const lines0: string[] = [];
  const variant = !!process.env.CALIB_DECODER_ARGS || !!process.env.CALIB_WORD_LOOP || process.env.CALIB_DETAIL === '0' || process.env.CALIB_SET === 'bench' || process.env.CALIB_DENOISE === '0' || !!process.env.CALIB_FILTER || process.env.CALIB_SPEEX === '1' || !!process.env.CALIB_NOISE || !!process.env.CALIB_GARBAGE;
  const suffix = variant ? `-${process.env.CALIB_TAG ?? 'variant'}` : '';
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', `recognition-calibration${suffix}.json`);
  // The decoders' whole output (large: every phone of the loop) stays in the temp directory.
  const full = path.join(os.tmpdir(), `speaker-agent-recognition-calibration${suffix}.json`);
  let rows: Row[];
  if (process.env.CALIB_REFIT === '1') rows = (JSON.parse(readFileSync(full, 'utf8')) as { rows: Row[] }).rows;
  else {
    rows = await decode();
    const meta = { date: new Date().toISOString(), cpuPctOfOneCoreUnderLoad: Math.round(cpuPerAudioSecond * 1000) / 10, wordLoop: process.env.CALIB_WORD_LOOP ?? '0', wordLoopArgs: process.env.CALIB_WORD_ARGS ?? '', decoderArgs: process.env.CALIB_DECODER_ARGS ?? '', garbage: Number(process.env.CALIB_GARBAGE ?? 0), denoise: process.env.CALIB_DENOISE !== '0', speex: process.env.CALIB_SPEEX === '1' };
    writeFileSync(full, JSON.stringify({ ...meta, rows }) + '\n');
    writeFileSync(file, JSON.stringify({ ...meta, rows: rows.map(({ evidence: _, ...r }) => r) }) + '\n');
  }
  // Measures recomputed from the evidence, so a change to them needs no new decoding.
  for (const r of rows) if (r.evidence) r.features = features(r.evidence);
  // A hypothesis through the garbage path (CALIB_GARBAGE) is rejected by its structure: no measure applies to it.
  for (const r of rows) if (isGarbage(r)) r.features = null;
  lines0.push(`hypotheses through the garbage path: ${NOISE.map((snr) => { const at = rows.filter((r) => r.snr === snr); return `${label(snr)} requests ${at.filter((r) => r.inGrammar && isGarbage(r)).length} / out-of-grammar ${at.filter((r) => !r.inGrammar && isGarbage(r)).length}`; }).join(', ')}`);
  const ratioRule = rows.map((r) => (r.features ? r.features.ratio - thresholdAt(DEFAULT_REJECT_THRESHOLD, r.features.snrDb, CURVE) : -Infinity));
  const lines: string[] = [...lines0];
  const right = NOISE.map((snr) => {
    const req = rows.filter((r) => r.snr === snr && r.inGrammar);
    return `${label(snr)} ${pct(req.filter((r) => r.right).length / req.length)}`;
  });
  lines.push(`utterances ${rows.length}; right sentence found (before the rejection): ${right.join(', ')}`);
  lines.push('command accuracy / out-of-grammar accepted, % by level, one threshold set for the false accepts over all levels:');
  const fas = [2, 3, 4, 5, 6];
  const row = (name: string, scores: number[]) => lines.push(`  ${name.padEnd(24)} ${fas.map((fa) => `[${fa} %: ${atFalseAccepts(rows, scores, fa)}]`).join(' ')}`);
  row('ratio - thresholdAt', ratioRule);
  const hasWordLoop = rows.some((r) => r.features?.wordRatio !== undefined);
  const sets = hasWordLoop ? { ...SETS, ...WORD_SETS } : SETS;
  for (const [name, keys] of Object.entries(sets)) row(`${name} (cv)`, crossValidated(rows, keys.map((k) => INPUTS[k]!)));
  const current = NOISE.map((snr) => {
    const at = rows.map((r, i) => [r, ratioRule[i]!] as const).filter(([r]) => r.snr === snr);
    const req = at.filter(([r]) => r.inGrammar);
    const out = at.filter(([r]) => !r.inGrammar);
    return `${label(snr)} ${pct(req.filter(([r, x]) => r.right && x >= 0).length / req.length)} / ${pct(out.filter(([, x]) => x >= 0).length / out.length)}`;
  });
  lines.push(`the recogniser's rule (threshold ${DEFAULT_REJECT_THRESHOLD}): ${current.join(', ')}`);
  lines.push(`the rule's curve searched (quiet threshold, slope per dB, largest drop, from SNR): ${searchCurve(rows)}`);
  if (hasWordLoop) lines.push(`the same curve on the word loop's ratio: ${searchCurve(rows, (f) => f.wordRatio ?? -Infinity, [-6, 22])}`);
  // CALIB_CURVE="q,slope,drop,from": that curve's accuracy and accepts here, by level.
  const given = process.env.CALIB_CURVE?.split(',').map(Number);
  if (given?.length === 4) {
    const [q, slope, drop, from] = given as [number, number, number, number];
    const t = (snr: number) => (snr >= from ? q : q - Math.min(drop, slope * (from - snr)));
    const byLevel = NOISE.map((snr) => {
      const at = rows.filter((r) => r.snr === snr);
      const ok = (r: Row) => !!r.features && r.features.ratio >= t(r.features.snrDb);
      return `${label(snr)} ${pct(at.filter((r) => r.inGrammar && r.right && ok(r)).length / at.filter((r) => r.inGrammar).length)} / ${pct(at.filter((r) => !r.inGrammar && ok(r)).length / at.filter((r) => !r.inGrammar).length)}`;
    });
    lines.push(`the curve ${given.join(', ')}: ${byLevel.join(', ')}`);
  }
  // CALIB_APPLY_TO=bench (with CALIB_REFIT=1): each model fitted on all of these utterances,
  // then judged on those of another run (the bench's own, CALIB_SET=bench CALIB_TAG=bench).
  const target = process.env.CALIB_APPLY_TO;
  if (target) {
    const other = (JSON.parse(readFileSync(path.join(os.tmpdir(), `speaker-agent-recognition-calibration-${target}.json`), 'utf8')) as { rows: Row[] }).rows;
    for (const r of other) r.features = r.evidence && !isGarbage(r) ? features(r.evidence) : null;
    const on = (x: Row[], scores: number[], fa: number) => atFalseAccepts(x, scores, fa);
    lines.push(`fitted here, judged on "${target}" (${other.length} utterances):`);
    const ruleThere = other.map((r) => (r.features ? r.features.ratio - thresholdAt(DEFAULT_REJECT_THRESHOLD, r.features.snrDb, CURVE) : -Infinity));
    lines.push(`  ${'ratio - thresholdAt'.padEnd(24)} ${fas.map((fa) => `[${fa} %: ${on(other, ruleThere, fa)}]`).join(' ')}`);
    for (const [name, keys] of Object.entries(hasWordLoop ? { ...SETS, ...WORD_SETS } : SETS)) {
      const inputs = keys.map((k) => INPUTS[k]!);
      const train = rows.filter((x) => x.features);
      const model = fit(
        train.map((x) => inputs.map((g) => g(x.features!))),
        train.map((x) => (x.right ? 1 : 0)),
      );
      const scores = other.map((x) => (x.features ? model(inputs.map((g) => g(x.features!))) : -Infinity));
      lines.push(`  ${name.padEnd(24)} ${fas.map((fa) => `[${fa} %: ${on(other, scores, fa)}]`).join(' ')}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
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
