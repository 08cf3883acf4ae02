/**
 * `speaker-agent test-audio --echo`: plays a chirp and finds it in the microphone, to measure
 * how late the echo arrives relative to where the echo canceller places its reference. The
 * reference is placed exactly as the canceller places it (the speaker driver's `output`
 * reports on the capture clock), so the lag found is the correction `audio.echoDelayMs` needs.
 */
import { CaptureClock } from '../audio/capture-clock.js';
import { EchoReference } from '../audio/echo-reference.js';
import { CORE_FORMAT } from '../audio/format.js';
import { PlaybackTap } from '../audio/playback-tap.js';
import { int16ToBytes } from '../audio/wav.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';

const RATE = CORE_FORMAT.sampleRate;
/** Lags searched, ms: the echo may come a little before the reference (late reports) or long after. */
const MIN_LAG_MS = -100;
const MAX_LAG_MS = 600;

export interface EchoMeasurement {
  /** How much later than its reference the echo arrives, ms (NaN when not found). */
  lagMs: number;
  /** Normalised correlation at that lag, 0-1 (above ~0.3 the echo is clearly there). */
  correlation: number;
  /** Echo level relative to what was played, dB. */
  echoDb: number;
  /** What to do, for a person. */
  advice: string;
}

/** A logarithmic sweep from 300 Hz to 3 kHz with 20 ms fades, at -12 dBFS. */
export function chirp(ms = 1000): Int16Array {
  const n = Math.round((ms * RATE) / 1000);
  const out = new Int16Array(n);
  const f0 = 300;
  const f1 = 3000;
  const k = Math.log(f1 / f0);
  const T = n / RATE;
  const fade = 0.02 * RATE;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const phase = ((2 * Math.PI * f0 * T) / k) * (Math.exp((t / T) * k) - 1);
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = Math.round(8000 * env * Math.sin(phase));
  }
  return out;
}

/**
 * Finds `ref` inside `mic` (same timeline) at a lag in [minLag, maxLag] samples: normalised
 * cross-correlation, coarse on 4x decimated signals, then refined at the full rate.
 */
export function findLag(mic: Int16Array, ref: Int16Array, minLag: number, maxLag: number): { lag: number; correlation: number; gain: number } {
  const corr = (a: Float64Array | Int16Array, b: Float64Array | Int16Array, lag: number): { c: number; gain: number } => {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = Math.max(0, -lag); i < b.length && i + lag < a.length; i++) {
      const x = b[i]!;
      const y = a[i + lag]!;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    return { c: xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0, gain: xx > 0 ? Math.sqrt(yy / xx) : 0 };
  };
  const decimate = (x: Int16Array): Float64Array => {
    const out = new Float64Array(Math.floor(x.length / 4));
    for (let i = 0; i < out.length; i++) out[i] = x[4 * i]! + x[4 * i + 1]! + x[4 * i + 2]! + x[4 * i + 3]!;
    return out;
  };
  const dm = decimate(mic);
  const dr = decimate(ref);
  let best = { lag: 0, c: -1 };
  for (let lag = Math.floor(minLag / 4); lag <= Math.ceil(maxLag / 4); lag++) {
    const c = Math.abs(corr(dm, dr, lag).c);
    if (c > best.c) best = { lag: lag * 4, c };
  }
  let fine = { lag: best.lag, c: -1, gain: 0 };
  for (let lag = best.lag - 6; lag <= best.lag + 6; lag++) {
    const r = corr(mic, ref, lag);
    if (Math.abs(r.c) > fine.c) fine = { lag, c: Math.abs(r.c), gain: r.gain };
  }
  return { lag: fine.lag, correlation: fine.c, gain: fine.gain };
}

/** Plays a chirp through the configured speaker while recording, and measures the echo. */
export async function measureEcho(config: Config, io: { write: (s: string) => void; log: Logger }): Promise<EchoMeasurement> {
  const { createAudio } = await import('../drivers/registry.js');
  // The raw microphone: measuring through the canceller would hide what is measured.
  const { mic, speaker } = await createAudio({ ...config, audio: { ...config.audio, echoCancel: 'off' } }, io.log);
  const clock = new CaptureClock(RATE);
  const reference = new EchoReference();
  const tap = new PlaybackTap({ output: speaker, reference, clock });
  const frames: { pcm: Int16Array; sampleIndex: number }[] = [];
  mic.on('frame', (f) => {
    clock.observe(f.sampleIndex + f.pcm.length, performance.now());
    frames.push({ pcm: Int16Array.from(f.pcm), sampleIndex: f.sampleIndex });
  });
  await speaker.start();
  speaker.setVolume(config.audio.volume);
  await mic.start();
  tap.attach();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  io.write(`Playing a chirp on ${config.audio.speaker} and listening on ${config.audio.mic}...\n`);
  await sleep(500);
  const drained = new Promise<void>((resolve) => speaker.once('drained', () => resolve()));
  speaker.write(int16ToBytes(chirp()), CORE_FORMAT);
  speaker.end();
  await drained;
  await sleep(MAX_LAG_MS + 200);
  tap.detach();
  await mic.stop();
  await speaker.close();
  if (frames.length === 0) return { lagMs: Number.NaN, correlation: 0, echoDb: -100, advice: 'the microphone delivered no audio' };
  const first = frames[0]!.sampleIndex;
  const last = frames[frames.length - 1]!;
  const rec = new Int16Array(last.sampleIndex + last.pcm.length - first);
  for (const f of frames) rec.set(f.pcm, f.sampleIndex - first);
  const ref = new Int16Array(rec.length);
  reference.read(ref, first);
  const { lag, correlation, gain } = findLag(rec, ref, (MIN_LAG_MS * RATE) / 1000, (MAX_LAG_MS * RATE) / 1000);
  const lagMs = (lag * 1000) / RATE;
  const echoDb = gain > 0 ? 20 * Math.log10(gain) : -100;
  let advice: string;
  if (correlation < 0.2) {
    advice = 'no echo found: is the speaker on and audible to the microphone? (raise the volume and try again)';
  } else {
    // Keep the reference ~10 ms ahead of the echo: the filter only models echoes after it, and
    // in the simulated room 10 ms ahead cancelled better than 20 or 40 ms ahead.
    const margin = 10;
    const suggested = Math.round((config.audio.echoDelayMs + lagMs - margin) / 5) * 5;
    const covered = lagMs >= 0 && lagMs + 60 <= config.audio.echoTailMs;
    advice = covered
      ? `the canceller covers this (echo tail ${config.audio.echoTailMs} ms); optionally set audio.echoDelayMs: ${Math.max(0, suggested)}`
      : suggested < 0
        ? 'the echo arrives before the reference: the speaker driver reports late; lower audio.echoDelayMs to 0 and report this'
        : `set audio.echoDelayMs: ${suggested} (or raise audio.echoTailMs above ${Math.ceil((lagMs + 80) / 10) * 10})`;
  }
  return { lagMs, correlation, echoDb, advice };
}
