/**
 * arecord (the default capture backend) dying under the agent: a real arecord capturing a FIFO
 * fed in real time through ALSA's file plugin is killed as a crash would kill it. The mic
 * reports it once, one structured `capture-process-exited` line says why, libasound's own lines
 * never reach the log as lines of their own, and capture comes back by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArecordCapture } from '../../../src/drivers/alsa/arecord.js';
import { AlsaMic } from '../../../src/drivers/alsa/mic.js';
import { memoryLogger } from '../../../src/log/logger.js';
import { until } from '../../fakes/ws-server.js';
import { type AlsaEnv, makeAlsaEnv } from '../../support/alsa-env.js';
import { type PacedFifo, pacedFifo } from '../../support/paced-fifo.js';

describe('arecord exits under a running mic', () => {
  let alsa: AlsaEnv;
  let feed: PacedFifo;
  beforeAll(async () => {
    alsa = makeAlsaEnv({ in16: 'mic16.fifo' }, {});
    feed = await pacedFifo(alsa.path('mic16.fifo'), 640, { silence: true });
  });
  afterAll(async () => {
    await feed.close();
    alsa.cleanup();
  });

  it.each([['SIGSEGV'], ['SIGKILL']] as [NodeJS.Signals][])('killed by %s: one error, one structured line, and capture recovers', async (signal) => {
    const { logger, lines, text } = memoryLogger('debug');
    const mic = new AlsaMic({ device: 'in16', log: logger, env: alsa.env, retryMinMs: 50, backend: new ArecordCapture() });
    const errors: { message: string; recoverable: boolean }[] = [];
    mic.on('error', (e) => errors.push(e));
    let frames = 0;
    mic.on('frame', () => frames++);
    await mic.start();
    try {
      await until(() => frames > 5, 'the first frames');
      const pid = mic.helperPid!;
      expect(pid).toBeGreaterThan(0);
      const recovered = mic.next('recovered');
      process.kill(pid, signal);
      await recovered;
      const after = frames;
      await until(() => frames > after + 5, 'frames after the restart');
      expect(mic.helperPid).not.toBe(pid);
    } finally {
      await mic.stop();
    }
    expect(errors).toEqual([{ message: expect.stringMatching(new RegExp(`^microphone "alsa:in16": arecord exited \\(${signal}\\)`)), recoverable: true }]);
    const exited = lines().filter((l) => l.event === 'capture-process-exited');
    expect(exited).toHaveLength(1);
    expect(exited[0]).toMatchObject({ level: 'warn', tool: 'arecord', device: 'in16', signal });
    // libasound's diagnostics are only ever fields of a structured line.
    expect(text().split('\n').filter((l) => l && !l.startsWith('{'))).toEqual([]);
    expect(lines().map((l) => l.event)).toEqual(expect.arrayContaining(['mic-reopening', 'mic-device-recovered']));
  });

  it('a stop is not reported as an exit', async () => {
    const { logger, lines } = memoryLogger('debug');
    const mic = new AlsaMic({ device: 'in16', log: logger, env: alsa.env, backend: new ArecordCapture() });
    let frames = 0;
    mic.on('frame', () => frames++);
    await mic.start();
    await until(() => frames > 2, 'frames');
    await mic.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(lines().filter((l) => l.event === 'capture-process-exited')).toEqual([]);
  });
});
