/**
 * The ALSA speaker through each real playback backend (aplay, libasound through koffi, the
 * `speaker` module) writing to ALSA `file` PCMs, whose output files hold exactly the samples
 * ALSA was given.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmFormat } from '../../../src/audio/format.js';
import { Mpg123Mp3Decoder } from '../../../src/audio/mp3-mpg123.js';
import { LameMp3Decoder, type Mp3Decoder } from '../../../src/audio/mp3.js';
import { AplayPlayback } from '../../../src/drivers/alsa/aplay.js';
import { KoffiPlayback } from '../../../src/drivers/alsa/koffi-playback.js';
import type { PcmOutStream, PlaybackBackend } from '../../../src/drivers/alsa/playback.js';
import { AlsaSpeaker } from '../../../src/drivers/alsa/speaker.js';
import { SpeakerModulePlayback } from '../../../src/drivers/alsa/speaker-module.js';
import { DeviceError } from '../../../src/errors.js';
import { memoryLogger } from '../../../src/log/logger.js';
import { until } from '../../fakes/ws-server.js';
import { type AlsaEnv, makeAlsaEnv, testSignal, toBuffer } from '../../support/alsa-env.js';

let alsa: AlsaEnv;
const devices = ['plain', 'mp3a', 'mp3b', 'vol', 'stop', 'fmt', 'cont'];

beforeAll(() => {
  alsa = makeAlsaEnv({}, Object.fromEntries(devices.map((d) => [d, `${d}.raw`])));
  // libasound reads ~/.asoundrc when `speaker` or koffi first opens a device, in this test
  // process; aplay inherits HOME.
  process.env.HOME = alsa.dir;
});
afterAll(() => alsa.cleanup());

const backends: [string, (log: ReturnType<typeof memoryLogger>['logger']) => PlaybackBackend][] = [
  ['aplay', (log) => new AplayPlayback({ log })],
  ['koffi', (log) => new KoffiPlayback({ log })],
  ['speaker', () => new SpeakerModulePlayback()],
];

const played = (device: string) => readFileSync(alsa.path(`${device}.raw`));

/**
 * What the device got is `pcm`, exactly; aplay writes whole periods and pads the last one with
 * silence (at most one 20 ms period at the end of a stream, inaudible on a real device).
 */
function playedExactly(device: string, pcm: Buffer, format = { sampleRate: 16000, channels: 1 }): boolean {
  const out = played(device);
  const pad = out.subarray(pcm.length);
  const period = (format.sampleRate / 50) * format.channels * 2;
  return out.subarray(0, pcm.length).equals(pcm) && pad.length <= period && pad.every((b) => b === 0);
}

const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0; // aplay had not opened the device yet
  }
};

