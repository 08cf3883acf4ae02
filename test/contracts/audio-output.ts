/**
 * The AudioOutput contract (src/ports/audio-output.ts), run against every speaker driver:
 * `start()` and `close()` idempotent, `playing` from the first write until drained or stopped,
 * `drained` once per `end()` and never after `stop()`, a new format starts a new stream,
 * volume 0-100 at any time, and a write the device cannot take (before start, after close) is
 * an error, thrown or emitted, never silently played.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PcmFormat } from '../../src/audio/format.js';
import type { AudioOutput } from '../../src/ports/audio-output.js';
import { sleep, suiteName, until } from './util.js';

export interface AudioOutputSubject {
  output: AudioOutput;
  /**
   * Completes playback of an ended stream, for outputs the test plays out itself (a fake).
   * Real outputs play by themselves and leave it unset.
   */
  playOut?: () => void;
  cleanup?: () => Promise<void> | void;
}

export interface AudioOutputContractOptions {
  /** Why this implementation cannot run here (e.g. a native addon is missing): the suite is skipped. */
  skip?: string;
  /** Longest wait for `drained` of a 100 ms stream, ms (default 3000). */
  drainTimeoutMs?: number;
  /** How long "nothing happens" is watched for, ms (default 300). */
  quietMs?: number;
}

const MONO: PcmFormat = { sampleRate: 16000, channels: 1 };
const STEREO: PcmFormat = { sampleRate: 24000, channels: 2 };

/** `ms` of a quiet tone in `format`, PCM16LE. */
export function tone(ms: number, format: PcmFormat = MONO): Buffer {
  const frames = Math.round((format.sampleRate * ms) / 1000);
  const pcm = new Int16Array(frames * format.channels);
  for (let i = 0; i < frames; i++) for (let c = 0; c < format.channels; c++) pcm[i * format.channels + c] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / format.sampleRate));
  return Buffer.from(pcm.buffer);
}

export function audioOutputContract(name: string, makeSubject: () => Promise<AudioOutputSubject> | AudioOutputSubject, options: AudioOutputContractOptions = {}): void {
  const drainTimeoutMs = options.drainTimeoutMs ?? 3000;
  const quietMs = options.quietMs ?? 300;
  const open: AudioOutputSubject[] = [];

  (options.skip ? describe.skip : describe)(suiteName(`AudioOutput contract: ${name}`, options.skip), () => {
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.output.close();
        await s.cleanup?.();
      }
    });

    async function subject(): Promise<AudioOutputSubject & { drained: () => number }> {
      const s = await makeSubject();
      open.push(s);
      let drained = 0;
      s.output.on('drained', () => drained++);
      return { ...s, drained: () => drained };
    }

    /** Ends the stream and waits for its `drained`. */
    async function finish(s: AudioOutputSubject & { drained: () => number }): Promise<void> {
      const before = s.drained();
      s.output.end();
      s.playOut?.();
      await until(() => s.drained() > before, 'drained', drainTimeoutMs);
    }

    it('start() is idempotent: a second start resolves and one stream still drains once', async () => {
      const s = await subject();
      await s.output.start();
      await s.output.start();
      s.output.write(tone(100), MONO);
      await finish(s);
      await sleep(quietMs);
      expect(s.drained()).toBe(1);
    });

    it('playing is false before the first write, true while the stream plays, false once drained', async () => {
      const s = await subject();
      await s.output.start();
      expect(s.output.playing).toBe(false);
      s.output.write(tone(100), MONO);
      expect(s.output.playing).toBe(true);
      await finish(s);
      expect(s.output.playing).toBe(false);
    });

    it('drained fires once per end(): two streams in a row drain twice, no more', async () => {
      const s = await subject();
      await s.output.start();
      s.output.write(tone(60), MONO);
      await finish(s);
      s.output.write(tone(60), MONO);
      await finish(s);
      await sleep(quietMs);
      expect(s.drained()).toBe(2);
    });

    it('end() of a stream with nothing written drains once', async () => {
      const s = await subject();
      await s.output.start();
      await finish(s);
      await sleep(quietMs);
      expect(s.drained()).toBe(1);
    });

    it('stop() cuts the stream: playing turns false and no drained follows, even after end()', async () => {
      const s = await subject();
      await s.output.start();
      s.output.write(tone(100), MONO);
      s.output.stop();
      expect(s.output.playing).toBe(false);
      s.output.write(tone(100), MONO);
      s.output.end();
      s.output.stop();
      expect(s.output.playing).toBe(false);
      await sleep(quietMs);
      expect(s.drained()).toBe(0);
    });

    it('stop() right after end() of an empty stream: no drained either', async () => {
      const s = await subject();
      await s.output.start();
      s.output.end();
      s.output.stop();
      await sleep(quietMs);
      expect(s.drained()).toBe(0);
    });

    it('after stop() the next stream plays and drains', async () => {
      const s = await subject();
      await s.output.start();
      s.output.write(tone(100), MONO);
      s.output.stop();
      s.output.write(tone(60), MONO);
      expect(s.output.playing).toBe(true);
      await finish(s);
      expect(s.drained()).toBe(1);
    });

    it('stop() when nothing plays is harmless: no error, no drained', async () => {
      const s = await subject();
      const errors: string[] = [];
      s.output.on('error', (e) => errors.push(e.message));
      await s.output.start();
      s.output.stop();
      s.output.stop();
      await sleep(quietMs);
      expect(errors).toEqual([]);
      expect(s.drained()).toBe(0);
    });

    it('a new format starts a new stream: any rate and channel count play, one drained for the end()', async () => {
      const s = await subject();
      const errors: string[] = [];
      s.output.on('error', (e) => errors.push(e.message));
      await s.output.start();
      s.output.write(tone(60, MONO), MONO);
      s.output.write(tone(60, STEREO), STEREO);
      await finish(s);
      await sleep(quietMs);
      expect(s.drained()).toBe(1);
      expect(errors).toEqual([]);
    });

    it('setVolume() takes 0-100 at any time, before start() too', async () => {
      const s = await subject();
      s.output.setVolume(40);
      await s.output.start();
      for (const v of [0, 55, 100]) s.output.setVolume(v);
      s.output.write(tone(60), MONO);
      await finish(s);
      await s.output.close();
      s.output.setVolume(70);
    });

    it('close() is idempotent and safe before start()', async () => {
      const s = await subject();
      await s.output.close();
      await s.output.start();
      await s.output.close();
      await s.output.close();
    });

    it('a write before start() is an error (thrown or emitted), never played', async () => {
      const s = await subject();
      expect(writeFails(s.output)).toBe(true);
    });

    it('a write after close() is an error (thrown or emitted), never played', async () => {
      const s = await subject();
      await s.output.start();
      await s.output.close();
      expect(writeFails(s.output)).toBe(true);
      await sleep(quietMs);
      expect(s.drained()).toBe(0);
    });
  });
}

/** Writes to `output`; true when the write threw or emitted `error` (at once), and nothing plays. */
function writeFails(output: AudioOutput): boolean {
  let failed = false;
  const onError = () => (failed = true);
  output.on('error', onError);
  try {
    output.write(tone(20), MONO);
  } catch (err) {
    failed = err instanceof Error && err.message.length > 0;
  } finally {
    output.off('error', onError);
  }
  return failed && !output.playing;
}
