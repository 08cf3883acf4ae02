/**
 * The Porcupine adapter with an injected engine of Porcupine's shape: framing, detection sample
 * index, refractory period, self-trigger guard, failure status and retry.
 */
import { describe, expect, it } from 'vitest';
import { WakeSchema, type WakeConfig } from '../../../src/config/schema.js';
import { SampleRing } from '../../../src/audio/ring-buffer.js';
import type { PorcupineEngine } from '../../../src/drivers/porcupine/engine.js';
import { Framer } from '../../../src/drivers/porcupine/framer.js';
import { keywordLabel, PorcupineWake, type Scheduler } from '../../../src/drivers/porcupine/wake.js';
import { memoryLogger } from '../../../src/log/logger.js';
import type { WakeStatus } from '../../../src/ports/wake-word.js';
import { MARK, ScriptedEngine } from '../../fakes/porcupine.js';

function config(over: Record<string, unknown> = {}): WakeConfig {
  return WakeSchema.parse({ engine: 'porcupine', keywords: ['computer', 'jarvis'], accessKeyEnv: 'TEST_PV_KEY', ...over });
}

/** A manual scheduler: the test runs pending retries itself. */
function manualScheduler() {
  const pending: { fn: () => void; ms: number; canceled: boolean }[] = [];
  const schedule: Scheduler = (fn, ms) => {
    const entry = { fn, ms, canceled: false };
    pending.push(entry);
    return () => {
      entry.canceled = true;
    };
  };
  return {
    schedule,
    delays: () => pending.map((p) => p.ms),
    async runNext(): Promise<void> {
      const next = pending.find((p) => !p.canceled);
      if (!next) throw new Error('nothing scheduled');
      next.canceled = true;
      next.fn();
      await new Promise((r) => setImmediate(r));
    },
    live: () => pending.filter((p) => !p.canceled).length,
  };
}

function setup(over: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = { TEST_PV_KEY: 'secret-key-123456' }) {
  const engines: ScriptedEngine[] = [];
  const mem = memoryLogger('debug');
  const sched = manualScheduler();
  let failWith: unknown = null;
  const wake = new PorcupineWake({
    config: config(over),
    log: mem.logger,
    env,
    schedule: sched.schedule,
    factory: (request) => {
      if (failWith) throw failWith;
      const e = new ScriptedEngine(request);
      engines.push(e);
      return e;
    },
  });
  const detections: { keyword: string; sampleIndex: number }[] = [];
  const statuses: WakeStatus[] = [];
  wake.on('detected', (d) => detections.push(d));
  wake.on('status', (s) => statuses.push(s));
  return { wake, engines, mem, sched, detections, statuses, failNext: (e: unknown) => (failWith = e) };
}

/** Feeds `totalSamples` of audio in `chunk`-sized frames starting at `start`, with markers at given indices. */
function feedStream(wake: PorcupineWake, totalSamples: number, chunk: number, marks: Record<number, number> = {}, start = 0) {
  for (let s = start; s < start + totalSamples; s += chunk) {
    const pcm = new Int16Array(Math.min(chunk, start + totalSamples - s));
    for (let i = 0; i < pcm.length; i++) pcm[i] = (s + i) % 1000; // sample value encodes its index
    for (const [idx, k] of Object.entries(marks)) {
      const at = Number(idx) - s;
      if (at >= 0 && at < pcm.length) pcm[at] = MARK + k;
    }
    wake.feed(pcm, s);
  }
}

