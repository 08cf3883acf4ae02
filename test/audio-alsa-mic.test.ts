/**
 * The ALSA microphone through the real native stack: naudiodon (PortAudio) in its helper
 * process, reading from ALSA `file` PCMs that play fixtures.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureConverter } from '../src/audio/channels.js';
import { AlsaMic } from '../src/drivers/alsa/mic.js';
import { DeviceError } from '../src/errors.js';
import { memoryLogger } from '../src/log/logger.js';
import type { AudioFrame } from '../src/ports/audio-input.js';
import { ManualScheduler } from './fakes/clock.js';
import { until } from './fakes/ws-server.js';
import { type AlsaEnv, interleave, makeAlsaEnv, testSignal, toBuffer } from './audio-alsa-env.js';

let alsa: AlsaEnv;
const mono16 = testSignal(16000, 1.0, 1);
const left48 = testSignal(48000, 1.0, 2, 300);
const right48 = testSignal(48000, 1.0, 3, 900);

beforeAll(() => {
  alsa = makeAlsaEnv({ in16: 'mic16.raw', in48: 'mic48.raw' }, { spk: 'spk.raw' });
  writeFileSync(alsa.path('mic16.raw'), toBuffer(mono16));
  writeFileSync(alsa.path('mic48.raw'), toBuffer(interleave(left48, right48)));
});
afterAll(() => alsa.cleanup());

/** Starts `mic`, collects frames until `samples` were captured, stops it. */
async function capture(mic: AlsaMic, samples: number): Promise<{ pcm: Int16Array; frames: AudioFrame[] }> {
  const frames: AudioFrame[] = [];
  let total = 0;
  const done = new Promise<void>((resolve) => {
    mic.on('frame', (f) => {
      if (total >= samples) return;
      frames.push(f);
      total += f.pcm.length;
      if (total >= samples) resolve();
    });
  });
  await mic.start();
  await done;
  await mic.stop();
  const pcm = new Int16Array(total);
  let o = 0;
  for (const f of frames) {
    pcm.set(f.pcm, o);
    o += f.pcm.length;
  }
  return { pcm: pcm.subarray(0, samples), frames };
}

describe('AlsaMic (naudiodon through the ALSA file plugin)', () => {
  it('captures a 16 kHz mono device sample-exact, in 20 ms frames counted in samples', async () => {
    const { logger, text, lines } = memoryLogger('debug');
    const mic = new AlsaMic({ device: 'in16', log: logger, env: alsa.env });
    const n = 15000;
    const { pcm, frames } = await capture(mic, n);
    expect(mic.nativeFormat).toEqual({ sampleRate: 16000, channels: 1 });
    expect(frames.every((f) => f.pcm.length === 320)).toBe(true);
    expect(frames.map((f) => f.sampleIndex).slice(0, 3)).toEqual([0, 320, 640]);
    expect(Array.from(pcm)).toEqual(Array.from(mono16.subarray(0, n)));
    // PortAudio's ALSA probe noise (printed by libasound on this card-less machine) was
    // caught and counted, and never reaches the agent's log lines.
    const dropped = lines().find((l) => l.event === 'portaudio-probe-noise-dropped');
    expect(dropped?.lines).toBeGreaterThan(10);
    expect(text()).not.toContain('ALSA lib');
  });

  it('captures a 48 kHz stereo device natively and converts to 16 kHz mono (channel pick and mix)', async () => {
    const native = interleave(left48, right48);
    for (const channel of [1, 'mix'] as const) {
      const mic = new AlsaMic({ device: 'in48', rate: 48000, channels: 2, channel, log: memoryLogger().logger, env: alsa.env });
      const n = 12000;
      const { pcm } = await capture(mic, n);
      expect(mic.nativeFormat).toEqual({ sampleRate: 48000, channels: 2 });
      const expected = new CaptureConverter({ sampleRate: 48000, channels: 2 }, 16000, channel).process(native);
      expect(Array.from(pcm)).toEqual(Array.from(expected.subarray(0, n)));
    }
  });

  it('finds devices by substring and rejects a missing one with one clear line', async () => {
    const mic = new AlsaMic({ device: 'IN4', log: memoryLogger().logger, env: alsa.env, rate: 48000, channels: 2 });
    await capture(mic, 320);
    expect(mic.deviceName).toBe('in48');

    const missing = new AlsaMic({ device: 'seeed4mic', log: memoryLogger().logger, env: alsa.env, cardsPath: '/nonexistent' });
    const err = await missing.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^microphone "alsa:seeed4mic" not found; capture devices: .*"in16".*"in48"/);
    expect(msg).toContain('group "audio"');
    expect(msg).toContain('config.txt');
    expect(msg).not.toContain('\n');
  });

  it('explains a naudiodon that cannot be loaded, without killing the caller', async () => {
    const mic = new AlsaMic({ device: 'in16', log: memoryLogger().logger, env: alsa.env, modulePath: '/nonexistent/naudiodon.js' });
    await expect(mic.start()).rejects.toThrow(/^microphone "alsa:in16": naudiodon cannot be loaded: Cannot find module/);
  });

  it('rejects a channel the device does not capture', async () => {
    const mic = new AlsaMic({ device: 'in48', rate: 48000, channels: 2, channel: 3, log: memoryLogger().logger, env: alsa.env });
    await expect(mic.start()).rejects.toThrow(/channel 3/);
  });

  it('reports a stalled device once, reopens it with backoff and recovers when audio flows again', async () => {
    // A FIFO stands in for a USB mic that stops delivering: capture blocks when no data comes.
    // Opened read-write by the test before any helper probes it, so no open() blocks. It gets
    // its own ALSA configuration: device scans open every PCM defined there.
    const fifoEnv = makeAlsaEnv({ fifo: 'mic.fifo' }, {});
    execFileSync('mkfifo', [fifoEnv.path('mic.fifo')]);
    const fd = openSync(fifoEnv.path('mic.fifo'), 'r+');
    try {
      // The capture helper is real; the stall and reopen timers run on a manual clock.
      const clock = new ManualScheduler();
      const { logger, lines } = memoryLogger('info');
      const mic = new AlsaMic({ device: 'fifo', log: logger, env: fifoEnv.env, stallMs: 300, retryMinMs: 50, clock });
      const errors: { message: string; recoverable: boolean }[] = [];
      mic.on('error', (e) => errors.push(e));
      let frames = 0;
      mic.on('frame', () => frames++);
      writeSync(fd, toBuffer(mono16.subarray(0, 16000)));
      await mic.start();
      await until(() => frames > 0, 'the first frames');
      const failed = mic.next('error');
      clock.advance(299);
      expect(errors).toEqual([]);
      clock.advance(1); // no audio for stallMs on the mic's clock
      await failed;
      const before = frames;
      expect(before).toBeGreaterThan(0);
      const recovered = mic.next('recovered');
      // Keep feeding until the reopened helper reads again.
      const feeder = setInterval(() => writeSync(fd, toBuffer(mono16.subarray(0, 3200))), 50);
      clock.advance(50); // retryMinMs: the reopen is due
      await recovered;
      clearInterval(feeder);
      await mic.stop();
      expect(frames).toBeGreaterThan(before);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toEqual({ message: 'microphone "alsa:fifo": no audio for 300 ms', recoverable: true });
      const events = lines().map((l) => l.event);
      expect(events).toContain('microphone failed; reopening');
      expect(events).toContain('microphone recovered');
      expect(lines().some((l) => l.level === 'error')).toBe(false);
    } finally {
      closeSync(fd);
      fifoEnv.cleanup();
    }
  });
});
