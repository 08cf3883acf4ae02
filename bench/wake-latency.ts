/**
 * Detection -> `audio_start` sent: the real agent (session, gateway client over real ws to the
 * bundled local gateway on loopback) with the Porcupine adapter over a Porcupine-shaped engine
 * that fires on a marker sample. For each trial, one capture frame carrying the keyword's end goes
 * into the mic; measured: wall time from that push to the session's `audio_start` mark (which is
 * emitted after the message was handed to the socket), and in audio samples, from the keyword's
 * last sample to the end of the engine frame that reported it (target: <= one engine frame).
 */
import { performance } from 'node:perf_hooks';
import { createAgent } from '../src/agent.js';
import { parseConfig } from '../src/config/load.js';
import { WakeSchema } from '../src/config/schema.js';
import type { PorcupineEngine } from '../src/drivers/porcupine/engine.js';
import { PorcupineWake } from '../src/drivers/porcupine/wake.js';
import { FakeGpio, FakeMic, FakeSpeaker } from '../test/fakes/index.js';
import { LocalGateway } from '../src/local-gateway/server.js';
import { silentLogger } from '../src/log/logger.js';

const ENGINE_FRAME = 512;
const FRAME = 320;
const MARK = 32767;

class MarkerEngine implements PorcupineEngine {
  readonly frameLength = ENGINE_FRAME;
  readonly sampleRate = 16000;
  process(frame: Int16Array): number {
    for (let i = 0; i < frame.length; i++) if (frame[i] === MARK) return 0;
    return -1;
  }
  release(): void {}
}

export interface LatencyResult {
  trials: number;
  /** Wall time from the mic frame carrying the keyword end to `audio_start` handed to the socket, ms. */
  wallMs: { median: number; p95: number; max: number };
  /** Keyword end -> detection, in samples (bounded by the engine frame). */
  maxAudioLatencySamples: number;
  engineFrameSamples: number;
}

function q(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Runs `trials` wake-word turns (default 40, about a second). */
export async function runWakeLatencyBench(trials = 40): Promise<LatencyResult> {
  const log = silentLogger();
  const gw = new LocalGateway({ log, speech: 'tone', pace: 0 });
  await gw.start();
  const config = parseConfig({ gateway: { url: gw.url }, audio: { mic: 'wav:unused.wav', speaker: 'wav:unused.wav' } });
  const mic = new FakeMic();
  const wake = new PorcupineWake({
    config: WakeSchema.parse({ engine: 'porcupine', accessKeyEnv: 'BENCH_KEY', refractoryMs: 0 }),
    log,
    env: { BENCH_KEY: 'bench-key' },
    factory: () => new MarkerEngine(),
    schedule: () => () => {},
  });
  const agent = await createAgent(config, { log, controlSocket: null, overrides: { mic, speaker: new FakeSpeaker(), gpio: new FakeGpio(), wake } });
  await agent.start();
  const deadline = Date.now() + 5000;
  while (!agent.session.state.connected) {
    if (Date.now() > deadline) throw new Error('local gateway did not connect');
    await new Promise((r) => setTimeout(r, 5));
  }
  let audioStartAt = -1;
  agent.session.on('timeline', (m) => {
    if (m.mark === 'audio_start') audioStartAt = m.t;
  });
  let detectedIndex = -1;
  wake.on('detected', (d) => (detectedIndex = d.sampleIndex));

  const wall: number[] = [];
  let maxAudio = 0;
  let fed = 0;
  const silence = new Int16Array(FRAME);
  for (let t = 0; t < trials; t++) {
    // Idle audio, then the keyword's end at a different offset each time.
    for (let i = 0; i < 25; i++) mic.push(silence, FRAME);
    fed += 25 * FRAME;
    const frame = new Int16Array(FRAME);
    const offset = (t * 53) % FRAME;
    frame[offset] = MARK;
    const keywordEnd = fed + offset;
    audioStartAt = -1;
    const t0 = performance.now();
    mic.push(frame, FRAME);
    fed += FRAME;
    // The engine frame holding the keyword end may complete one or two capture frames later.
    for (let extra = 0; extra < 2 && audioStartAt < 0; extra++) {
      mic.push(silence, FRAME);
      fed += FRAME;
    }
    if (audioStartAt < 0) throw new Error(`trial ${t}: no audio_start after the keyword (phase ${agent.session.status().phase}, detected ${detectedIndex}, end ${keywordEnd})`);
    wall.push(audioStartAt - t0);
    maxAudio = Math.max(maxAudio, detectedIndex - (keywordEnd + 1));
    agent.session.stopAll();
    await new Promise((r) => setImmediate(r));
  }
  await agent.stop();
  await gw.stop();
  wall.sort((a, b) => a - b);
  const r3 = (v: number) => Number(v.toFixed(3));
  return {
    trials,
    wallMs: { median: r3(q(wall, 0.5)), p95: r3(q(wall, 0.95)), max: r3(wall[wall.length - 1]!) },
    maxAudioLatencySamples: maxAudio,
    engineFrameSamples: ENGINE_FRAME,
  };
}
