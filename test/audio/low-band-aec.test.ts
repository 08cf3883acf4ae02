/**
 * The low-band echo canceller (audio.echoBand: low): the half-band split, the exact delayed
 * identity when the inner canceller changes nothing, the band above 4 kHz following what the
 * inner canceller took off below, the history taken over after pass-through, and the fact it
 * rests on: openWakeWord's mel front end reads nothing above 4 kHz.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EchoCanceller, type AecEngine } from '../../src/audio/echo-cancel.js';
import { EchoReference } from '../../src/audio/echo-reference.js';
import { HALF_BAND_TAPS, halfBandFilter, LOW_BAND_DELAY, LowBandAec } from '../../src/audio/low-band-aec.js';
import { AudioSchema } from '../../src/config/schema.js';
import { cancelsLowBand, createEchoEngine } from '../../src/drivers/echo/engine.js';
import { resolveModelFiles } from '../../src/drivers/openwakeword/models.js';
import { initializerFloats, parseOnnx } from '../../src/drivers/openwakeword/onnx-proto.js';
import type { SpeexCancellerOptions, SpeexDsp } from '../../src/drivers/speex/speexdsp.js';

const RATE = 16000;

/** |H(f)| in dB of the taps `h` at `hz` (16 kHz). */
function responseDb(h: Float64Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < h.length; n++) {
    re += h[n]! * Math.cos((2 * Math.PI * hz * n) / RATE);
    im -= h[n]! * Math.sin((2 * Math.PI * hz * n) / RATE);
  }
  return 20 * Math.log10(Math.hypot(re, im));
}

function tone(hz: number, samples: number, amplitude: number, phase = 0): Int16Array {
  return Int16Array.from({ length: samples }, (_, n) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / RATE + phase)));
}

function add(a: Int16Array, b: Int16Array): Int16Array {
  return Int16Array.from(a, (v, i) => v + b[i]!);
}

function rms(pcm: ArrayLike<number>, from = 0, to = pcm.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += pcm[i]! * pcm[i]!;
  return Math.sqrt(e / (to - from));
}

/** An inner canceller at 8 kHz (80-sample blocks) that writes `f(rec)`; it records what it was given. */
function inner(f: (rec: Int16Array, ref: Int16Array, out: Int16Array) => void) {
  const seen: { rec: Int16Array[]; ref: Int16Array[] } = { rec: [], ref: [] };
  let destroyed = 0;
  const engine: AecEngine = {
    frameSize: 80,
    process(rec, ref, out) {
      seen.rec.push(Int16Array.from(rec));
      seen.ref.push(Int16Array.from(ref));
      f(rec, ref, out);
    },
    destroy: () => void destroyed++,
  };
  return { engine, seen, destroyed: () => destroyed };
}

/** Runs `input` through `aec` block by block (the reference: `ref`, or silence). */
function run(aec: LowBandAec, input: Int16Array, ref?: Int16Array): Int16Array {
  const out = new Int16Array(input.length);
  const block = new Int16Array(aec.frameSize);
  for (let o = 0; o + aec.frameSize <= input.length; o += aec.frameSize) {
    aec.process(input.subarray(o, o + aec.frameSize), ref ? ref.subarray(o, o + aec.frameSize) : new Int16Array(aec.frameSize), block);
    out.set(block, o);
  }
  return out;
}

describe('the half-band split', () => {
  it('47 taps, symmetric, zero at even distances from the centre, DC gain exactly 1', () => {
    const h = halfBandFilter();
    expect(h).toHaveLength(HALF_BAND_TAPS);
    expect(LOW_BAND_DELAY).toBe(46);
    const c = (h.length - 1) / 2;
    expect(h[c]).toBe(0.5);
    for (let d = 1; d <= c; d++) {
      expect(h[c - d]).toBe(h[c + d]);
      if (d % 2 === 0) expect(h[c + d]).toBe(0);
      else expect(h[c + d]).not.toBe(0);
    }
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(() => halfBandFilter(48)).toThrow(RangeError);
  });

  it('keeps the wake word’s band (flat to 0.05 dB below 3.4 kHz) and stops above 4.6 kHz (< -40 dB)', () => {
    const h = halfBandFilter();
    for (let hz = 0; hz <= 3400; hz += 100) expect(Math.abs(responseDb(h, hz)), `${hz} Hz`).toBeLessThan(0.05);
    expect(responseDb(h, 4000)).toBeCloseTo(-6.02, 1);
    for (let hz = 4600; hz <= 8000; hz += 100) expect(responseDb(h, hz), `${hz} Hz`).toBeLessThan(-40);
  });

  it('openWakeWord’s mel front end reads nothing at or above 3.8 kHz (the band the split leaves to a gain)', () => {
    const mel = parseOnnx(readFileSync(resolveModelFiles({ keyword: 'hey_jarvis' }).mel));
    const matrices = [...mel.initializers.values()].filter((t) => t.dims.length === 2 && t.dims[0] === 257);
    expect(matrices).toHaveLength(1);
    const m = matrices[0]!;
    const w = initializerFloats(m)!;
    const filters = m.dims[1]!;
    let highest = -1;
    for (let bin = 0; bin < 257; bin++) for (let j = 0; j < filters; j++) if (w[bin * filters + j] !== 0) highest = Math.max(highest, bin);
    // 512-point transform at 16 kHz: bin b is b * 31.25 Hz.
    expect((highest * RATE) / 512).toBeLessThan(3800);
    expect((highest * RATE) / 512).toBeGreaterThan(3000);
  });
});

