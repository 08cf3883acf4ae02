/**
 * The time stretch of the wake word's second look (WSOLA): the copy is longer by the factor and
 * keeps the pitch, so a voice said slower sounds like the same voice.
 */
import { describe, expect, it } from 'vitest';
import { stretch } from '../../../src/drivers/openwakeword/stretch.js';

const RATE = 16000;

function tone(hz: number, seconds: number, amplitude = 8000): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / RATE);
  return out;
}

/** Frequency from upward zero crossings over the middle of the signal, Hz. */
function pitch(x: Float32Array): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if (x[i - 1]! < 0 && x[i]! >= 0) crossings++;
  return (crossings * RATE) / (to - from);
}

function rms(x: Float32Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return Math.sqrt(e / (to - from));
}

describe('stretch (WSOLA)', () => {
  it.each([1.15, 1.2, 1.25])('makes a tone %fx longer at the same pitch and level', (factor) => {
    const x = tone(210, 1);
    const y = stretch(x, { factor });
    expect(y.length).toBe(Math.floor(x.length * factor));
    expect(pitch(y)).toBeCloseTo(210, -1);
    expect(Math.abs(pitch(y) - 210)).toBeLessThan(3);
    // Overlap-add of aligned frames keeps the level (no comb-filter dips).
    expect(rms(y, 1000, y.length - 1000) / rms(x, 1000, x.length - 1000)).toBeGreaterThan(0.95);
    expect(rms(y, 1000, y.length - 1000) / rms(x, 1000, x.length - 1000)).toBeLessThan(1.05);
  });

  it('keeps where things happen, scaled: a burst at 0.5 s lands at 0.6 s when stretched 1.2x', () => {
    const x = new Float32Array(RATE);
    x.set(tone(300, 0.1), RATE / 2);
    const y = stretch(x, { factor: 1.2 });
    const onset = y.findIndex((v) => Math.abs(v) > 1000);
    expect(Math.abs(onset - 0.6 * RATE)).toBeLessThan(200);
    // Its length scales too: 100 ms -> about 120 ms.
    let last = y.length - 1;
    while (last > 0 && Math.abs(y[last]!) <= 1000) last--;
    expect(Math.abs(last - onset - 0.12 * RATE)).toBeLessThan(240);
  });

  it('factor 1 gives the input back, and short or bad input is handled', () => {
    const x = tone(180, 0.5);
    const y = stretch(x, { factor: 1 });
    let worst = 0;
    // All but the last half frame, which only one window covers.
    for (let i = 0; i < x.length - 160; i++) worst = Math.max(worst, Math.abs(y[i]! - x[i]!));
    expect(worst).toBeLessThan(1);
    expect(stretch(new Float32Array(100).fill(5), { factor: 1.2 })).toHaveLength(120);
    expect(stretch(new Float32Array(0), { factor: 1.2 })).toHaveLength(0);
    expect(() => stretch(x, { factor: 0 })).toThrow(RangeError);
    expect(() => stretch(x, { factor: 1.2, frame: 321 })).toThrow(RangeError);
  });
});
