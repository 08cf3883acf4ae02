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

  it('by default looks at once, and again 3 steps later only when the first found nothing', async () => {
    const m = models(() => 0.1);
    const look = new SecondLook(m.mel, m.embedding, m.keyword, 16);
    await look.init();
    for (let i = 0; i < 64; i++) look.remember(new Int16Array(HALF_SAMPLES).fill(1000));
    const step = CHUNK_SAMPLES;
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
});
