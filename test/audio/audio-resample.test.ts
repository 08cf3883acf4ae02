import { describe, expect, it } from 'vitest';
import { CaptureConverter, pickChannel, selectChannel } from '../../src/audio/channels.js';
import { concatPcm } from '../../src/audio/pcm.js';
import { Resampler } from '../../src/audio/resample.js';

/** A sine of `freq` Hz at `rate`, amplitude `amp`, `seconds` long. */
function tone(freq: number, rate: number, seconds: number, amp = 16000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** RMS of the middle of a signal (skips the filter's start-up and the held tail). */
function midRms(x: Int16Array): number {
  const a = Math.floor(x.length * 0.2);
  const b = Math.floor(x.length * 0.8);
  let s = 0;
  for (let i = a; i < b; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (b - a));
}

/** Amplitude of the `freq` component (single-bin DFT over the middle of the signal). */
function amplitudeAt(x: Int16Array, freq: number, rate: number): number {
  const a = Math.floor(x.length * 0.2);
  const b = Math.floor(x.length * 0.8);
  let re = 0;
  let im = 0;
  for (let i = a; i < b; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (b - a);
}

function inChunks(r: { process(x: Int16Array): Int16Array }, x: Int16Array, sizes: number[]): Int16Array {
  const parts: Int16Array[] = [];
  let i = 0;
  let s = 0;
  while (i < x.length) {
    const n = sizes[s++ % sizes.length]!;
    parts.push(Int16Array.from(r.process(x.subarray(i, i + n))));
    i += n;
  }
  return concatPcm(parts);
}

const db = (ratio: number) => 20 * Math.log10(ratio);

describe('Resampler', () => {
  it('keeps a 1 kHz tone at 48 kHz -> 16 kHz within 0.1 dB, at the same frequency', () => {
    const out = new Resampler(48000, 16000).process(tone(1000, 48000, 0.5));
    expect(out.length).toBeGreaterThan(7900);
    expect(out.length).toBeLessThanOrEqual(8000);
    const a = amplitudeAt(out, 1000, 16000);
    expect(Math.abs(db(a / 16000))).toBeLessThan(0.1);
    // Nearly all energy is the 1 kHz component (no distortion products).
    expect(midRms(out)).toBeCloseTo(a / Math.SQRT2, -1);
  });

  it.each([8500, 9000, 12000, 15000, 20000, 23000])('attenuates %i Hz by at least 40 dB at 48 kHz -> 16 kHz', (f) => {
    const out = new Resampler(48000, 16000).process(tone(f, 48000, 0.5));
    expect(db(midRms(out) / (16000 / Math.SQRT2))).toBeLessThan(-40);
  });

  it('a linear interpolator would fail that test (the test can fail)', () => {
    // Plain decimation of a 12 kHz tone aliases to 4 kHz at full level.
    const x = tone(12000, 48000, 0.5);
    const dec = new Int16Array(x.length / 3);
    for (let i = 0; i < dec.length; i++) dec[i] = x[i * 3]!;
    expect(db(midRms(dec) / (16000 / Math.SQRT2))).toBeGreaterThan(-10);
  });

  it('attenuates above 8 kHz from 44.1 kHz and 22.05 kHz too', () => {
    for (const rate of [44100, 22050]) {
      const out = new Resampler(rate, 16000).process(tone(9500, rate, 0.5));
      expect(db(midRms(out) / (16000 / Math.SQRT2))).toBeLessThan(-40);
      const pass = new Resampler(rate, 16000).process(tone(1000, rate, 0.5));
      expect(Math.abs(db(amplitudeAt(pass, 1000, 16000) / 16000))).toBeLessThan(0.1);
    }
  });

  it('upsamples 16 kHz -> 48 kHz without images', () => {
    const out = new Resampler(16000, 48000).process(tone(3000, 16000, 0.5));
    expect(out.length).toBeGreaterThan(23900);
    expect(Math.abs(db(amplitudeAt(out, 3000, 48000) / 16000))).toBeLessThan(0.1);
    // The image of 3 kHz at 16 kHz - 3 kHz = 13 kHz must be gone.
    expect(db(amplitudeAt(out, 13000, 48000) / 16000)).toBeLessThan(-50);
  });

  it('gives the same samples whatever the chunking (state carries across calls)', () => {
    const x = tone(700, 22050, 0.3);
    const whole = new Resampler(22050, 16000).process(x);
    const chunked = inChunks(new Resampler(22050, 16000), x, [1, 7, 320, 441, 1000, 3]);
    expect(chunked.length).toBe(whole.length);
    expect(Array.from(chunked)).toEqual(Array.from(whole));
  });

  it('keeps the exact rate ratio over long streams (no drift)', () => {
    const r = new Resampler(44100, 16000);
    let outCount = 0;
    for (let i = 0; i < 100; i++) outCount += r.process(new Int16Array(4410)).length; // 10 s
    outCount += r.flush().length;
    expect(Math.abs(outCount - 160000)).toBeLessThanOrEqual(1);
  });

  it('is aligned with its input (group delay compensated)', () => {
    const x = new Int16Array(4800);
    x[2400] = 30000; // impulse at 50 ms
    const out = new Resampler(48000, 16000).process(x);
    let peak = 0;
    for (let i = 1; i < out.length; i++) if (Math.abs(out[i]!) > Math.abs(out[peak]!)) peak = i;
    expect(peak).toBe(800);
  });

  it('passes audio through untouched at equal rates, and rejects bad rates', () => {
    const x = tone(440, 16000, 0.1);
    expect(new Resampler(16000, 16000).process(x)).toBe(x);
    expect(() => new Resampler(0, 16000)).toThrow(/bad sample rates/);
    expect(() => new Resampler(16001, 44099)).toThrow(/standard audio rates/);
  });
});

describe('channel conversion', () => {
  const stereo = Int16Array.from([1, 100, 2, 200, 3, 300]);

  it('picks a channel or mixes', () => {
    expect(Array.from(pickChannel(stereo, 2, 1))).toEqual([100, 200, 300]);
    expect(Array.from(selectChannel(stereo, 2, 'mix'))).toEqual([51, 101, 152]);
    expect(() => pickChannel(stereo, 2, 2)).toThrow(/channel 2 does not exist/);
  });

  it('CaptureConverter: 48 kHz 4-channel, channel 2, split mid-frame -> 16 kHz mono of that channel', () => {
    const t = tone(1000, 48000, 0.3);
    const quad = new Int16Array(t.length * 4);
    for (let i = 0; i < t.length; i++) {
      quad[i * 4] = 5000; // DC on other channels must not leak in
      quad[i * 4 + 2] = t[i]!;
    }
    const conv = new CaptureConverter({ sampleRate: 48000, channels: 4 }, 16000, 2);
    const out = inChunks(conv, quad, [3, 961, 1024, 5]);
    const ref = new Resampler(48000, 16000).process(t);
    expect(Array.from(out)).toEqual(Array.from(ref));
  });

  it('CaptureConverter names the bad channel clearly', () => {
    expect(() => new CaptureConverter({ sampleRate: 48000, channels: 2 }, 16000, 3)).toThrow(
      'microphone channel 3 does not exist: the device captures 2 channel(s), numbered from 0',
    );
  });
});