describe('LowBandAec', () => {
  const speechLike = () => add(add(tone(440, 8000, 6000), tone(2500, 8000, 3000, 1)), tone(6000, 8000, 2000, 2));

  it('with an inner canceller that changes nothing, the output is the input 46 samples later, sample for sample', () => {
    const i = inner((rec, _ref, out) => out.set(rec));
    const aec = new LowBandAec(i.engine);
    expect(aec.frameSize).toBe(160);
    const input = add(speechLike(), Int16Array.from({ length: 8000 }, (_, n) => ((n * 7919) % 2001) - 1000));
    const out = run(aec, input);
    for (let n = 0; n < LOW_BAND_DELAY; n++) expect(out[n]).toBe(0);
    for (let n = LOW_BAND_DELAY; n < input.length; n++) if (out[n] !== input[n - LOW_BAND_DELAY]) expect.fail(`sample ${n}: ${out[n]} vs ${input[n - LOW_BAND_DELAY]}`);
    aec.destroy();
    expect(i.destroyed()).toBe(1);
  });

  it('gives the inner canceller the band below 4 kHz at 8 kHz, capture and reference alike', () => {
    const i = inner((rec, _ref, out) => out.set(rec));
    const aec = new LowBandAec(i.engine);
    run(aec, tone(1000, 8000, 8000), tone(6000, 8000, 8000));
    const rec = Int16Array.from(i.seen.rec.flatMap((b) => [...b]));
    const ref = Int16Array.from(i.seen.ref.flatMap((b) => [...b]));
    expect(rec).toHaveLength(4000);
    expect(i.seen.rec.every((b) => b.length === 80)).toBe(true);
    // The 1 kHz tone is whole (amplitude 8000: rms 5657); the 6 kHz reference is gone.
    expect(Math.abs(rms(rec, 100) / (8000 / Math.SQRT2) - 1)).toBeLessThan(0.005);
    expect(20 * Math.log10(rms(ref, 100) / (8000 / Math.SQRT2))).toBeLessThan(-40);
    // 1 kHz at 8 kHz: 8 samples a period.
    const lag8 = rec.slice(100, 3900).reduce((a, v, k) => a + v * rec[100 + k + 8]!, 0);
    const lag4 = rec.slice(100, 3900).reduce((a, v, k) => a + v * rec[100 + k + 4]!, 0);
    expect(lag8).toBeGreaterThan(0);
    expect(lag4).toBeLessThan(0);
  });

  it('turns the band above 4 kHz down by as much as the inner canceller took off below', () => {
    const input = speechLike();
    const half = run(new LowBandAec(inner((rec, _ref, out) => out.set(rec.map((v) => Math.round(v / 2)))).engine), input);
    const gone = run(new LowBandAec(inner((_rec, _ref, out) => out.fill(0)).engine), input);
    const delayed = new Int16Array(input.length);
    delayed.set(input.subarray(0, input.length - LOW_BAND_DELAY), LOW_BAND_DELAY);
    // Halved below 4 kHz, so halved above: the whole output is the delayed input at half.
    const err = Int16Array.from(half, (v, n) => v - Math.round(delayed[n]! / 2));
    expect(rms(err, 640) / rms(delayed, 640)).toBeLessThan(0.005);
    // All taken off below: nothing left above either (the 6 kHz tone included).
    expect(rms(gone, 640)).toBeLessThan(2);
  });

  it('below about -70 dBFS the gain is not measured: the band above keeps the last one', () => {
    // The inner canceller takes everything off; then the low band goes quiet and only 6 kHz remains.
    const i = inner((_rec, _ref, out) => out.fill(0));
    const aec = new LowBandAec(i.engine);
    const high = tone(6000, 3200, 4000);
    const loud = add(tone(500, 3200, 8000), high);
    const out = run(aec, Int16Array.from([...loud, ...high]));
    expect(rms(out, 3200 + 640)).toBeLessThan(2);
    // With the inner canceller changing nothing, the same quiet low band leaves the 6 kHz tone at full level.
    const kept = run(new LowBandAec(inner((rec, _ref, out) => out.set(rec)).engine), Int16Array.from([...loud, ...high]));
    expect(rms(kept, 3200 + 640)).toBeCloseTo(4000 / Math.SQRT2, -1);
  });

  it('taking over from pass-through and handing back, it fades: no repeated or skipped step, no click', () => {
    const i = inner((rec, _ref, out) => out.set(rec));
    const ref = new EchoReference();
    const c = new EchoCanceller(new LowBandAec(i.engine), ref, 1600);
    // 46 samples are half a period of this tone: a jump by the delay would be a full swing.
    const input = tone(8000 / LOW_BAND_DELAY, 9600, 10000);
    ref.write(new Int16Array(3200).fill(100), 3200);
    const out = new Int16Array(input.length);
    // Capture drivers hand a new array per frame.
    for (let o = 0; o < input.length; o += 320) out.set(c.process(input.slice(o, o + 320), o), o);
    expect(c.stats.passedFrames).toBeGreaterThan(0);
    expect(c.stats.cancelledFrames).toBeGreaterThan(0);
    // Passed through; one engine block (160 samples) fading to the input 46 samples late; that
    // until the reference's tail is over; one frame (320) fading back; passed through again.
    for (let n = 0; n < 3200; n++) expect(out[n]).toBe(input[n]);
    const back = 3200 + 3200 + 1600;
    for (let n = 3200 + 160; n < back; n++) if (out[n] !== input[n - LOW_BAND_DELAY]) expect.fail(`sample ${n}`);
    for (let n = back + 320; n < input.length; n++) expect(out[n]).toBe(input[n]);
    // The tone's own largest step is 2 pi 174 / 16000 * 10000 = 683; a jump by the delay, 20000.
    let step = 0;
    for (let n = 1; n < out.length; n++) step = Math.max(step, Math.abs(out[n]! - out[n - 1]!));
    expect(step).toBeLessThan(800);
  });

  it('resume(null) starts from silence (a driver that refills one array hands no history)', () => {
    const i = inner((rec, _ref, out) => out.set(rec));
    const aec = new LowBandAec(i.engine);
    run(aec, tone(700, 1600, 10000));
    aec.resume(null);
    const input = tone(700, 1600, 10000);
    const out = run(aec, input);
    // The delayed half of the fade holds silence, not the tone before: only the capture's fading share.
    for (let n = 0; n < LOW_BAND_DELAY; n++) expect(out[n]).toBe(Math.round((1 - (n + 1) / 160) * input[n]!));
  });
});

