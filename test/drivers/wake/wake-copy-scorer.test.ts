/**
 * The copy scorer (one mel run, one batched embedding run) against the streaming front end it
 * stands in for, on the real onnxruntime-node and models: a fresh front end fed the copy chunk
 * by chunk, aligned to its end, then the pads, scores the same at every position; scoring only
 * the last positions gives those positions' scores and computes fewer embedding windows.
 */
import { describe, expect, it } from 'vitest';
import { atLevel, mix, roomNoise, sequence, synth, ttsMissing } from '../../../bench/fixtures/tts.js';
import { CopyScorer } from '../../../src/drivers/openwakeword/copy-scorer.js';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, StreamingFeatures } from '../../../src/drivers/openwakeword/features.js';
import { resolveModelFiles } from '../../../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime } from '../../../src/drivers/openwakeword/runtime.js';
import { stretch } from '../../../src/drivers/openwakeword/stretch.js';

const missing = ttsMissing();

describe.skipIf(missing)('openWakeWord copy scorer', () => {
  it('scores a stretched copy and its pads as a fresh streaming front end does, and only the positions asked for', async () => {
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    const rt = await loadOnnxRuntime();
    const [mel, embedding, keyword] = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)];
    const frames = keywordInputFrames(keyword, files.keyword);
    const said = atLevel(synth('hey jarvis', { engine: 'espeak', voice: 'en-us', rate: 1.2 }), -22);
    const clean = sequence(1000, said, 150);
    const pcm = mix(clean, roomNoise(clean.length, -50, 5));
    const window = pcm.subarray(pcm.length - 32000);
    const copy = stretch(window, { factor: 1.2 });
    const pad = pcm.slice(0, CHUNK_SAMPLES);
    const pads = [pad, pad.slice().reverse(), pad];

    const f = new StreamingFeatures(mel, embedding, frames);
    await f.init();
    f.reset();
    const want: number[] = [];
    const chunk = new Int16Array(CHUNK_SAMPLES);
    for (let o = copy.length % CHUNK_SAMPLES; o + CHUNK_SAMPLES <= copy.length; o += CHUNK_SAMPLES) {
      for (let i = 0; i < CHUNK_SAMPLES; i++) chunk[i] = Math.max(-32768, Math.min(32767, Math.round(copy[o + i]!)));
      await f.push(chunk);
      want.push((await keyword.run(f.embeddings, [1, frames, EMBEDDING_SIZE]))[0]!);
    }
    const wantPads: number[] = [];
    for (const p of pads) {
      await f.push(p);
      wantPads.push((await keyword.run(f.embeddings, [1, frames, EMBEDDING_SIZE]))[0]!);
    }

    const scorer = new CopyScorer(mel, embedding, keyword, frames);
    await scorer.init();
    const all = await scorer.score(copy, pads, Number.POSITIVE_INFINITY);
    expect(all.real).toHaveLength(want.length);
    expect(scorer.embeddingRuns).toBe(want.length + pads.length);
    all.real.forEach((s, i) => expect(s).toBeCloseTo(want[i]!, 3));
    all.padded.forEach((s, i) => expect(s).toBeCloseTo(wantPads[i]!, 3));
    // The copy is not trivial: some position scores well, some does not.
    expect(Math.max(...want, ...wantPads)).toBeGreaterThan(0.3);
    expect(Math.min(...want)).toBeLessThan(0.1);

    const before = scorer.embeddingRuns;
    const last = await scorer.score(copy, pads, 3);
    expect(last.real).toHaveLength(3);
    last.real.forEach((s, i) => expect(s).toBeCloseTo(want[want.length - 3 + i]!, 3));
    last.padded.forEach((s, i) => expect(s).toBeCloseTo(wantPads[i]!, 3));
    // The last 3 positions and the pads read frames - 1 windows before the first of them.
    expect(scorer.embeddingRuns - before).toBe(3 + pads.length + frames - 1);
    // No pads, no positions: nothing to run.
    expect((await scorer.score(copy, [], 0)).real).toHaveLength(0);
    for (const m of [mel, embedding, keyword]) await m.release();
  });
});