describe('Framer', () => {
  it('re-chunks arbitrary frame sizes into exact engine frames in order', () => {
    const f = new Framer(512);
    const got: { first: number; end: number }[] = [];
    let idx = 0;
    for (const size of [320, 320, 100, 1000, 7, 301]) {
      const pcm = new Int16Array(size).map((_, i) => (idx + i) % 30000);
      f.push(pcm, idx, (frame, end) => got.push({ first: frame[0]!, end }));
      idx += size;
    }
    // 2048 samples in: 4 whole frames, starting at 0, 512, 1024, 1536.
    expect(got).toEqual([
      { first: 0, end: 512 },
      { first: 512, end: 1024 },
      { first: 1024, end: 1536 },
      { first: 1536, end: 2048 },
    ]);
    expect(f.pending).toBe(0);
  });

  it('drops a partial frame when the stream skips samples', () => {
    const f = new Framer(4);
    const ends: number[] = [];
    f.push(Int16Array.from([1, 2, 3]), 0, (_fr, end) => ends.push(end));
    f.push(Int16Array.from([10, 11, 12, 13]), 100, (fr, end) => ends.push(end * 1000 + fr[0]!));
    expect(ends).toEqual([104 * 1000 + 10]);
  });

  it('startAlign: the first frame after the start and after a gap begins on the grid', () => {
    const f = new Framer(4, 8);
    const got: { first: number; end: number }[] = [];
    const sink = (fr: Int16Array, end: number) => got.push({ first: fr[0]!, end });
    const at = (from: number, n: number) => Int16Array.from({ length: n }, (_, i) => from + i);
    // Starts at 3: samples 3..7 are dropped, frames begin at 8.
    f.push(at(3, 3), 3, sink);
    f.push(at(6, 10), 6, sink);
    // A gap: the partial frame (16..15) goes, the grid is found again at 24.
    f.push(at(21, 11), 21, sink);
    expect(got).toEqual([
      { first: 8, end: 12 },
      { first: 12, end: 16 },
      { first: 24, end: 28 },
      { first: 28, end: 32 },
    ]);
    // reset() looks for the grid again; once on it, frames follow each other.
    f.reset();
    got.length = 0;
    f.push(at(40, 12), 40, sink);
    expect(got.map((g) => g.end)).toEqual([44, 48, 52]);
    expect(() => new Framer(4, 0)).toThrow(RangeError);
  });

  it('reuses one buffer: every frame handed out is the same object', () => {
    const f = new Framer(8);
    const seen = new Set<Int16Array>();
    f.push(new Int16Array(64), 0, (fr) => seen.add(fr));
    expect(seen.size).toBe(1);
  });
});

