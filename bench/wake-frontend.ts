/**
 * Front-end CPU bench: what listening costs without the wake engine. Per 20 ms capture frame:
 * the pre-roll ring (SampleRing, 500 ms), the Porcupine adapter's re-chunking to 512-sample frames
 * (with a no-op engine), and the VAD. Reported as percent of one core per second of audio.
 * Also the detection path: samples from the keyword's last sample to the `detected` event
 * (bounded by one engine frame) and the CPU time from feed() to the event.
 */
import { performance } from 'node:perf_hooks';
import { SampleRing } from '../src/audio/ring-buffer.js';
import { BandVad } from '../src/audio/vad-band.js';
import { EnergyVad, type Vad } from '../src/audio/vad.js';
import { WakeSchema } from '../src/config/schema.js';
import type { PorcupineEngine } from '../src/drivers/porcupine/engine.js';
import { PorcupineWake } from '../src/drivers/porcupine/wake.js';
import { silentLogger } from '../src/log/logger.js';
import { prng } from './fixtures/eos-fixtures.js';

const RATE = 16000;
const FRAME = 320;
const ENGINE_FRAME = 512;

/** A Porcupine-shaped engine that fires when a frame holds the marker sample. */
class MarkerEngine implements PorcupineEngine {
  readonly frameLength = ENGINE_FRAME;
  readonly sampleRate = RATE;
  process(frame: Int16Array): number {
    for (let i = 0; i < frame.length; i++) if (frame[i] === 32767) return 0;
    return -1;
  }
  release(): void {}
}

/** A Porcupine-shaped engine that does nothing: isolates the adapter's own cost. */
class NullEngine extends MarkerEngine {
  override process(): number {
    return -1;
  }
}

async function makeWake(engine: PorcupineEngine): Promise<PorcupineWake> {
  const wake = new PorcupineWake({
    config: WakeSchema.parse({ engine: 'porcupine', accessKeyEnv: 'BENCH_KEY' }),
    log: silentLogger(),
    env: { BENCH_KEY: 'bench-key' },
    factory: () => engine,
    schedule: () => () => {},
  });
  await wake.start();
  return wake;
}

/** `seconds` of speech-like audio: noise with bursts of harmonics, deterministic. */
function benchAudio(seconds: number): Int16Array {
  const rand = prng(11);
  const out = new Int16Array(seconds * RATE);
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const burst = Math.sin(Math.PI * ((t * 3) % 1)) > 0.4 ? 3000 : 0;
    out[i] = Math.round(burst * Math.sin(2 * Math.PI * 220 * t) + burst * 0.5 * Math.sin(2 * Math.PI * 1700 * t) + (rand() - 0.5) * 200);
  }
  return out;
}

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface FrontendResult {
  audioSeconds: number;
  /** Percent of one core per second of audio, median of runs. */
  cpuPercent: { ringOnly: number; ringFramer: number; ringFramerBandVad: number; ringFramerEnergyVad: number };
  targetPercent: number;
  detection: { engineFrameSamples: number; maxLatencySamples: number; maxLatencyMs: number; feedToEventMicros: number };
}

/** Runs the front end over `seconds` of audio, `runs` times each (default 20 s x 3: a few seconds). */
export async function runFrontendBench(seconds = 20, runs = 3): Promise<FrontendResult> {
  const audio = benchAudio(seconds);
  const frames: Int16Array[] = [];
  for (let i = 0; i + FRAME <= audio.length; i += FRAME) frames.push(audio.subarray(i, i + FRAME));

  const variants: Record<string, (() => Vad) | null> = { none: null, band: () => new BandVad(), energy: () => new EnergyVad() };
  const measure = async (withFramer: boolean, makeVad: (() => Vad) | null): Promise<number> => {
    const results: number[] = [];
    for (let r = 0; r < runs; r++) {
      const ring = new SampleRing(RATE / 2);
      const wake = withFramer ? await makeWake(new NullEngine()) : null;
      const vad = makeVad?.() ?? null;
      const ms = cpuMs(() => {
        let idx = 0;
        for (const f of frames) {
          ring.push(f);
          wake?.feed(f, idx);
          vad?.process(f);
          idx += f.length;
        }
      });
      await wake?.stop();
      results.push((ms / (seconds * 1000)) * 100);
    }
    return Number(median(results).toFixed(3));
  };
  // Warm-up so the JIT has compiled the hot loops before anything is measured.
  await measure(true, variants.band!);

  const cpuPercent = {
    ringOnly: await measure(false, null),
    ringFramer: await measure(true, null),
    ringFramerBandVad: await measure(true, variants.band!),
    ringFramerEnergyVad: await measure(true, variants.energy!),
  };

  // Detection latency: a keyword ending at every offset within an engine frame.
  const wake = await makeWake(new MarkerEngine());
  let lastEvent = { sampleIndex: 0, at: 0 };
  wake.on('detected', (d) => (lastEvent = { sampleIndex: d.sampleIndex, at: performance.now() }));
  let maxLatency = 0;
  const micros: number[] = [];
  let base = 0;
  for (let offset = 0; offset < ENGINE_FRAME; offset += 37) {
    // Each trial is 3 s of silence with the keyword's last sample at `base + 16000 + offset`.
    const trial = new Int16Array(3 * RATE);
    const keywordEnd = RATE + offset;
    trial[keywordEnd] = 32767;
    for (let i = 0; i < trial.length; i += FRAME) {
      const f = trial.subarray(i, i + FRAME);
      const t0 = performance.now();
      wake.feed(f, base + i);
      if (lastEvent.at >= t0 && lastEvent.sampleIndex > base) {
        micros.push((lastEvent.at - t0) * 1000);
        maxLatency = Math.max(maxLatency, lastEvent.sampleIndex - (base + keywordEnd + 1));
      }
    }
    base += trial.length;
  }
  await wake.stop();
  return {
    audioSeconds: seconds,
    cpuPercent,
    targetPercent: 1,
    detection: {
      engineFrameSamples: ENGINE_FRAME,
      maxLatencySamples: maxLatency,
      maxLatencyMs: Number(((maxLatency * 1000) / RATE).toFixed(1)),
      feedToEventMicros: Number(median(micros).toFixed(1)),
    },
  };
}
