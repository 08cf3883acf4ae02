/**
 * The embedding model's streaming and long forms (embedding-graphs.ts), built from the real
 * model file and run on the real onnxruntime-node, against the stock model run window by window:
 * the same embeddings through every path the engine takes (steps, half steps, resets, copies
 * after a step and after a half step), the same copy scores, and the engine falls back to the
 * whole model, saying why, when the graphs cannot be built or do not reproduce it. The step
 * graph with the keyword model in it gives the keyword model's own scores, and the engine runs
 * the two apart, saying why, when they cannot be joined or do not agree.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mix, roomNoise, sequence, synth, ttsMissing } from '../../../bench/fixtures/tts.js';
import { WakeSchema } from '../../../src/config/schema.js';
import { CopyScorer } from '../../../src/drivers/openwakeword/copy-scorer.js';
import { FastEmbedding, scoreStepGraph, splitEmbeddingModel } from '../../../src/drivers/openwakeword/embedding-graphs.js';
import { CHUNK_SAMPLES, HALF_SAMPLES, StreamingFeatures } from '../../../src/drivers/openwakeword/features.js';
import { resolveModelFiles } from '../../../src/drivers/openwakeword/models.js';
import { MelFrontEnd } from '../../../src/drivers/openwakeword/mel.js';
import { OnnxFormatError, parseOnnx } from '../../../src/drivers/openwakeword/onnx-proto.js';
import { keywordInputFrames, loadOnnxRuntime, type OwwRuntime } from '../../../src/drivers/openwakeword/runtime.js';
import { stretch } from '../../../src/drivers/openwakeword/stretch.js';
import { OpenWakeWord } from '../../../src/drivers/openwakeword/wake.js';
import { memoryLogger } from '../../../src/log/logger.js';

const missing = ttsMissing();

/** The real models and the embedding's fast forms; `jsMel`: with the mel model in JavaScript too. */
async function setup(jsMel = false) {
  const files = resolveModelFiles({ keyword: 'hey_jarvis' });
  const rt = await loadOnnxRuntime();
  const [mel, embedding, keyword] = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)];
  const fast = await FastEmbedding.load(rt, readFileSync(files.embedding), embedding, jsMel ? { bytes: readFileSync(files.mel), model: mel } : undefined);
  expect(fast.mel !== null).toBe(jsMel);
  return { files, rt, mel, embedding, keyword, fast, frames: keywordInputFrames(keyword, files.keyword) };
}

