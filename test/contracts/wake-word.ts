/**
 * The WakeWord contract (src/ports/wake-word.ts), run against every engine: `status()` names
 * the keywords and, when detection is unavailable, says why; `status` events carry the same
 * shape; `start()` and `stop()` resolve and are idempotent (the house lifecycle rule, style.md);
 * `feed()` takes the capture stream in any chunk size; `setGuard()` works at any time; a keyword
 * is detected once, named from `status().keywords`, at a `sampleIndex` inside the audio fed;
 * and a stopped engine detects nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WakeStatus, WakeWord } from '../../src/ports/wake-word.js';
import { sleep, suiteName, until } from './util.js';

export interface WakeWordSubject {
  wake: WakeWord;
  /**
   * Feeds audio holding a keyword, starting at capture sample `at`, through `wake.feed()`, and
   * returns how many samples it fed (a fake may also fire its detection). Needed when the
   * contract's `detects` option is set.
   */
  sayKeyword?: (at: number) => number;
  cleanup?: () => Promise<void> | void;
}

export interface WakeWordContractOptions {
  skip?: string;
  /** `status().available` once started (false: an engine that cannot run here, or `none`). */
  availableWhenStarted: boolean;
  /** The engine can detect here, and the subject's `sayKeyword` makes it (default false). */
  detects?: boolean;
  /** The engine switches keywords at run time (`keywordChoices`, `setKeyword`): an available id other than the active one. */
  switchTo?: string;
}

function expectWellFormed(s: WakeStatus): void {
  expect(typeof s.available).toBe('boolean');
  expect(Array.isArray(s.keywords)).toBe(true);
  for (const k of s.keywords) expect(typeof k).toBe('string');
  if (!s.available) expect(s.reason, 'an unavailable wake word says why').toMatch(/\S/);
}

export function wakeWordContract(name: string, makeSubject: () => Promise<WakeWordSubject> | WakeWordSubject, options: WakeWordContractOptions): void {
  const open: WakeWordSubject[] = [];

  (options.skip ? describe.skip : describe)(suiteName(`WakeWord contract: ${name}`, options.skip), () => {
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.wake.stop();
        await s.cleanup?.();
      }
    });

    async function subject() {
      const s = await makeSubject();
      open.push(s);
      const detections: { keyword: string; sampleIndex: number }[] = [];
      const statuses: WakeStatus[] = [];
      s.wake.on('detected', (d) => detections.push(d));
      s.wake.on('status', (st) => statuses.push(st));
      return { ...s, detections, statuses };
    }

    /** Feeds `n` samples of quiet noise from capture sample `at`, in 20 ms chunks. */
    function feedQuiet(wake: WakeWord, at: number, n: number): number {
      for (let i = 0; i < n; i += 320) {
        const pcm = new Int16Array(Math.min(320, n - i));
        for (let k = 0; k < pcm.length; k++) pcm[k] = ((at + i + k) * 7919) % 200;
        wake.feed(pcm, at + i);
      }
      return n;
    }

    it('status() names the keywords and says why when unavailable: before start, started, stopped', async () => {
      const s = await subject();
      expectWellFormed(s.wake.status());
      await s.wake.start();
      const started = s.wake.status();
      expectWellFormed(started);
      expect(started.available).toBe(options.availableWhenStarted);
      await s.wake.stop();
      expectWellFormed(s.wake.status());
      for (const st of s.statuses) expectWellFormed(st);
    });

    it('start() and stop() resolve and are idempotent; stop() is safe before start()', async () => {
      const s = await subject();
      await s.wake.stop();
      await s.wake.start();
      await s.wake.start();
      expect(s.wake.status().available).toBe(options.availableWhenStarted);
      await s.wake.stop();
      await s.wake.stop();
    });

    it('feed() takes the capture stream in any chunk size while started', async () => {
      const s = await subject();
      await s.wake.start();
      let at = 0;
      for (const n of [320, 1, 511, 512, 513, 160, 4096]) at += feedQuiet(s.wake, at, n);
      expect(s.detections).toEqual([]);
    });

    it('setGuard() works at any time: before start, while started, after stop', async () => {
      const s = await subject();
      s.wake.setGuard(true);
      await s.wake.start();
      s.wake.setGuard(false);
      s.wake.setGuard(true);
      s.wake.setGuard(false);
      await s.wake.stop();
      s.wake.setGuard(true);
    });

    if (options.switchTo !== undefined) {
      const to = options.switchTo;
      it('keywordChoices() lists what it can detect; setKeyword() switches at run time, and an unknown id changes nothing', async () => {
        const s = await subject();
        const wake = s.wake;
        if (!wake.keywordChoices || !wake.setKeyword) throw new Error(`${name}: switchTo is set but the engine has no keywordChoices/setKeyword`);
        const before = wake.keywordChoices();
        expect(before.maxActive).toBeGreaterThanOrEqual(before.active.length);
        for (const id of before.active) expect(before.available.map((a) => a.id)).toContain(id);
        const label = before.available.find((a) => a.id === to)?.label;
        expect(label, `${to} is available`).toBeDefined();
        await wake.start();
        await wake.setKeyword(to);
        expect(wake.keywordChoices().active).toEqual([to]);
        expect(wake.status()).toMatchObject({ available: options.availableWhenStarted, keywords: [label] });
        await expect(wake.setKeyword('no_such_keyword')).rejects.toThrow(/no_such_keyword|no such|no keyword|no model/i);
        expect(wake.keywordChoices().active).toEqual([to]);
        expect(wake.status().keywords).toEqual([label]);
        await wake.stop();
        // Chosen while stopped: it listens for it from start().
        await wake.setKeyword(before.active[0]!);
        await wake.start();
        expect(wake.keywordChoices().active).toEqual(before.active);
      });
    }

    if (!options.detects) return;

    /** The subject's keyword, which a detecting subject must give. */
    function say(s: WakeWordSubject, at: number): number {
      if (!s.sayKeyword) throw new Error(`${name}: a detecting subject needs sayKeyword`);
      return s.sayKeyword(at);
    }

    it('a keyword is detected once, named from status().keywords, at a sampleIndex inside the audio fed', async () => {
      const s = await subject();
      await s.wake.start();
      const at = feedQuiet(s.wake, 0, 3200);
      const n = say(s, at);
      feedQuiet(s.wake, at + n, 3200);
      await until(() => s.detections.length > 0, 'a detection', 2000);
      await sleep(20);
      expect(s.detections).toHaveLength(1);
      const [d] = s.detections;
      expect(s.wake.status().keywords).toContain(d!.keyword);
      expect(d!.sampleIndex).toBeGreaterThan(at);
      expect(d!.sampleIndex).toBeLessThanOrEqual(at + n);
    });

    it('a stopped engine detects nothing (feeding it may be refused)', async () => {
      const s = await subject();
      await s.wake.start();
      const at = feedQuiet(s.wake, 0, 3200);
      await s.wake.stop();
      try {
        say(s, at);
      } catch (err) {
        // A strict fake refuses audio for a stopped engine: that is a detection that did not happen.
        expect((err as Error).message).toMatch(/not started/);
      }
      await sleep(20);
      expect(s.detections).toEqual([]);
    });
  });
}