describe.each(backends)('AlsaSpeaker over %s (ALSA file plugin)', (name, backend) => {
function speaker(device: string, extra: Partial<ConstructorParameters<typeof AlsaSpeaker>[0]> = {}) {
  const mem = memoryLogger('info');
  const writes: { bytes: number; format: PcmFormat }[] = [];
  const spk = new AlsaSpeaker({ device, log: mem.logger, backend: backend(mem.logger), onAlsaWrite: (bytes, format) => writes.push({ bytes, format }), ...extra });
  return { spk, writes, mem };
}

  it('writes exactly the samples it was given, in network-sized chunks, and drains after they played', async () => {
    const { spk, writes } = speaker('plain');
    await spk.start();
    const pcm = toBuffer(testSignal(16000, 0.5));
    const format = { sampleRate: 16000, channels: 1 };
    const t0 = performance.now();
    for (let i = 0; i < pcm.length; i += 1234) spk.write(pcm.subarray(i, i + 1234), format); // odd sizes on purpose
    expect(spk.playing).toBe(true);
    spk.end();
    await spk.next('drained');
    const elapsed = performance.now() - t0;
    expect(spk.playing).toBe(false);
    await spk.close();
    expect(playedExactly('plain', pcm.subarray(0, pcm.length - (pcm.length % 2)))).toBe(true);
    // drained never fires before the audio could have played (a lower bound: load only delays it).
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(writes.every((w) => w.bytes <= 640)).toBe(true);
  });

  it.each([
    ['mpg123', 'mp3a', () => new Mpg123Mp3Decoder()],
    ['node-lame', 'mp3b', () => new LameMp3Decoder()],
  ] as [string, string, () => Mp3Decoder][])('plays a streamed MP3 (22.05 kHz mono) as decoded by %s, at its own rate', async (_n, device, make) => {
    const wav = alsa.path('reply.wav');
    const mp3 = alsa.path('reply.mp3');
    execFileSync('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', wav, 'synth', '0.6', 'sine', '300-3000']);
    execFileSync('lame', ['--quiet', '-b', '32', wav, mp3]);
    const bytes = readFileSync(mp3);
    const { spk, writes } = speaker(device);
    await spk.start();
    const dec = make();
    const decoded: Buffer[] = [];
    dec.on('pcm', (b, f) => {
      decoded.push(Buffer.from(b));
      spk.write(b, f);
    });
    const ended = dec.next('end');
    for (let i = 0; i < bytes.length; i += 1000) dec.write(bytes.subarray(i, i + 1000));
    dec.end();
    await ended;
    spk.end();
    await spk.next('drained');
    await spk.close();
    expect(writes[0]!.format).toEqual({ sampleRate: 22050, channels: 1 });
    const all = Buffer.concat(decoded);
    expect(all.length).toBeGreaterThan(22050); // ~0.6 s
    expect(playedExactly(device, all, { sampleRate: 22050, channels: 1 })).toBe(true);
  });

  it('applies software volume', async () => {
    const { spk } = speaker('vol', { volume: 50 });
    await spk.start();
    const x = testSignal(16000, 0.1);
    spk.write(toBuffer(x), { sampleRate: 16000, channels: 1 });
    spk.end();
    await spk.next('drained');
    const out = new Int16Array(new Uint8Array(played('vol')).buffer);
    const gain = Math.pow(0.5, 1.66);
    expect(out.length).toBe(name === 'aplay' ? 1920 : x.length); // aplay: padded to its 20 ms period
    for (let i = 0; i < x.length; i += 97) expect(out[i]).toBe(Math.round(x[i]! * gain));
    spk.setVolume(0);
    spk.write(toBuffer(x), { sampleRate: 16000, channels: 1 });
    spk.end();
    await spk.next('drained');
    expect(new Int16Array(new Uint8Array(played('vol')).buffer).every((v) => v === 0)).toBe(true);
    await spk.close();
  });

  it('stop() cuts at once: nothing more reaches ALSA, no drained; the next stream plays', async () => {
    const { spk, writes } = speaker('stop');
    await spk.start();
    const format = { sampleRate: 16000, channels: 1 };
    spk.write(toBuffer(testSignal(16000, 3)), format);
    while (writes.length < 5) await new Promise((r) => setTimeout(r, 5));
    let drained = false;
    spk.on('drained', () => (drained = true));
    spk.stop();
    const handed = writes.reduce((t, w) => t + w.bytes, 0);
    expect(spk.playing).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(drained).toBe(false);
    // Everything ALSA got was at most the blocks handed over before stop(), plus one in flight.
    expect(sizeOf(alsa.path('stop.raw'))).toBeLessThanOrEqual(handed + 640);
    expect(handed).toBeLessThan(16000 * 2 * 3);
    const next = toBuffer(testSignal(16000, 0.1, 7));
    spk.write(next, format);
    spk.end();
    await spk.next('drained');
    await spk.close();
    expect(playedExactly('stop', next)).toBe(true);
  });

  it('a new format queues behind the stream playing (each opens ALSA at its own rate)', async () => {
    const { spk, writes } = speaker('fmt');
    await spk.start();
    spk.write(toBuffer(testSignal(16000, 0.1)), { sampleRate: 16000, channels: 1 });
    const stereo = toBuffer(testSignal(24000, 0.2, 5));
    spk.write(stereo, { sampleRate: 24000, channels: 2 });
    spk.end();
    await spk.next('drained');
    await spk.close();
    const formats = [...new Set(writes.map((w) => `${w.format.sampleRate}x${w.format.channels}`))];
    expect(formats).toEqual(['16000x1', '24000x2']);
    // The file plugin starts a new file per open: it holds the second stream, complete.
    expect(playedExactly('fmt', stereo, { sampleRate: 24000, channels: 2 })).toBe(true);
  });

  it('a device that cannot be opened gives one clear error line; end() then drains at once', async () => {
    const { spk, mem } = speaker('nosuchpcm', { cardsPath: '/nonexistent' });
    await spk.start();
    const err = spk.next('error');
    spk.write(toBuffer(testSignal(16000, 0.1)), { sampleRate: 16000, channels: 1 });
    const [{ message }] = await err;
    expect(message).toMatch(/^speaker "alsa:nosuchpcm" \(ALSA "nosuchpcm"\): .*; sound cards: none \(no sound card found\); check that the user is in group "audio"/);
    expect(message).not.toContain('\n');
    expect(spk.playing).toBe(false);
    spk.end();
    await spk.next('drained');
    expect(mem.lines().some((l) => l.level === 'error')).toBe(false);
    await spk.close();
  });

  it('a write after end() and before drained continues the stream: one drained for both', async () => {
    const { spk, writes } = speaker('cont');
    await spk.start();
    const format = { sampleRate: 16000, channels: 1 };
    const a = toBuffer(testSignal(16000, 0.2, 3));
    const b = toBuffer(testSignal(16000, 0.2, 4));
    let drained = 0;
    spk.on('drained', () => drained++);
    spk.write(a, format);
    spk.end();
    // Late, as a reply's last network chunk can be: half of the first part has played by now.
    await new Promise((r) => setTimeout(r, 100));
    expect(drained).toBe(0);
    spk.write(b, format);
    spk.end();
    await spk.next('drained');
    await new Promise((r) => setTimeout(r, 50));
    expect(drained).toBe(1);
    expect(writes.reduce((t, w) => t + w.bytes, 0)).toBe(a.length + b.length);
    await spk.close();
  });
});

