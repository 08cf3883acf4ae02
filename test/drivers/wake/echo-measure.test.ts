/**
 * `test-audio --echo` in the simulated room: the chirp is found, and the delay it reports moves
 * with the room's acoustic delay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chirp, findLag, measureEcho } from '../../../src/cli/echo-measure.js';
import { parseConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/log/logger.js';
import { writeWav } from '../../support/wav.js';

describe('echo delay measurement', () => {
  it('findLag finds a delayed, attenuated copy', () => {
    const ref = new Int16Array(16000);
    ref.set(chirp(500), 1000);
    const mic = new Int16Array(16000);
    for (let i = 0; i + 1234 < mic.length; i++) mic[i + 1234] = Math.round(ref[i]! * 0.25);
    const r = findLag(mic, ref, -1600, 9600);
    expect(r.lag).toBe(1234);
    expect(r.correlation).toBeGreaterThan(0.99);
    expect(20 * Math.log10(r.gain)).toBeCloseTo(-12, 0);
  });

  it('plays a chirp into the room and reports where its echo is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'echo-'));
    try {
      writeWav(path.join(dir, 'quiet.wav'), new Int16Array(1600), 16000);
      const measure = async (delayMs: number) => {
        const config = parseConfig({ audio: { mic: `room:${path.join(dir, 'quiet.wav')}`, speaker: `room:${path.join(dir, `p${delayMs}.wav`)}`, room: { delayMs, echoDb: -6 } } });
        let out = '';
        return { m: await measureEcho(config, { write: (s) => (out += s), log: silentLogger() }), out };
      };
      const near = await measure(40);
      const far = await measure(140);
      expect(near.out).toMatch(/^Playing a chirp on room:/);
      expect(near.m.correlation).toBeGreaterThan(0.5);
      expect(far.m.correlation).toBeGreaterThan(0.5);
      // The room adds 100 ms: the measurement follows it (to a few ms of timer jitter).
      expect(far.m.lagMs - near.m.lagMs).toBeGreaterThan(95);
      expect(far.m.lagMs - near.m.lagMs).toBeLessThan(105);
      // The echo lags its reference (the canceller can model it) by less than the room delay.
      expect(near.m.lagMs).toBeGreaterThan(0);
      expect(near.m.lagMs).toBeLessThanOrEqual(45);
      expect(near.m.echoDb).toBeLessThan(-4);
      expect(near.m.echoDb).toBeGreaterThan(-14);
      expect(near.m.advice).toMatch(/the canceller covers this/);
      // 120 ms: still inside the 200 ms tail, but a shift keeps the reference just ahead.
      expect(far.m.advice).toMatch(/audio\.echoDelayMs: (105|110|115)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