describe('createEchoEngine (audio.echoBand)', () => {
  /** A SpeexDsp that records the cancellers asked for. */
  function dsp() {
    const asked: SpeexCancellerOptions[] = [];
    const d: SpeexDsp = {
      createCanceller(o) {
        asked.push(o);
        return { frameSize: o.frameSize, process: (rec, _ref, out) => out.set(rec), destroy: () => {} };
      },
      createDenoiser: () => {
        throw new Error('unused');
      },
    };
    return { d, asked };
  }

  it('low (the default) runs libspeexdsp at 8 kHz on half the block and half the tail; full at the capture rate', () => {
    expect(AudioSchema.parse({}).echoBand).toBe('low');
    expect(() => AudioSchema.parse({ echoBand: 'high' })).toThrow(/low|full/);
    const low = dsp();
    expect(createEchoEngine(low.d, { frameSize: 160, tailSamples: 3200, sampleRate: 16000, echoSuppressActiveDb: -25 })).toBeInstanceOf(LowBandAec);
    expect(low.asked).toEqual([{ frameSize: 80, filterLength: 1600, sampleRate: 8000, echoSuppressActiveDb: -25 }]);
    const full = dsp();
    expect(createEchoEngine(full.d, { frameSize: 160, tailSamples: 3200, sampleRate: 16000, band: 'full' })).not.toBeInstanceOf(LowBandAec);
    expect(full.asked).toEqual([{ frameSize: 160, filterLength: 3200, sampleRate: 16000 }]);
  });

  it('falls back to the whole band where the split does not apply (not 16 kHz, odd block)', () => {
    expect(cancelsLowBand({ band: 'low', sampleRate: 16000, frameSize: 160 })).toBe(true);
    expect(cancelsLowBand({ band: 'low', sampleRate: 48000, frameSize: 480 })).toBe(false);
    expect(cancelsLowBand({ band: 'low', sampleRate: 16000, frameSize: 81 })).toBe(false);
    const d = dsp();
    expect(createEchoEngine(d.d, { frameSize: 480, tailSamples: 9600, sampleRate: 48000 })).not.toBeInstanceOf(LowBandAec);
    expect(d.asked[0]).toMatchObject({ frameSize: 480, sampleRate: 48000 });
  });
});
