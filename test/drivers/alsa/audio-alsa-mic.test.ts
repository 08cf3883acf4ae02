/**
 * The ALSA microphone through each real capture backend (arecord, libasound through koffi,
 * naudiodon's PortAudio helper), reading from ALSA `file` PCMs whose input is a FIFO fed in
 * real time by a separate process (test/support/paced-fifo.ts), as a sound card would.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CaptureConverter } from '../../../src/audio/channels.js';
import { ArecordCapture } from '../../../src/drivers/alsa/arecord.js';
import type { CaptureBackend } from '../../../src/drivers/alsa/capture.js';
import { KoffiCapture } from '../../../src/drivers/alsa/koffi-capture.js';
import { AlsaMic } from '../../../src/drivers/alsa/mic.js';
import { NaudiodonCapture } from '../../../src/drivers/alsa/naudiodon-capture.js';
import { DeviceError } from '../../../src/errors.js';
import { memoryLogger } from '../../../src/log/logger.js';
import type { AudioFrame } from '../../../src/ports/audio-input.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { type PacedFifo, pacedFifo } from '../../support/paced-fifo.js';
import { until } from '../../fakes/ws-server.js';
import { type AlsaEnv, interleave, makeAlsaEnv, testSignal, toBuffer } from '../../support/alsa-env.js';

const mono16 = testSignal(16000, 1.0, 1);
const left48 = testSignal(48000, 1.0, 2, 300);
const right48 = testSignal(48000, 1.0, 3, 900);

/**
 * Starts `mic`, collects frames until `samples` were captured, stops it. `spanMs`: first to
 * last frame; `stopMs`: how long stop() took.
 */
async function capture(mic: AlsaMic, samples: number, afterStart?: () => void): Promise<{ pcm: Int16Array; frames: AudioFrame[]; stopMs: number; spanMs: number }> {
  const frames: AudioFrame[] = [];
  let total = 0;
  let first = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    mic.on('frame', (f) => {
      if (total >= samples) return;
      last = performance.now();
      if (!first) first = last;
      frames.push(f);
      total += f.pcm.length;
      if (total >= samples) resolve();
    });
  });
  await mic.start();
  afterStart?.();
  await done;
  const t = performance.now();
  await mic.stop();
  const stopMs = performance.now() - t;
  const pcm = new Int16Array(total);
  let o = 0;
  for (const f of frames) {
    pcm.set(f.pcm, o);
    o += f.pcm.length;
  }
  return { pcm: pcm.subarray(0, samples), frames, stopMs, spanMs: last - first };
}

const backends: [string, () => CaptureBackend][] = [
  ['arecord', () => new ArecordCapture()],
  ['koffi', () => new KoffiCapture()],
  ['naudiodon', () => new NaudiodonCapture()],
];

