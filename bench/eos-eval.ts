/**
 * End-of-speech evaluation: runs each detector over the generated fixtures in 20 ms frames (as
 * the session feeds it) and reports, per noise level, the delay from the true end of speech to
 * the detected end (median, p95), early cut-offs (an end detected before the true end, e.g. at
 * an inner pause) and misses (no end within the 2.5 s tail). All times are counted in samples.
 *
 * Run: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/eos-eval.js` (needs espeak-ng and sox).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BandVad } from '../src/audio/vad-band.js';
import { EnergyVad, type Vad } from '../src/audio/vad.js';
import { loadWebRtcVad } from './vad-webrtc.js';
import { generateEosFixtures, NOISE_KINDS, RATE, type Fixture, type NoiseKind } from './fixtures/eos-fixtures.js';

const FRAME = 320; // 20 ms, the session's capture frame

export interface DetectorRow {
  detector: string;
  noise: NoiseKind;
  utterances: number;
  medianDelayMs: number | null;
  p95DelayMs: number | null;
  maxDelayMs: number | null;
  earlyCutoffs: number;
  missedEnds: number;
}

export const DETECTORS: Record<string, () => Vad> = {
  band: () => new BandVad(),
  energy: () => new EnergyVad(),
};

/**
 * Runs one detector over one fixture; returns the first speech-end sample, or null.
 * `leadInMs`: how much audio before the speech the detector hears (default: the fixture's
 * whole 1 s lead-in; 200 models a detector that starts listening at the wake word).
 */
export function detectEnd(vad: Vad, f: Fixture, leadInMs?: number): number | null {
  const from = leadInMs === undefined ? 0 : Math.max(0, f.speechStart - Math.round((leadInMs * RATE) / 1000));
  for (let at = from; at + FRAME <= f.pcm.length; at += FRAME) {
    const ev = vad.process(f.pcm.subarray(at, at + FRAME));
    // Only an end after speech really began counts (a start on noise in the lead-in is a false start).
    if (ev === 'speech-end') return at + FRAME;
  }
  return null;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

export function evaluate(fixtures: Fixture[], detectors = DETECTORS, leadInMs?: number): DetectorRow[] {
  const rows: DetectorRow[] = [];
  for (const [name, make] of Object.entries(detectors)) {
    for (const noise of NOISE_KINDS) {
      const set = fixtures.filter((f) => f.noise === noise);
      if (set.length === 0) continue;
      const delays: number[] = [];
      let early = 0;
      let missed = 0;
      for (const f of set) {
        const end = detectEnd(make(), f, leadInMs);
        if (end === null) missed++;
        else if (end < f.speechEnd) early++;
        else delays.push(((end - f.speechEnd) * 1000) / RATE);
      }
      delays.sort((a, b) => a - b);
      const round = (v: number | null) => (v === null ? null : Math.round(v));
      rows.push({
        detector: name,
        noise,
        utterances: set.length,
        medianDelayMs: round(quantile(delays, 0.5)),
        p95DelayMs: round(quantile(delays, 0.95)),
        maxDelayMs: round(delays.length ? delays[delays.length - 1]! : null),
        earlyCutoffs: early,
        missedEnds: missed,
      });
    }
  }
  return rows;
}

/** One line about the fixture set. */
export function describeSet(r: EosResult): string {
  const p = r.pausesMs;
  return `${r.utterances} utterances x ${r.fixtures / r.utterances} noise levels; ${p.count} inner pauses of ${p.min}-${p.max} ms (${p.at600} of 600 ms)`;
}

export function formatRows(rows: DetectorRow[]): string {
  const head = 'detector     noise       n   median  p95   max   early  missed';
  const lines = rows.map(
    (r) =>
      `${r.detector.padEnd(12)} ${r.noise.padEnd(11)} ${String(r.utterances).padStart(2)}  ${String(r.medianDelayMs ?? '-').padStart(5)}  ${String(r.p95DelayMs ?? '-').padStart(5)} ${String(r.maxDelayMs ?? '-').padStart(5)}  ${String(r.earlyCutoffs).padStart(5)}  ${String(r.missedEnds).padStart(6)}`,
  );
  return [head, ...lines].join('\n');
}

/** Generates fixtures, evaluates every detector, writes bench/results/eos-eval.json. */
export interface EosResult {
  rows: DetectorRow[];
  fixtures: number;
  utterances: number;
  /** Inner pauses per utterance set: how many, their range, and how many are the 600 ms worst case. */
  pausesMs: { count: number; min: number; max: number; at600: number };
  /** Whether @echogarden/fvad-wasm was installed and its rows are included. */
  webrtcCompared: boolean;
}

export async function runEosEval(resultsDir = path.resolve('bench/results')): Promise<EosResult> {
  const cache = path.join(tmpdir(), 'speaker-agent-eos-cache');
  const fixtures = generateEosFixtures(cache);
  // As fed continuously (1 s of room before speech), and as started at the wake word with no
  // history (200 ms before speech): the session feeds its VAD only while listening.
  const rows = [
    ...evaluate(fixtures),
    ...evaluate(fixtures, { band: DETECTORS.band! }, 200).map((r) => ({ ...r, detector: 'band@200' })),
  ];
  // Stress set: the same utterances with every inner pause at the 600 ms limit.
  const stress = generateEosFixtures(cache, ['quiet', 'fan-low', 'fan-high'], 600);
  rows.push(...evaluate(stress, { band: DETECTORS.band! }).map((r) => ({ ...r, detector: 'band/600' })));
  // The WebRTC VAD with the same start and hang-over rule, when installed (comparison only).
  const webrtc = await loadWebRtcVad();
  if (webrtc) {
    rows.push(...evaluate(fixtures, { webrtc2: () => webrtc(2), webrtc3: () => webrtc(3) }));
    rows.push(...evaluate(stress, { webrtc2: () => webrtc(2), webrtc3: () => webrtc(3) }).map((r) => ({ ...r, detector: `${r.detector}/600` })));
  }
  const utterances = fixtures.filter((f) => f.noise === NOISE_KINDS[0]);
  const pauseList = utterances.flatMap((f) => f.pauses.map((p) => Math.round(((p.end - p.start) * 1000) / RATE)));
  const pausesMs = { count: pauseList.length, min: Math.min(...pauseList), max: Math.max(...pauseList), at600: pauseList.filter((p) => p >= 600).length };
  const result = { rows, fixtures: fixtures.length, utterances: utterances.length, pausesMs, webrtcCompared: webrtc !== null };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, 'eos-eval.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runEosEval();
  process.stdout.write(`${describeSet(r)}\n${formatRows(r.rows)}\n`);
}
