/**
 * When the second look runs (scripted models; the real ones are in wake-openwakeword.test.ts):
 * once per rise of the score, `delaySteps` after its first score at `lowScore`, never after a
 * detection for the same rise, on the audio remembered last.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, HALF_SAMPLES, MEL_BINS, melFrameCount } from '../../../src/drivers/openwakeword/features.js';
import type { OwwModel } from '../../../src/drivers/openwakeword/runtime.js';
import { SecondLook } from '../../../src/drivers/openwakeword/second-look.js';

function models(copyScore: () => number) {
  const melInputs: number[] = [];
  const model = (run: (input: Float32Array, dims: readonly number[]) => Float32Array): OwwModel => ({ inputShape: [1, 16, 96], outputShape: [1, 1], run: async (i, d) => run(i, d), release: async () => {} });
  return {
    melInputs,
    mel: model((input, dims) => {
      melInputs.push(input.reduce((a, b) => Math.max(a, Math.abs(b)), 0));
      return new Float32Array(melFrameCount(dims[1]!) * MEL_BINS);
    }),
    embedding: model((_i, dims) => new Float32Array(dims[0]! * EMBEDDING_SIZE)),
    keyword: model(() => Float32Array.of(copyScore())),
  };
}

describe('second look timing', () => {
  it('opens at the first score of 0.2, runs 3 steps later, once per rise; a detection cancels it', async () => {
    let score = 0.9;
    const m = models(() => score);
    const look = new SecondLook(m.mel, m.embedding, m.keyword, 16, { delaySteps: 3 });
    await look.init();
    const step = CHUNK_SAMPLES;
    look.note(0.1, 10 * step);
    expect(look.due(20 * step)).toBe(false);
    look.note(0.3, 11 * step);
    expect(look.due(13 * step)).toBe(false);
    expect(look.due(14 * step)).toBe(true);
    // Still rising: no second look for the same rise.
    look.note(0.4, 12 * step);
    for (let i = 0; i < 64; i++) look.remember(new Int16Array(HALF_SAMPLES).fill(1000));
    const r = await look.run(1);
    expect(r.best).toBeCloseTo(0.9);
    expect(r.streakScore).toBeCloseTo(0.9);
    expect(look.looks).toBe(1);
    expect(look.due(100 * step)).toBe(false);
    look.note(0.35, 15 * step);
    look.note(0.1, 16 * step);
    look.note(0.3, 17 * step);
    expect(look.due(100 * step), 'one score under 0.2 (the other phase) is not a new rise').toBe(false);
    look.note(0.1, 18 * step);
    look.note(0.1, 19 * step);
    look.note(0.25, 20 * step);
    expect(look.due(23 * step)).toBe(true);
    // A detection for this rise: no look.
    look.cancel();
    expect(look.due(100 * step)).toBe(false);
    // A trigger level of 2 needs two steps of the copy in a row.
    let n = 0;
    score = 0;
    const alternating = models(() => (n++ % 2 === 0 ? 0.8 : 0.1));
    const look2 = new SecondLook(alternating.mel, alternating.embedding, alternating.keyword, 16);
    await look2.init();
    for (let i = 0; i < 64; i++) look2.remember(new Int16Array(HALF_SAMPLES).fill(1000));
    const r2 = await look2.run(2);
    expect(r2.best).toBeCloseTo(0.8);
    expect(r2.streakScore).toBeCloseTo(0.1);
  });

  it('by default looks once per rise, at once; with delaySteps [0, 3] again 3 steps later only when the first found nothing', async () => {
    const m = models(() => 0.1);
    const step = CHUNK_SAMPLES;
    const once = new SecondLook(m.mel, m.embedding, m.keyword, 16);
    await once.init();
    for (let i = 0; i < 64; i++) once.remember(new Int16Array(HALF_SAMPLES).fill(1000));
    once.note(0.3, 10 * step);
    expect(once.due(10 * step)).toBe(true);
    await once.run(1);
    expect(once.due(1e9), 'one look per rise').toBe(false);
    expect(once.looks).toBe(1);
    const look = new SecondLook(m.mel, m.embedding, m.keyword, 16, { delaySteps: [0, 3] });
    await look.init();
    for (let i = 0; i < 64; i++) look.remember(new Int16Array(HALF_SAMPLES).fill(1000));
    look.note(0.3, 10 * step);
    expect(look.due(10 * step)).toBe(true);
    await look.run(1);
    expect(look.due(12 * step)).toBe(false);
    expect(look.due(13 * step)).toBe(true);
    await look.run(1);
    expect(look.due(1e9), 'two looks per rise').toBe(false);
    expect(look.looks).toBe(2);
    // A copy that heard the keyword cancels the later look (the scorer calls cancel()).
    look.note(0.1, 20 * step);
    look.note(0.1, 21 * step);
    look.note(0.3, 22 * step);
    expect(look.due(22 * step)).toBe(true);
    await look.run(1);
    look.cancel();
    expect(look.due(1e9)).toBe(false);
    expect(() => new SecondLook(m.mel, m.embedding, m.keyword, 16, { delaySteps: [3, 0] })).toThrow(RangeError);
  });

  it('reset forgets the audio and the pending look; lowScore Infinity turns it off', async () => {
    const m = models(() => 0.9);
    const look = new SecondLook(m.mel, m.embedding, m.keyword, 16);
    await look.init();
    look.note(0.5, 0);
    look.reset();
    expect(look.due(1e9)).toBe(false);
    expect(new SecondLook(m.mel, m.embedding, m.keyword, 16, { lowScore: Number.POSITIVE_INFINITY }).enabled).toBe(false);
    // Only the audio since the reset is stretched: 640 samples -> 768, under one chunk, so no step is scored.
    look.remember(new Int16Array(HALF_SAMPLES).fill(500));
    const before = m.melInputs.length;
    const r = await look.run(1);
    expect(m.melInputs.length).toBe(before);
    expect(r.best).toBe(0);
  });

  describe('at the end of speech', () => {
    const step = CHUNK_SAMPLES;
    /** Feeds `halves` halves at `amplitude` (0: a quiet room) from `at`; returns the next index and where a look was due. */
    function feed(look: SecondLook, at: number, amplitude: number, halves: number): { at: number; due: number[] } {
      const due: number[] = [];
      for (let i = 0; i < halves; i++) {
        const h = new Int16Array(HALF_SAMPLES);
        for (let j = 0; j < h.length; j++) h[j] = Math.round(20 * Math.sin(j * 1.7 + i) + amplitude * Math.sin(j * 0.3));
        at += HALF_SAMPLES;
        look.remember(h, at);
        const kind = look.next(at);
        if (kind) due.push(at);
      }
      return { at, due };
    }

    it('looks one step after a keyword-long stretch of speech ends, at its own threshold, once', async () => {
      const m = models(() => 0.9);
      const look = new SecondLook(m.mel, m.embedding, m.keyword, 16);
      await look.init();
      let r = feed(look, 0, 0, 50);
      expect(r.due).toEqual([]);
      // 16 halves (640 ms) of speech, then the room: due 1 step after the first quiet half.
      r = feed(look, r.at, 3000, 16);
      const speechEnd = r.at + HALF_SAMPLES;
      r = feed(look, r.at, 0, 2);
      expect(look.next(speechEnd + step - 1)).toBe(null);
      expect(look.next(speechEnd + step)).toBe('speech-end');
      const result = await look.run(1, speechEnd + step);
      expect(result).toMatchObject({ kind: 'speech-end' });
      expect(result.streakScore).toBeCloseTo(0.9);
      expect(look.speechEndThreshold).toBe(0.8);
      expect(look.speechEndLooks).toBe(1);
      expect(look.due(1e9), 'one look per end of speech').toBe(false);
    });

    it('no look after speech too short or too long for a fast keyword, when speech resumes first, or just after a detection', async () => {
      const m = models(() => 0.9);
      const look = new SecondLook(m.mel, m.embedding, m.keyword, 16);
      await look.init();
      let r = feed(look, 0, 0, 50);
      for (const halves of [8, 30]) {
        r = feed(look, r.at, 3000, halves);
        r = feed(look, r.at, 0, 20);
        expect(r.due, `${halves} halves of speech`).toEqual([]);
      }
      // Speech resumes 40 ms after the end (the pause between two words): no look.
      r = feed(look, r.at, 3000, 8);
      r = feed(look, r.at, 0, 1);
      r = feed(look, r.at, 3000, 8);
      r = feed(look, r.at, 0, 1);
      r = feed(look, r.at, 3000, 4);
      expect(r.due).toEqual([]);
      r = feed(look, r.at, 0, 20);
      // The stretch went on through the short pauses: 20 halves, a look.
      expect(r.due.length).toBeGreaterThan(0);
      await look.run(1, r.due[0]!);
      // A detection (the look-ahead's, at the keyword's end) holds the looks for 1 s.
      r = feed(look, r.at, 3000, 16);
      look.cancel(r.at);
      r = feed(look, r.at, 0, 20);
      expect(r.due).toEqual([]);
      // Off: no delays.
      const off = new SecondLook(m.mel, m.embedding, m.keyword, 16, { atSpeechEnd: { delaySteps: [] } });
      r = feed(off, 0, 0, 50);
      r = feed(off, r.at, 3000, 16);
      expect(feed(off, r.at, 0, 20).due).toEqual([]);
    });
  });
});
