/**
 * The AudioInput contract (src/ports/audio-input.ts), run against every microphone driver:
 * 16 kHz mono frames, nothing before `start()`, frames whose `sampleIndex` counts audio time
 * from 0 without gaps or overlap, `start()` idempotent (one stream, not two), `stop()`
 * idempotent and safe before start, no frame after `stop()` resolved, and a new start counts
 * from 0 again. A finite source (`end`) emits no frame after `end`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AudioFrame, AudioInput } from '../../src/ports/audio-input.js';
import { sleep, suiteName, until } from './util.js';

export interface AudioInputSubject {
  input: AudioInput;
  /**
   * Makes a started input deliver `ms` of audio, for inputs the test drives (a fake). Real
   * inputs capture by themselves and leave it unset.
   */
  produce?: (ms: number) => void;
  cleanup?: () => Promise<void> | void;
}

export interface AudioInputContractOptions {
  skip?: string;
  /** The source ends by itself (`end` fires), like a WAV file without silence padding. */
  finite?: boolean;
  /** Longest wait for the frames a test needs, ms (default 5000). */
  timeoutMs?: number;
  /** How long "nothing happens" is watched for, ms (default 200). */
  quietMs?: number;
}

export function audioInputContract(name: string, makeSubject: () => Promise<AudioInputSubject> | AudioInputSubject, options: AudioInputContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 5000;
  const quietMs = options.quietMs ?? 200;
  const open: AudioInputSubject[] = [];

  (options.skip ? describe.skip : describe)(suiteName(`AudioInput contract: ${name}`, options.skip), () => {
    const errors: string[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.input.stop();
        await s.cleanup?.();
      }
      // A driver reports device trouble as an event; a contract run must see none.
      expect(errors.splice(0)).toEqual([]);
    });

    async function subject(): Promise<AudioInputSubject & { frames: AudioFrame[] }> {
      const s = await makeSubject();
      open.push(s);
      const frames: AudioFrame[] = [];
      s.input.on('frame', (f) => frames.push(f));
      s.input.on('error', (e) => errors.push(e.message));
      return { ...s, frames };
    }

    /** Waits until `samples` have been captured (driving the fake when it needs driving). */
    async function capture(s: AudioInputSubject & { frames: AudioFrame[] }, samples: number): Promise<void> {
      const have = () => s.frames.reduce((n, f) => n + f.pcm.length, 0);
      const want = have() + samples;
      s.produce?.((samples / 16000) * 1000);
      await until(() => have() >= want, `${samples} samples`, timeoutMs);
    }

    it('frames are 16 kHz mono PCM16 (the format says so)', async () => {
      const s = await subject();
      expect({ sampleRate: s.input.format.sampleRate, channels: s.input.format.channels }).toEqual({ sampleRate: 16000, channels: 1 });
      await s.input.start();
      await capture(s, 1600);
      for (const f of s.frames) {
        expect(f.pcm).toBeInstanceOf(Int16Array);
        expect(f.pcm.length).toBeGreaterThan(0);
      }
    });

    it('no frame before start()', async () => {
      const s = await subject();
      await sleep(quietMs);
      expect(s.frames).toEqual([]);
    });

    it('sampleIndex counts audio time from 0: each frame starts where the previous one ended', async () => {
      const s = await subject();
      await s.input.start();
      await capture(s, 3200);
      expect(s.frames[0]!.sampleIndex).toBe(0);
      for (let i = 1; i < s.frames.length; i++) expect(s.frames[i]!.sampleIndex).toBe(s.frames[i - 1]!.sampleIndex + s.frames[i - 1]!.pcm.length);
    });

    it('start() twice is idempotent: one stream, not two (no repeated or overlapping sampleIndex)', async () => {
      const s = await subject();
      await s.input.start();
      await s.input.start();
      await capture(s, 3200);
      for (let i = 1; i < s.frames.length; i++) expect(s.frames[i]!.sampleIndex).toBe(s.frames[i - 1]!.sampleIndex + s.frames[i - 1]!.pcm.length);
    });

    it('stop() stops the frames: none arrives once it resolved', async () => {
      const s = await subject();
      await s.input.start();
      await capture(s, 1600);
      await s.input.stop();
      const n = s.frames.length;
      await sleep(quietMs);
      expect(s.frames.length).toBe(n);
    });

    it('stop() is idempotent and safe before start()', async () => {
      const s = await subject();
      await s.input.stop();
      await s.input.stop();
      await s.input.start();
      await s.input.stop();
      await s.input.stop();
    });

    it('start() after stop() opens a new stream, counted from sampleIndex 0 again', async () => {
      const s = await subject();
      await s.input.start();
      await capture(s, 1600);
      await s.input.stop();
      s.frames.length = 0;
      await s.input.start();
      await capture(s, 1600);
      expect(s.frames[0]!.sampleIndex).toBe(0);
    });

    if (options.finite) {
      it('a finite source emits no frame after end', async () => {
        const s = await subject();
        let endedAt = -1;
        s.input.on('end', () => (endedAt = s.frames.length));
        await s.input.start();
        s.produce?.(1000);
        await until(() => endedAt >= 0, 'end', timeoutMs);
        await sleep(quietMs);
        expect(s.frames.length).toBe(endedAt);
      });
    }
  });
}