/**
 * A backend whose device takes time to play out its last block (a real card, unlike the file
 * plugin): each stream records its writes and closes; a play-out ends when the test says so.
 */
class SlowDrainBackend implements PlaybackBackend {
  readonly name = 'slow-drain';
  readonly streams: { closes: boolean[]; playedOut: () => void }[] = [];
  async prepare(): Promise<void> {}
  open(): PcmOutStream {
    let playedOut!: () => void;
    const released = new Promise<void>((r) => (playedOut = r));
    const rec = { closes: [] as boolean[], playedOut };
    this.streams.push(rec);
    return {
      write: (_b, done) => void setImmediate(done),
      close: (flush) => {
        rec.closes.push(flush);
        if (flush) playedOut();
        return released;
      },
      on: () => undefined,
    };
  }
}

describe('AlsaSpeaker and a device that plays out its last block', () => {
  const format = { sampleRate: 16000, channels: 1 };
  it('drained waits for the play-out; stop() during it cuts the device and no drained comes', async () => {
    const backend = new SlowDrainBackend();
    const spk = new AlsaSpeaker({ device: 'x', log: memoryLogger().logger, backend, cardsPath: '/nonexistent' });
    await spk.start();
    let drained = 0;
    spk.on('drained', () => drained++);
    spk.write(toBuffer(testSignal(16000, 0.04)), format);
    spk.end();
    await until(() => backend.streams[0]?.closes.length === 1, 'the play-out to start');
    expect(backend.streams[0]!.closes).toEqual([false]);
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(0); // the device is still playing
    backend.streams[0]!.playedOut();
    await spk.next('drained');

    spk.write(toBuffer(testSignal(16000, 0.04)), format);
    spk.end();
    await until(() => backend.streams[1]?.closes.length === 1, 'the second play-out to start');
    spk.stop(); // barge-in while the last block plays out
    expect(backend.streams[1]!.closes).toEqual([false, true]);
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(1);
    await spk.close();
  });
});

describe('AlsaSpeaker over the speaker module', () => {
  it('an ALSA default that cannot be opened is a clear error, not an aborted process', async () => {
    // `speaker` opens the default device when it loads and libasound aborts if that fails.
    const broken = makeAlsaEnv({}, { spk: 'spk.raw' });
    try {
      writeFileSync(broken.path('.asoundrc'), 'pcm.!default { type hw; card 9 }\n' + readFileSync(broken.path('.asoundrc'), 'utf8').split('\n').slice(2).join('\n'));
      const spk = new AlsaSpeaker({ device: 'spk', log: memoryLogger().logger, env: broken.env, cardsPath: '/nonexistent' });
      const err = await spk.start().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(DeviceError);
      expect(err!.message).toMatch(/^speaker: ALSA's "default" playback device cannot be opened \(.*cannot open device default.*\), and the speaker module opens it when it loads; give ALSA a working default/);
      expect(err!.message).not.toContain('\n');
    } finally {
      broken.cleanup();
    }
  });
});