describe.each(backends)('AlsaMic over %s (ALSA file plugin fed in real time)', (name, backend) => {
  let alsa: AlsaEnv;
  let feeds: Record<'in16' | 'in48' | 'stall', PacedFifo>;
  /** Every FIFO-backed PCM gets a writer: device scans open them all. */
  const startFeeds = async (silence = false) => {
    feeds = {
      in16: await pacedFifo(alsa.path('mic16.fifo'), 640, { silence }),
      in48: await pacedFifo(alsa.path('mic48.fifo'), 3840, { silence }),
      stall: await pacedFifo(alsa.path('stall.fifo'), 640, { silence: true }),
    };
  };
  const stopFeeds = () => Promise.all(Object.values(feeds).map((f) => f.close()));

  beforeAll(() => {
    alsa = makeAlsaEnv({ in16: 'mic16.fifo', in48: 'mic48.fifo', stall: 'stall.fifo' }, {});
    // libasound reads ~/.asoundrc in this process for the in-process backend, once.
    if (name === 'koffi') process.env.HOME = alsa.dir;
  });
  beforeEach(() => startFeeds());
  afterEach(() => stopFeeds());
  afterAll(() => alsa.cleanup());

  it('captures a 16 kHz mono device sample-exact, in 20 ms frames counted in samples, and stops within 50 ms', async () => {
    const { logger, text } = memoryLogger('debug');
    const mic = new AlsaMic({ device: 'in16', log: logger, env: alsa.env, backend: backend() });
    const n = 15000;
    // The audio comes once capture runs, as from a sound card (nothing buffered before).
    const { pcm, frames, stopMs, spanMs } = await capture(mic, n, () => feeds.in16.play(toBuffer(mono16)));
    // Paced: 15000 samples take most of a second to arrive, as from a sound card.
    expect(spanMs).toBeGreaterThan(700);
    expect(mic.nativeFormat).toEqual({ sampleRate: 16000, channels: 1 });
    expect(mic.backendName).toBe(name);
    expect(frames.every((f) => f.pcm.length === 320)).toBe(true);
    expect(frames.map((f) => f.sampleIndex).slice(0, 3)).toEqual([0, 320, 640]);
    expect(Array.from(pcm)).toEqual(Array.from(mono16.subarray(0, n)));
    // ALSA's C-level messages never reach the agent's log lines.
    expect(text()).not.toContain('ALSA lib');
    // A generous bound for a shared machine; docs/audio.md has the measured figures.
    expect(stopMs).toBeLessThan(name === 'naudiodon' ? 500 : 200);
    expect(mic.helperPid).toBeUndefined();
  });

  it.runIf(name === 'arecord')('arecord: where no FIFO can be made for its audio, its stdout carries it, sample-exact', async () => {
    const { logger, text } = memoryLogger('debug');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = alsa.path('no-such-directory');
    try {
      const mic = new AlsaMic({ device: 'in16', log: logger, env: alsa.env, backend: backend() });
      const { pcm } = await capture(mic, 8000, () => feeds.in16.play(toBuffer(mono16)));
      expect(Array.from(pcm)).toEqual(Array.from(mono16.subarray(0, 8000)));
      expect(text()).toContain('pcm-pipe-unavailable');
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('captures a 48 kHz stereo device natively and converts to 16 kHz mono (channel pick and mix)', async () => {
    const native = interleave(left48, right48);
    for (const channel of [1, 'mix'] as const) {
      const mic = new AlsaMic({ device: 'in48', rate: 48000, channels: 2, channel, log: memoryLogger().logger, env: alsa.env, backend: backend() });
      const n = 12000;
      const { pcm } = await capture(mic, n, () => feeds.in48.play(toBuffer(native)));
      expect(mic.nativeFormat).toEqual({ sampleRate: 48000, channels: 2 });
      const expected = new CaptureConverter({ sampleRate: 48000, channels: 2 }, 16000, channel).process(native);
      expect(Array.from(pcm)).toEqual(Array.from(expected.subarray(0, n)));
      await stopFeeds();
      await startFeeds();
    }
  });

  it('finds devices by substring and rejects a missing one with one clear line', async () => {
    const mic = new AlsaMic({ device: 'IN4', log: memoryLogger().logger, env: alsa.env, rate: 48000, channels: 2, backend: backend() });
    await capture(mic, 320, () => feeds.in48.play(toBuffer(interleave(left48, right48))));
    expect(mic.deviceName).toBe('in48');

    const missing = new AlsaMic({ device: 'seeed4mic', log: memoryLogger().logger, env: alsa.env, cardsPath: '/nonexistent', backend: backend() });
    const err = await missing.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^microphone "alsa:seeed4mic" not found; capture devices: .*"in16".*"in48".*"stall"/);
    expect(msg).toContain('group "audio"');
    expect(msg).toContain('config.txt');
    expect(msg).not.toContain('\n');
  });

  it('rejects a channel the device does not capture', async () => {
    const mic = new AlsaMic({ device: 'in48', rate: 48000, channels: 2, channel: 3, log: memoryLogger().logger, env: alsa.env, backend: backend() });
    await expect(mic.start()).rejects.toThrow(/channel 3/);
  });

  /** The `stall` device captured on a manual clock (stallMs 300, retryMinMs 50) until frames flow, then its feed paused. */
  async function stoppedFeed(level: 'info' | 'debug') {
    const clock = new ManualScheduler();
    const { logger, lines } = memoryLogger(level);
    const mic = new AlsaMic({ device: 'stall', log: logger, env: alsa.env, stallMs: 300, retryMinMs: 50, clock, backend: backend() });
    const errors: { message: string; recoverable: boolean }[] = [];
    mic.on('error', (e) => errors.push(e));
    const seen = { frames: 0 };
    mic.on('frame', () => seen.frames++);
    await mic.start();
    await until(() => seen.frames > 0, 'the first frames');
    feeds.stall.pause();
    return { clock, lines, mic, errors, seen };
  }

  it('reports a stalled device once, reopens it with backoff and recovers when audio flows again', async () => {
    // The device stops delivering (a USB mic that hangs): capture blocks while no data comes.
    // The capture backend is real; the stall and reopen timers run on a manual clock.
    const f = feeds.stall;
    const { clock, lines, mic, errors, seen } = await stoppedFeed('info');
    const failed = mic.next('error');
    clock.advance(299);
    expect(errors).toEqual([]);
    clock.advance(1); // no audio for stallMs on the mic's clock
    await failed;
    const before = seen.frames;
    expect(before).toBeGreaterThan(0);
    const recovered = mic.next('recovered');
    f.resume();
    clock.advance(50); // retryMinMs: the reopen is due
    await recovered;
    await mic.stop();
    expect(seen.frames).toBeGreaterThan(before);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual({ message: 'microphone "alsa:stall": no audio for 300 ms', recoverable: true });
    const events = lines().map((l) => l.event);
    expect(events).toContain('mic-reopening');
    expect(events).toContain('mic-device-recovered');
    expect(lines().some((l) => l.level === 'error')).toBe(false);
  });

  it('a process that did not run for longer than the stall time is not a stalled device: it looks again, then reports a real stall', async () => {
    // Seen on an emulated Pi under load: the agent got no CPU for over 2 s, its stall check ran
    // late, before the audio waiting in arecord's pipe was read, and reopened a healthy device.
    const f = feeds.stall;
    const { clock, lines, mic, errors } = await stoppedFeed('debug');
    clock.freeze(2000); // the whole process was not scheduled for 2 s
    clock.advance(0); // then the overdue check runs first, 1.7 s late
    expect(errors).toEqual([]);
    expect(lines().filter((l) => l.event === 'mic-check-late')).toHaveLength(1);
    // The device really delivers nothing now: one more period on time, and it is reported.
    const failed = mic.next('error');
    clock.advance(300);
    await failed;
    expect(errors).toEqual([{ message: 'microphone "alsa:stall": no audio for 300 ms', recoverable: true }]);
    f.resume();
    await mic.stop();
  });
});

describe('AlsaMic backend specifics', () => {
  it('naudiodon: explains a module that cannot be loaded, without killing the caller', async () => {
    const alsa = makeAlsaEnv({ in16: 'mic16.raw' }, {});
    try {
      const mic = new AlsaMic({ device: 'in16', log: memoryLogger().logger, env: alsa.env, modulePath: '/nonexistent/naudiodon.js' });
      await expect(mic.start()).rejects.toThrow(/^microphone "alsa:in16": naudiodon cannot be loaded: Cannot find module/);
    } finally {
      alsa.cleanup();
    }
  });

  it('arecord: a missing tool is one clear line with the fix', async () => {
    const mic = new AlsaMic({ device: 'default', log: memoryLogger().logger, backend: new ArecordCapture('/nonexistent/arecord') });
    await expect(mic.start()).rejects.toThrow(/^microphone "alsa:default" .*cannot run arecord .*install alsa-utils/);
  });

  it.each([
    ['arecord', () => new ArecordCapture()],
    ['koffi', () => new KoffiCapture()],
  ] as [string, () => CaptureBackend][])('%s: a device that cannot be opened names the ALSA error, in one line', async (_n, backend) => {
    const alsa = makeAlsaEnv({}, {});
    const home = process.env.HOME;
    process.env.HOME = alsa.dir;
    try {
      const mic = new AlsaMic({ device: 'hw:7,0', log: memoryLogger().logger, env: alsa.env, cardsPath: '/nonexistent', backend: backend() });
      const err = (await mic.start().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(DeviceError);
      expect(err.message).toMatch(/^microphone "alsa:hw:7,0" \(ALSA "hw:7,0"\): .*(No such file or directory|No such device).*; check that the user is in group "audio"/);
      expect(err.message).not.toContain('\n');
    } finally {
      process.env.HOME = home;
      alsa.cleanup();
    }
  });
});