/** `rt` whose in-memory graphs picked by label have their outputs changed by `skew` after each run. */
function skewedGraphs(rt: OwwRuntime, pick: (label: string) => boolean, skew: (out: Record<string, { data: Float32Array }>) => void): OwwRuntime {
  return {
    load: (f) => rt.load(f),
    async loadGraph(bytes, label) {
      const g = await rt.loadGraph!(bytes, label);
      if (!pick(label)) return g;
      return {
        async run(feeds) {
          const out = await g.run(feeds);
          skew(out);
          return out;
        },
        release: () => g.release(),
      };
    },
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function speech(): Int16Array {
  const s = sequence(300, synth('hey jarvis, turn on the kitchen light please', { engine: 'espeak', voice: 'en-us' }), 600);
  return mix(s, roomNoise(s.length, -55, 3));
}

describe('the embedding model split for streaming', () => {
  it('builds the two graphs from the stock model: one cache per convolution longer than a frame in time', () => {
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    const g = splitEmbeddingModel(readFileSync(files.embedding));
    expect(g.caches).toHaveLength(11);
    expect(g.caches.every((c) => c.frames === 2)).toBe(true);
    for (const bytes of [g.stream, g.long]) expect(parseOnnx(bytes).nodes.length).toBeGreaterThan(20);
  });

  it('reads the mel model as a windowed DFT and a mel matrix, and refuses other models', () => {
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    const front = MelFrontEnd.fromModel(readFileSync(files.mel));
    expect(front.bands).toBe(32);
    expect([1760, 1120, 1280, 36800].map((n) => front.frames(n))).toEqual([8, 4, 5, 227]);
    expect(() => MelFrontEnd.fromModel(readFileSync(files.embedding))).toThrow(OnnxFormatError);
    expect(() => MelFrontEnd.fromModel(readFileSync(files.keyword))).toThrow(/stock short-time Fourier/);
  });

  it('joins the keyword models of the embedding model\'s operator set to the step graph, and refuses the others, saying why', () => {
    const files = (keyword: string) => resolveModelFiles({ keyword });
    const embedding = readFileSync(files('hey_jarvis').embedding);
    for (const keyword of ['hey_jarvis', 'alexa', 'hey_mycroft']) {
      const g = scoreStepGraph(embedding, readFileSync(files(keyword).keyword), 16, [1, 1]);
      const model = parseOnnx(g.bytes);
      // The stream's 12 inputs and the history; its 12 outputs and the score.
      expect([model.inputs.length, model.outputs.length]).toEqual([13, 13]);
      expect(model.inputs).toContain(g.history);
      expect(model.outputs.at(-1)).toBe(g.score);
    }
    // hey_rhasspy was exported with operator set 14, the embedding model with 13.
    expect(() => scoreStepGraph(embedding, readFileSync(files('hey_rhasspy').keyword), 16, [1, 1])).toThrow(/operator set ai.onnx 14, the embedding model 13/);
    // A "keyword model" whose names are the embedding model's own.
    expect(() => scoreStepGraph(embedding, embedding, 16, [1, 1])).toThrow(/both use the name/);
  });

  it('refuses models of another shape, saying what differs, and bytes that are not a model', () => {
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    expect(() => splitEmbeddingModel(readFileSync(files.keyword))).toThrow(OnnxFormatError);
    expect(() => splitEmbeddingModel(readFileSync(files.mel))).toThrow(/Reshape|node|convolution|pool/);
    expect(() => parseOnnx(Uint8Array.from([0x3a, 0x40, 1, 2]))).toThrow(OnnxFormatError);
    expect(() => splitEmbeddingModel(new TextEncoder().encode('not a model at all'))).toThrow(OnnxFormatError);
  });
});

describe.skipIf(missing)('the streaming embedding on the real runtime', () => {
  // With the mel frames from JavaScript (5e-6 from the model's), the embeddings agree to 1e-3 instead of exactly.
  it.each([[false, 1e-4], [true, 1e-3]])('gives the stock model’s embeddings on every step, half step, reset and copy (mel in JavaScript: %s)', async (jsMel, tolerance) => {
    const m = await setup(jsMel);
    const whole = new StreamingFeatures(m.mel, m.embedding, m.frames);
    const streaming = new StreamingFeatures(m.mel, m.embedding, m.frames, m.fast);
    const copyWhole = new StreamingFeatures(m.mel, m.embedding, m.frames);
    const copyStreaming = new StreamingFeatures(m.mel, m.embedding, m.frames, m.fast);
    await whole.init();
    await streaming.init();
    const pcm = speech();
    const [steps0, primes0] = [m.fast.steps, m.fast.primes];
    let worst = 0;
    let worstHalf = 0;
    let worstCopy = 0;
    const chunks = Math.floor(pcm.length / CHUNK_SAMPLES);
    for (let c = 0; c < chunks; c++) {
      const chunk = pcm.subarray(c * CHUNK_SAMPLES, (c + 1) * CHUNK_SAMPLES);
      if (c === 20) {
        whole.reset();
        streaming.reset();
      }
      // Half steps on for a stretch, as when a score arms them, then off again.
      const half = c >= 8 && c < 30 && c % 7 !== 0;
      const a = await whole.pushFirstHalf(chunk.subarray(0, HALF_SAMPLES), half);
      const b = await streaming.pushFirstHalf(chunk.subarray(0, HALF_SAMPLES), half);
      expect(b).toBe(a);
      if (a) worstHalf = Math.max(worstHalf, maxDiff(whole.halfEmbeddings, streaming.halfEmbeddings));
      if (a && c % 5 === 0) {
        // A copy after a half step, fed on (the look-ahead's path).
        copyWhole.copyFrom(whole, true);
        copyStreaming.copyFrom(streaming, true);
        await copyWhole.push(chunk);
        await copyStreaming.push(chunk);
        worstCopy = Math.max(worstCopy, maxDiff(copyWhole.embeddings, copyStreaming.embeddings));
      }
      await whole.pushSecondHalf(chunk.subarray(HALF_SAMPLES));
      await streaming.pushSecondHalf(chunk.subarray(HALF_SAMPLES));
      worst = Math.max(worst, maxDiff(whole.embeddings, streaming.embeddings));
      if (c % 3 === 0) {
        // A copy after a step, fed two more chunks.
        copyWhole.copyFrom(whole, false);
        copyStreaming.copyFrom(streaming, false);
        for (const k of [chunk, chunk.slice().reverse()]) {
          await copyWhole.push(k);
          await copyStreaming.push(k);
        }
        worstCopy = Math.max(worstCopy, maxDiff(copyWhole.embeddings, copyStreaming.embeddings));
      }
    }
    expect(chunks).toBeGreaterThan(40);
    expect(worst).toBeLessThan(tolerance);
    expect(worstHalf).toBeLessThan(tolerance);
    expect(worstCopy).toBeLessThan(tolerance);
    // The steps ran streamed: whole windows only after the reset, the start and the half-step copies.
    const primes = m.fast.primes - primes0;
    expect(primes).toBeGreaterThanOrEqual(2);
    expect(primes).toBeLessThan(12);
    expect(m.fast.steps - steps0).toBeGreaterThan(chunks + 20);
    // The embeddings are not trivial (they move by whole units with the speech).
    expect(Math.max(...streaming.embeddings.map(Math.abs))).toBeGreaterThan(1);
    await m.fast.release();
    for (const x of [m.mel, m.embedding, m.keyword]) await x.release();
  });

  it.each([false, true])('scores a stretched copy as the window-by-window scorer does (mel in JavaScript: %s)', async (jsMel) => {
    const m = await setup(jsMel);
    const pcm = speech();
    const copy = stretch(pcm.subarray(pcm.length - 32000), { factor: 1.2 });
    const pads = [pcm.slice(0, CHUNK_SAMPLES), pcm.slice(0, CHUNK_SAMPLES).reverse()];
    const plain = new CopyScorer(m.mel, m.embedding, m.keyword, m.frames);
    const fast = new CopyScorer(m.mel, m.embedding, m.keyword, m.frames, m.fast);
    await plain.init();
    await fast.init();
    for (const last of [Number.POSITIVE_INFINITY, 3, 0]) {
      const a = await plain.score(copy, pads, last);
      const b = await fast.score(copy, pads, last);
      expect(maxDiff(a.real, b.real)).toBeLessThan(jsMel ? 1e-4 : 1e-5);
      expect(maxDiff(a.padded, b.padded)).toBeLessThan(jsMel ? 1e-4 : 1e-5);
    }
    expect(fast.embeddingRuns).toBe(plain.embeddingRuns);
    await m.fast.release();
    for (const x of [m.mel, m.embedding, m.keyword]) await x.release();
  });

  it('the step graph scores each step as the keyword model does, through resets, half steps and copies, with the native session and with the public API', async () => {
    for (const native of [true, false]) {
      const files = resolveModelFiles({ keyword: 'hey_jarvis' });
      const rt = await loadOnnxRuntime(process.arch, { native });
      const [mel, embedding, keyword] = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)];
      const apart: string[] = [];
      const fast = await FastEmbedding.load(rt, readFileSync(files.embedding), embedding, { bytes: readFileSync(files.mel), model: mel }, { bytes: readFileSync(files.keyword), model: keyword, frames: 16, onApart: (r) => apart.push(r) });
      expect(apart).toEqual([]);
      expect(fast.scores).toBe(true);
      const features = new StreamingFeatures(mel, embedding, 16, fast);
      const copy = new StreamingFeatures(mel, embedding, 16, fast);
      await features.init();
      const pcm = speech();
      let worst = 0;
      let scored = 0;
      let high = 0;
      const chunks = Math.floor(pcm.length / CHUNK_SAMPLES);
      for (let c = 0; c < chunks; c++) {
        const chunk = pcm.subarray(c * CHUNK_SAMPLES, (c + 1) * CHUNK_SAMPLES);
        if (c === 20) features.reset();
        await features.pushFirstHalf(chunk.subarray(0, HALF_SAMPLES), c >= 8 && c < 30);
        expect(features.stepScore).toBeNull();
        await features.pushSecondHalf(chunk.subarray(HALF_SAMPLES));
        const want = (await keyword.run(features.embeddings, [1, 16, 96]))[0]!;
        if (c === 0 || c === 20) {
          // The first step after a start or a reset primes the stream on a whole window: no score with it.
          expect(features.stepScore).toBeNull();
          continue;
        }
        expect(features.stepScore).not.toBeNull();
        worst = Math.max(worst, Math.abs(features.stepScore! - want));
        high = Math.max(high, want);
        scored++;
        if (c % 4 === 0) {
          // A copy after the step, fed on (the look-ahead's path), scores with its own history.
          copy.copyFrom(features, false);
          await copy.push(chunk.slice().reverse());
          const w = (await keyword.run(copy.embeddings, [1, 16, 96]))[0]!;
          worst = Math.max(worst, Math.abs(copy.stepScore! - w));
        }
      }
      expect(scored).toBe(chunks - 2);
      expect(worst).toBeLessThan(1e-6);
      // The keyword is in the speech: the scores are not all zero.
      expect(high).toBeGreaterThan(0.5);
      await fast.release();
      for (const x of [mel, embedding, keyword]) await x.release();
    }
  });

  it('the engine says which form runs, and runs the whole model when the graphs do not reproduce it', async () => {
    const rt = await loadOnnxRuntime();
    // A runtime whose in-memory graphs are off by a little: the check at load must catch it.
    const skewed = skewedGraphs(rt, () => true, (out) => {
      for (const t of Object.values(out)) t.data[0] = t.data[0]! + 0.01;
    });
    // A runtime whose mel model is off by a little: its JavaScript form must then not be used.
    const melSkewed: OwwRuntime = {
      loadGraph: (b, l) => rt.loadGraph!(b, l),
      async load(f) {
        const model = await rt.load(f);
        if (!f.includes('melspectrogram')) return model;
        return { ...model, inputShape: model.inputShape, outputShape: model.outputShape, run: async (x, d) => (await model.run(x, d)).map((v) => v + 0.1), release: () => model.release() };
      },
    };
    for (const [runtime, form, mel] of [[rt, 'streaming', 'javascript'], [skewed, 'whole', 'model'], [melSkewed, 'streaming', 'model']] as const) {
      const mem = memoryLogger('debug');
      const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword' }), log: mem.logger, loadRuntime: async () => runtime });
      await wake.start();
      expect(wake.status().available, mem.text()).toBe(true);
      expect(mem.lines().find((e) => e.event === 'wake-ready')).toMatchObject({ embedding: form, mel });
      if (form === 'whole') expect(mem.lines().find((e) => e.event === 'wake-embedding-whole')?.reason).toMatch(/differ from the model/);
      if (runtime === melSkewed) expect(mem.lines().find((e) => e.event === 'wake-mel-model')?.reason).toMatch(/mel front end differs from the model/);
      await wake.stop();
    }
  });

  it('the engine scores in the step graph when it can, and runs the keyword model apart, saying why, when it cannot or the two disagree', async () => {
    const rt = await loadOnnxRuntime();
    // A runtime whose step graph with the keyword model scores a little off: the check at load must catch it.
    const skewed = skewedGraphs(rt, (label) => label.includes('keyword'), (out) => {
      out['53']!.data[0] = out['53']!.data[0]! * 0.9;
    });
    for (const [runtime, keyword, inStep, why] of [[rt, 'hey_jarvis', true, undefined], [rt, 'hey_rhasspy', false, /operator set/], [skewed, 'hey_jarvis', false, /differs from the two apart/]] as const) {
      const mem = memoryLogger('debug');
      const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', keyword }), log: mem.logger, loadRuntime: async () => runtime });
      await wake.start();
      expect(wake.status().available, mem.text()).toBe(true);
      expect(mem.lines().find((e) => e.event === 'wake-ready')).toMatchObject({ embedding: 'streaming', keywordInStep: inStep });
      if (why) expect(mem.lines().find((e) => e.event === 'wake-keyword-apart')?.reason).toMatch(why);
      else expect(mem.lines().some((e) => e.event === 'wake-keyword-apart')).toBe(false);
      await wake.stop();
    }
  });
});

describe.skipIf(missing)('the mel model in JavaScript on the real runtime', () => {
  it('gives the model’s mel frames on speech, step by step and on a long copy', async () => {
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    const rt = await loadOnnxRuntime();
    const model = await rt.load(files.mel);
    const front = MelFrontEnd.fromModel(readFileSync(files.mel));
    await front.check(model);
    const pcm = speech();
    let worst = 0;
    for (const n of [1760, 1120, 32000]) {
      for (let o = 0; o + n <= pcm.length; o += n) {
        const x = Float32Array.from(pcm.subarray(o, o + n));
        const want = (await model.run(x, [1, n])).map((v) => v / 10 + 2);
        const got = front.compute(x);
        expect(got.length).toBe(want.length);
        worst = Math.max(worst, maxDiff(want, got));
      }
    }
    expect(worst).toBeLessThan(1e-4);
    await model.release();
  });
});