describe('PorcupineWake with an injected engine', () => {
  it('passes keywords, sensitivities and the key to the factory and reports ready', async () => {
    const t = setup({ keywords: [{ keyword: 'computer', sensitivity: 0.7 }, '/opt/k/hey-pi_en_raspberry-pi_v3_0_0.ppn'] });
    await t.wake.start();
    expect(t.engines).toHaveLength(1);
    expect(t.engines[0]!.request.keywords).toEqual(['computer', '/opt/k/hey-pi_en_raspberry-pi_v3_0_0.ppn']);
    expect(t.engines[0]!.request.sensitivities).toEqual([0.7, 0.5]);
    expect(t.engines[0]!.request.accessKey).toBe('secret-key-123456');
    expect(t.wake.status()).toEqual({ available: true, keywords: ['computer', 'hey pi'] });
    expect(t.statuses.map((s) => s.available)).toEqual([true]);
    expect(t.mem.text()).not.toContain('secret-key-123456');
  });

  it('detects at the end of the engine frame containing the keyword, whatever the capture frame size', async () => {
    for (const chunk of [160, 320, 333, 1600]) {
      const t = setup();
      await t.wake.start();
      // Keyword 1 ends at input sample 40000 -> inside engine frame [39936, 40448).
      feedStream(t.wake, 48000, chunk, { 40000: 1 });
      expect(t.detections).toEqual([{ keyword: 'jarvis', sampleIndex: 40448 }]);
      // Every engine frame starts on a multiple of 512: no sample lost or duplicated.
      const firsts = t.engines[0]!.firsts;
      expect(firsts.slice(0, 4)).toEqual([0, 512 % 1000, 1024 % 1000, 1536 % 1000]);
      expect(firsts).toHaveLength(Math.floor(48000 / 512));
    }
  });

  it('pre-roll: a 500 ms ring pushed before feed() holds, at detection, the keyword end and all audio after it', async () => {
    const t = setup();
    await t.wake.start();
    const ring = new SampleRing(8000);
    let drained: Int16Array | null = null;
    let detectedAt = -1;
    t.wake.on('detected', (d) => {
      detectedAt = d.sampleIndex;
      drained = ring.drain(); // what the session does when a turn starts
    });
    const keywordEnd = 20000;
    for (let s = 0; s < 32000; s += 320) {
      // Sample value = its index mod 30000 (below MARK), so the drained audio tells where it came from.
      const pcm = Int16Array.from({ length: 320 }, (_, i) => (s + i) % 29000);
      if (keywordEnd >= s && keywordEnd < s + 320) pcm[keywordEnd - s] = MARK;
      ring.push(pcm);
      t.wake.feed(pcm, s);
    }
    expect(detectedAt).toBe(20480);
    const got = drained as Int16Array | null;
    expect(got).not.toBeNull();
    expect(got!.length).toBe(8000);
    // The ring ends with the capture frame [20160, 20480) that completed the engine frame.
    expect(got![got!.length - 1]).toBe(20479);
    // It starts 500 ms earlier, so the keyword's end and everything after it are in the turn.
    expect(got![0]).toBe(20480 - 8000);
    expect(Array.from(got!)).toContain(MARK);
  });

  it('ignores a second detection inside the refractory period (audio time) and accepts one after', async () => {
    const t = setup({ refractoryMs: 2000 });
    await t.wake.start();
    // 2 s = 32000 samples. Detections end at 10240, 20480 (too soon), 43008 (>= 32000 later).
    feedStream(t.wake, 64000, 320, { 10000: 0, 20000: 0, 42800: 0 });
    expect(t.detections.map((d) => d.sampleIndex)).toEqual([10240, 43008]);
  });

  it('guard in ignore mode drops detections while guarded and accepts them after', async () => {
    const t = setup({ guardMode: 'ignore', refractoryMs: 0 });
    await t.wake.start();
    t.wake.setGuard(true);
    feedStream(t.wake, 16000, 320, { 5000: 0 });
    t.wake.setGuard(false);
    feedStream(t.wake, 16000, 320, { 20000: 1 }, 16000);
    expect(t.detections).toEqual([{ keyword: 'jarvis', sampleIndex: 20480 }]);
    // The engine kept running while guarded (it stays warm): all 62 frames were processed.
    expect(t.engines[0]!.firsts).toHaveLength(Math.floor(32000 / 512));
  });

  it('guard in desensitise mode builds a lower-sensitivity second engine and uses only it while guarded', async () => {
    const t = setup({ guardMode: 'desensitise', guardSensitivity: 0.2, refractoryMs: 0, keywords: [{ keyword: 'computer', sensitivity: 0.6 }] });
    await t.wake.start();
    expect(t.engines.map((e) => e.request.sensitivities)).toEqual([[0.6], [0.2]]);
    const [main, guard] = t.engines as [ScriptedEngine, ScriptedEngine];
    // Make the guard engine deaf to the first marker: it only "hears" keyword 0 when main does not.
    let guardHears = false;
    const origGuard = guard.process.bind(guard);
    guard.process = (frame) => (guardHears ? origGuard(frame) : (origGuard(frame), -1));
    t.wake.setGuard(true);
    feedStream(t.wake, 8000, 320, { 3000: 0 });
    expect(t.detections).toEqual([]); // main heard it, but main is not listened to while guarded
    guardHears = true;
    feedStream(t.wake, 8000, 320, { 10000: 0 }, 8000);
    expect(t.detections).toEqual([{ keyword: 'computer', sampleIndex: 10240 }]); // barge-in
    expect(main.firsts.length).toBe(guard.firsts.length); // both warm
  });

  it('does not throw when the engine cannot be built: unavailable status, one warn line, capped backoff retry', async () => {
    const t = setup({ retryMinMs: 1000, retryMaxMs: 4000 });
    class PorcupineActivationError extends Error {}
    t.failNext(new PorcupineActivationError('Initialization failed'));
    await expect(t.wake.start()).resolves.toBeUndefined();
    expect(t.wake.status().available).toBe(false);
    expect(t.wake.status().reason).toMatch(/no network/);
    expect(t.statuses).toHaveLength(1);
    for (let i = 0; i < 3; i++) await t.sched.runNext();
    expect(t.sched.delays()).toEqual([1000, 2000, 4000, 4000]);
    const warns = t.mem.lines().filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1); // the same reason again is not logged again
    expect(t.statuses).toHaveLength(1); // nor announced again
    // The network comes back: the next retry succeeds, status flips, a ready line is logged.
    t.failNext(null);
    await t.sched.runNext();
    expect(t.wake.status()).toEqual({ available: true, keywords: ['computer', 'jarvis'] });
    expect(t.statuses.map((s) => s.available)).toEqual([false, true]);
    expect(t.sched.live()).toBe(0);
    feedStream(t.wake, 4096, 320, { 1000: 0 });
    expect(t.detections).toHaveLength(1);
  });

  it('reports a missing AccessKey without building an engine, and picks the key up on retry', async () => {
    const env: NodeJS.ProcessEnv = {};
    const t = setup({}, env);
    await t.wake.start();
    expect(t.engines).toHaveLength(0);
    expect(t.wake.status().reason).toMatch(/no Porcupine AccessKey: set wake.accessKeyFile.*TEST_PV_KEY/);
    env.TEST_PV_KEY = 'now-it-is-set';
    await t.sched.runNext();
    expect(t.wake.status().available).toBe(true);
  });

  it('a failure while processing releases the engine, goes unavailable and retries', async () => {
    const t = setup();
    await t.wake.start();
    class PorcupineActivationRefusedError extends Error {}
    t.engines[0]!.throwOnNext = new PorcupineActivationRefusedError('refused for key secret-key-123456');
    expect(() => feedStream(t.wake, 2048, 320)).not.toThrow();
    expect(t.engines[0]!.released).toBe(1);
    expect(t.wake.status().reason).toMatch(/refused \(expired, revoked/);
    expect(t.wake.status().reason).toContain('(from environment variable TEST_PV_KEY)');
    expect(t.mem.text()).not.toContain('secret-key-123456');
    expect(t.sched.live()).toBe(1);
    await t.sched.runNext();
    expect(t.wake.status().available).toBe(true);
    expect(t.engines).toHaveLength(2);
  });

  it('stop() releases engines, cancels retries, is safe twice, and a late build is discarded', async () => {
    const t = setup();
    await t.wake.start();
    await t.wake.stop();
    await t.wake.stop();
    expect(t.engines[0]!.released).toBe(1);
    feedStream(t.wake, 2048, 320, { 100: 0 });
    expect(t.detections).toEqual([]);

    // A build still in flight when stop() is called is released as soon as it resolves.
    let resolveBuild!: (e: PorcupineEngine) => void;
    const late = new ScriptedEngine({ accessKey: 'k', keywords: [], sensitivities: [] });
    const w = new PorcupineWake({
      config: config(),
      log: memoryLogger().logger,
      env: { TEST_PV_KEY: 'abcdef' },
      schedule: manualScheduler().schedule,
      factory: () => new Promise<PorcupineEngine>((r) => (resolveBuild = r)),
    });
    const started = w.start();
    await new Promise((r) => setImmediate(r));
    await w.stop();
    resolveBuild(late);
    await started;
    expect(late.released).toBe(1);
    expect(w.status().available).toBe(false);
  });

  it('refuses an engine with a different sample rate, without retrying', async () => {
    const sched = manualScheduler();
    const w = new PorcupineWake({
      config: config(),
      log: memoryLogger().logger,
      env: { TEST_PV_KEY: 'abcdef' },
      schedule: sched.schedule,
      factory: (r) => Object.assign(new ScriptedEngine(r), { sampleRate: 8000 }),
    });
    await w.start();
    expect(w.status().reason).toMatch(/expects 8000 Hz/);
    expect(sched.live()).toBe(0);
  });
});

describe('keywordLabel', () => {
  it('names built-ins, Console .ppn files and labelled keywords', () => {
    expect(keywordLabel({ keyword: 'hey google' })).toBe('hey google');
    expect(keywordLabel({ keyword: '/k/ok-speaker_en_raspberry-pi_v3_0_0.ppn' })).toBe('ok speaker');
    expect(keywordLabel({ keyword: '/k/x.ppn', label: 'Kitchen' })).toBe('Kitchen');
  });
});
