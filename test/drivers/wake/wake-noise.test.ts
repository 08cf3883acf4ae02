/**
 * `wake.noiseSuppression`: libspeexdsp's denoiser (the real library through koffi) ahead of
 * openWakeWord's models, leaving alone the audio the echo canceller already denoised, and the
 * engine's degrade when the library does not load.
 */
import { describe, expect, it } from 'vitest';
import { atLevel, mix, roomNoise, sequence, synth, ttsMissing } from '../../../bench/fixtures/tts.js';
import { WakeSchema } from '../../../src/config/schema.js';
import { markDenoised, wasDenoised } from '../../../src/drivers/echo/denoised.js';
import { NS_BLOCK, WakeNoiseSuppressor } from '../../../src/drivers/openwakeword/noise.js';
import { OpenWakeWord } from '../../../src/drivers/openwakeword/wake.js';
import { loadSpeexDsp, SpeexUnavailableError, type SpeexDenoiser } from '../../../src/drivers/speex/speexdsp.js';
import { memoryLogger } from '../../../src/log/logger.js';

const missing = ttsMissing();

function energy(pcm: ArrayLike<number>, from = 0, to = pcm.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += pcm[i]! * pcm[i]!;
  return e;
}

/** A denoiser that records the blocks it was given and zeroes them. */
function recordingDenoiser(): SpeexDenoiser & { blocks: number[][] } {
  const blocks: number[][] = [];
  return {
    frameSize: NS_BLOCK,
    blocks,
    process(pcm) {
      blocks.push(Array.from(pcm.subarray(0, 2)));
      pcm.fill(0);
    },
    destroy() {},
  };
}

describe('wake.noiseSuppression config', () => {
  it('is a boolean, off by default', () => {
    expect(WakeSchema.parse({}).noiseSuppression).toBe(false);
    expect(WakeSchema.parse({ noiseSuppression: true }).noiseSuppression).toBe(true);
    const bad = WakeSchema.safeParse({ noiseSuppression: 'yes' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['noiseSuppression']);
  });
});

describe('the wake word noise suppressor', () => {
  it('denoises every 10 ms block of a chunk in place, except blocks the echo canceller already denoised', () => {
    const d = recordingDenoiser();
    const ns = new WakeNoiseSuppressor(d);
    const chunk = new Int16Array(1280).map((_, i) => i + 1);
    // Capture indices 10_000..11_280; the canceller denoised 10_330..10_650 (inside blocks 2-4).
    ns.alreadyDenoised(10_330, 160);
    ns.alreadyDenoised(10_490, 160);
    ns.process(chunk, 11_280);
    expect(d.blocks.map((b) => b[0])).toEqual([1, 161, 801, 961, 1121]);
    for (const k of [2, 3, 4]) expect(chunk[k * 160]).toBe(k * 160 + 1);
    for (const k of [0, 1, 5, 6, 7]) expect(chunk[k * 160]).toBe(0);
    expect(ns.stats).toEqual({ denoisedBlocks: 5, skippedBlocks: 3 });
    // The ranges are forgotten once passed: the next chunk is denoised whole.
    ns.process(new Int16Array(1280), 12_560);
    expect(ns.stats.denoisedBlocks).toBe(13);
  });

  it('tags only the frames it is told about', () => {
    const a = new Int16Array(320);
    markDenoised(a);
    expect(wasDenoised(a)).toBe(true);
    expect(wasDenoised(new Int16Array(320))).toBe(false);
  });

  it('refuses a denoiser with another block size', () => {
    expect(() => new WakeNoiseSuppressor({ ...recordingDenoiser(), frameSize: 320 })).toThrow(/160-sample/);
  });

  it('real libspeexdsp: takes steady room noise down and keeps speech', async () => {
    const dsp = await loadSpeexDsp();
    const d = dsp.createDenoiser({ frameSize: NS_BLOCK, sampleRate: 16000 });
    const ns = new WakeNoiseSuppressor(d);
    const noise = mix(new Int16Array(16000 * 3), roomNoise(16000 * 3, -40, 5));
    const out = Int16Array.from(noise);
    for (let o = 0; o + 1280 <= out.length; o += 1280) ns.process(out.subarray(o, o + 1280), o + 1280);
    // After the first second (the noise estimate settles), at least 6 dB less noise.
    const db = 10 * Math.log10(energy(noise, 16000) / Math.max(1, energy(out, 16000)));
    expect(db).toBeGreaterThan(6);
    ns.destroy();
    expect(() => d.process(new Int16Array(NS_BLOCK))).toThrow(/destroy/);
    d.destroy();
    expect(() => dsp.createDenoiser({ frameSize: 0, sampleRate: 16000 })).toThrow(RangeError);
  });
});

describe('openWakeWord with noiseSuppression', () => {
  it('a library that does not load: one warn line with the reason, the engine runs without it', async () => {
    const mem = memoryLogger('debug');
    const wake = new OpenWakeWord({
      config: WakeSchema.parse({ engine: 'openwakeword', noiseSuppression: true }),
      log: mem.logger,
      loadDsp: async () => {
        throw new SpeexUnavailableError('cannot load libspeexdsp.so.1 (test): sudo apt-get install libspeexdsp1');
      },
    });
    await wake.start();
    expect(wake.status(), mem.text()).toMatchObject({ available: true });
    const warn = mem.lines().filter((l) => l.event === 'wake-noise-suppression-unavailable');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ level: 'warn', reason: expect.stringContaining('apt-get install libspeexdsp1') });
    expect(mem.lines().find((l) => l.event === 'wake-ready')).toMatchObject({ noiseSuppression: false });
    await wake.stop();
  });

  it.skipIf(missing)('real models and real libspeexdsp: hears "hey jarvis" in room noise, and not a sentence', async () => {
    const mem = memoryLogger('debug');
    let max = 0;
    const wake = new OpenWakeWord({
      config: WakeSchema.parse({ engine: 'openwakeword', noiseSuppression: true }),
      log: mem.logger,
      maxBacklogMs: 600_000,
      onScore: (s) => (max = Math.max(max, s)),
    });
    const hits: number[] = [];
    wake.on('detected', (d) => hits.push(d.sampleIndex));
    await wake.start();
    expect(mem.lines().find((l) => l.event === 'wake-ready'), mem.text()).toMatchObject({ noiseSuppression: true });
    const say = (text: string) => atLevel(synth(text, { engine: 'espeak', voice: 'en-us' }), -22);
    const clean = sequence(1500, say('what is the weather like today'), 1000, say('hey jarvis'), 1500);
    const pcm = mix(clean, roomNoise(clean.length, -40, 9));
    for (let i = 0; i + 320 <= pcm.length; i += 320) wake.feed(pcm.subarray(i, i + 320), i);
    await wake.drain();
    await wake.stop();
    expect(hits).toHaveLength(1);
    expect(hits[0]! / 16000).toBeGreaterThan(pcm.length / 16000 - 2.5);
    expect(max).toBeGreaterThan(0.5);
  });
});
