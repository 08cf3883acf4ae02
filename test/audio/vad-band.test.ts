/**
 * BandVad on synthetic signals: speech-like syllable trains over quiet, fan-like and hiss noise.
 * Times are asserted in samples (not wall clock).
 */
import { describe, expect, it } from 'vitest';
import { VadSchema } from '../../src/config/schema.js';
import { BandVad } from '../../src/audio/vad-band.js';
import { createVad } from '../../src/audio/vad-factory.js';
import { EnergyVad, type Vad, type VadEvent } from '../../src/audio/vad.js';
import { prng } from '../../bench/fixtures/eos-fixtures.js';

const FS = 16000;
const ms = (m: number) => Math.round((m * FS) / 1000);

/** Deterministic noise in [-0.5, 0.5), the same every run (the fixtures' mulberry32). */
function rng(seed: number) {
  const r = prng(seed);
  return () => r() - 0.5;
}

/** A signal under construction: float samples at 16 kHz, full scale = 1. */
class Signal {
  readonly x: Float64Array;
  constructor(totalMs: number) {
    this.x = new Float64Array(ms(totalMs));
  }
  /**
   * Adds a train of syllables (voiced harmonics + a little fricative hiss) from `startMs`;
   * `levelDb` is the peak amplitude (the RMS is about 12 dB lower). Returns the end, ms.
   */
  speech(startMs: number, syllables: number, levelDb: number, seed = 1): number {
    const r = rng(seed);
    const amp = 10 ** (levelDb / 20);
    let at = ms(startMs);
    for (let s = 0; s < syllables; s++) {
      const len = ms(150 + ((s * 37) % 100));
      const f0 = 110 + ((s * 13) % 40);
      for (let i = 0; i < len && at + i < this.x.length; i++) {
        const env = Math.sin((Math.PI * i) / len); // rises and falls to zero at both ends
        const t = (at + i) / FS;
        let v = 0;
        for (const h of [2, 4, 7, 13, 21]) v += Math.sin(2 * Math.PI * f0 * h * t) / h ** 0.5;
        this.x[at + i]! += amp * env * (0.3 * v + 0.2 * r());
      }
      at += len + ms(40); // short dip between syllables, as in real speech
    }
    return (at - ms(40)) * (1000 / FS); // end of the last syllable, ms
  }
  /** Adds white noise (`lowpassHz` > 0: fan-like, low-passed twice) at `levelDb` dBFS RMS. */
  noise(levelDb: number, lowpassHz = 0, seed = 7): this {
    const r = rng(seed);
    const a = lowpassHz > 0 ? Math.exp((-2 * Math.PI * lowpassHz) / FS) : 0;
    const raw = new Float64Array(this.x.length);
    let y1 = 0;
    let y2 = 0;
    let sum = 0;
    for (let i = 0; i < raw.length; i++) {
      y1 = a * y1 + (1 - a) * r();
      y2 = a * y2 + (1 - a) * y1;
      raw[i] = y2;
      sum += y2 * y2;
    }
    const gain = 10 ** (levelDb / 20) / Math.sqrt(sum / raw.length);
    for (let i = 0; i < raw.length; i++) this.x[i]! += raw[i]! * gain;
    return this;
  }
  pcm(): Int16Array {
    return Int16Array.from(this.x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
  }
}

/** Feeds `pcm` in `frame`-sample frames; returns each event with the sample index ending its frame. */
function run(vad: Vad, pcm: Int16Array, frame = 320): { event: VadEvent; at: number }[] {
  const out: { event: VadEvent; at: number }[] = [];
  for (let i = 0; i < pcm.length; i += frame) {
    const chunk = pcm.subarray(i, Math.min(pcm.length, i + frame));
    const e = vad.process(chunk);
    if (e) out.push({ event: e, at: i + chunk.length });
  }
  return out;
}

/** Two phrases separated by `pauseMs` of noise-only audio; returns the pcm and the true end. */
function twoPhrases(pauseMs: number, noise: (s: Signal) => void, speechDb = -20) {
  const s = new Signal(6000);
  const end1 = s.speech(1000, 5, speechDb, 1);
  const end2 = s.speech(end1 + pauseMs, 4, speechDb, 2);
  noise(s);
  return { pcm: s.pcm(), end: ms(end2), start: ms(1000) };
}

const NOISES: Record<string, (s: Signal) => void> = {
  quiet: (s) => s.noise(-75),
  hiss: (s) => s.noise(-55),
  fan: (s) => s.noise(-46, 300),
};

/** Longest acceptable end delay per noise: the hang-over (750 ms), up to 300 ms more in noise, smoothing. */
const MAX_DELAY_MS: Record<string, number> = { quiet: 850, hiss: 1150, fan: 1150 };

describe('BandVad', () => {
  for (const [name, addNoise] of Object.entries(NOISES)) {
    it(`${name}: a 600 ms pause inside speech does not end it; the real end does, within ${MAX_DELAY_MS[name]} ms`, () => {
      const { pcm, end, start } = twoPhrases(600, addNoise);
      const events = run(new BandVad(), pcm);
      expect(events.map((e) => e.event)).toEqual(['speech-start', 'speech-end']);
      expect(events[0]!.at).toBeGreaterThan(start);
      expect(events[0]!.at).toBeLessThan(start + ms(300));
      const delay = events[1]!.at - end;
      expect(delay).toBeGreaterThanOrEqual(ms(750));
      expect(delay).toBeLessThanOrEqual(ms(MAX_DELAY_MS[name]!));
    });
  }

  it('a pause longer than the hang-over does end the utterance (the detector is not deaf)', () => {
    const { pcm } = twoPhrases(1200, NOISES.quiet!);
    const events = run(new BandVad(), pcm).map((e) => e.event);
    expect(events).toEqual(['speech-start', 'speech-end', 'speech-start', 'speech-end']);
  });

  it('noise alone never starts speech, even a fan already running when listening starts', () => {
    for (const addNoise of Object.values(NOISES)) {
      const s = new Signal(5000);
      addNoise(s);
      expect(run(new BandVad(), s.pcm())).toEqual([]);
    }
  });

  it('the energy detector, by contrast, takes a running fan for speech (why BandVad exists)', () => {
    const s = new Signal(5000).noise(-40, 300);
    expect(run(new EnergyVad(), s.pcm()).map((e) => e.event)).toContain('speech-start');
    expect(run(new BandVad(), s.pcm())).toEqual([]);
  });

  it('decides on the same 10 ms block whatever the frame size (time counted in samples)', () => {
    const { pcm } = twoPhrases(500, NOISES.fan!);
    // The deciding block ends at some sample B; a frame of n samples reports at the end of the
    // frame that holds B, so B lies in (at - n, at]. Every frame size must agree on one B.
    let lo = -Infinity;
    let hi = Infinity;
    for (const frame of [160, 320, 480, 1600]) {
      const ev = run(new BandVad(), pcm, frame).find((e) => e.event === 'speech-end')!;
      lo = Math.max(lo, ev.at - frame + 1);
      hi = Math.min(hi, ev.at);
    }
    expect(hi).toBeGreaterThanOrEqual(lo);
    // ...and that B is a block boundary reachable by the 160-sample run exactly.
    const at160 = run(new BandVad(), pcm, 160).find((e) => e.event === 'speech-end')!.at;
    expect(at160).toBeGreaterThanOrEqual(lo);
    expect(at160).toBeLessThanOrEqual(hi);
  });

  it('reset() ends an utterance in progress but keeps the learnt noise floor', () => {
    const s = new Signal(4000).noise(-46, 300);
    s.speech(2500, 4, -20);
    const pcm = s.pcm();
    const vad = new BandVad();
    run(vad, pcm.subarray(0, ms(2000)));
    const floor = vad.noiseDb.low;
    vad.reset();
    expect(vad.noiseDb.low).toBe(floor);
    expect(vad.inSpeech).toBe(false);
    expect(floor).toBeGreaterThan(-70); // it had learnt the fan, not silence
    expect(run(vad, pcm.subarray(ms(2000))).map((e) => e.event)).toEqual(['speech-start']);
  });

  it('adds hang-over when speech barely stands above the noise', () => {
    const loud = twoPhrases(300, (s) => s.noise(-65), -20);
    const weak = twoPhrases(300, (s) => s.noise(-40, 300), -20);
    const delay = (p: { pcm: Int16Array; end: number }) => run(new BandVad(), p.pcm).find((e) => e.event === 'speech-end')!.at - p.end;
    expect(delay(weak) - delay(loud)).toBeGreaterThan(ms(60));
  });
});

describe('createVad', () => {
  it('builds the band detector by default and the energy one on request, with the configured hang-over', () => {
    expect(createVad(VadSchema.parse({}))).toBeInstanceOf(BandVad);
    expect(createVad(VadSchema.parse({ engine: 'energy' }))).toBeInstanceOf(EnergyVad);
    const { pcm, end } = twoPhrases(300, NOISES.quiet!);
    const at = run(createVad(VadSchema.parse({ hangoverMs: 1000 })), pcm).find((e) => e.event === 'speech-end')!.at;
    expect(at - end).toBeGreaterThanOrEqual(ms(1000));
    expect(at - end).toBeLessThan(ms(1150));
  });
});
