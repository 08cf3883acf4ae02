/**
 * The ALSA speaker through the real native stack: the `speaker` module writing to ALSA `file`
 * PCMs, whose output files hold exactly the samples ALSA was given.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmFormat } from '../src/audio/format.js';
import { Mpg123Mp3Decoder } from '../src/audio/mp3-mpg123.js';
import { LameMp3Decoder, type Mp3Decoder } from '../src/audio/mp3.js';
import { AlsaSpeaker } from '../src/drivers/alsa/speaker.js';
import { DeviceError } from '../src/errors.js';
import { memoryLogger } from '../src/log/logger.js';
import { type AlsaEnv, makeAlsaEnv, testSignal, toBuffer } from './audio-alsa-env.js';

let alsa: AlsaEnv;
const devices = ['plain', 'mp3a', 'mp3b', 'vol', 'stop', 'fmt'];

beforeAll(() => {
  alsa = makeAlsaEnv({}, Object.fromEntries(devices.map((d) => [d, `${d}.raw`])));
  // libasound reads ~/.asoundrc when `speaker` first opens a device, in this test process.
  process.env.HOME = alsa.dir;
});
afterAll(() => alsa.cleanup());

function speaker(device: string, extra: Partial<ConstructorParameters<typeof AlsaSpeaker>[0]> = {}) {
  const mem = memoryLogger('info');
  const writes: { bytes: number; format: PcmFormat }[] = [];
  const spk = new AlsaSpeaker({ device, log: mem.logger, onAlsaWrite: (bytes, format) => writes.push({ bytes, format }), ...extra });
  return { spk, writes, mem };
}

const played = (device: string) => readFileSync(alsa.path(`${device}.raw`));

describe('AlsaSpeaker (speaker module through the ALSA file plugin)', () => {
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
    expect(played('plain').equals(pcm.subarray(0, pcm.length - (pcm.length % 2)))).toBe(true);
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
    expect(played(device).equals(all)).toBe(true);
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
    expect(out.length).toBe(x.length);
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
    expect(statSync(alsa.path('stop.raw')).size).toBeLessThanOrEqual(handed + 640);
    expect(handed).toBeLessThan(16000 * 2 * 3);
    const next = toBuffer(testSignal(16000, 0.1, 7));
    spk.write(next, format);
    spk.end();
    await spk.next('drained');
    await spk.close();
    expect(played('stop').equals(next)).toBe(true);
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
    expect(played('fmt').equals(stereo)).toBe(true);
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
