/** WAV helpers, the wav: mic and speaker drivers, the reply player, pre-roll ring, energy VAD. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeMp3, LameMp3Decoder } from '../../src/audio/mp3.js';
import { SampleRing } from '../../src/audio/ring-buffer.js';
import { EnergyVad } from '../../src/audio/vad.js';
import { bytesToInt16, int16ToBytes, parseWav, wavHeader } from '../../src/audio/wav.js';
import { ReplyPlayer } from '../../src/core/player.js';
import { FakeSpeaker } from '../fakes/index.js';
import { WavMic } from '../../src/drivers/wav/mic.js';
import { WavSpeaker } from '../../src/drivers/wav/speaker.js';
import { silentLogger } from '../../src/log/logger.js';
import { encodeMp3, toneFor } from '../../src/local-gateway/speech.js';
import { silence, speech, waitFor } from '../support/harness.js';
import { writeWav } from '../support/wav.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-audio-'));

describe('WAV', () => {
  it('round-trips a header and reads streaming (size 0xFFFFFFFF) headers', () => {
    const pcm = Buffer.alloc(100);
    const wav = Buffer.concat([wavHeader({ sampleRate: 22050, channels: 2 }, 100), pcm]);
    expect(parseWav(wav)).toEqual({ format: { sampleRate: 22050, channels: 2 }, dataOffset: 44, dataBytes: 100 });
    const streaming = Buffer.from(wav);
    streaming.writeUInt32LE(0xffffffff, 40);
    expect(parseWav(streaming).dataBytes).toBe(100);
  });

  it('rejects what is not 16-bit PCM with a clear message', () => {
    const h = wavHeader({ sampleRate: 8000, channels: 1 }, 0);
    h.writeUInt16LE(3, 20); // float
    expect(() => parseWav(h)).toThrow(/need 16-bit PCM/);
    expect(() => parseWav(Buffer.from('hello world!'))).toThrow(/not a WAV file/);
  });
});

describe('wav: microphone', () => {
  it('delivers the file converted to 16 kHz mono in 20 ms frames, then silence', async () => {
    const f = path.join(dir, 'stereo48.wav');
    const stereo = new Int16Array(48000 * 0.2 * 2).fill(1000); // 200 ms, 48 kHz stereo
    writeWav(f, stereo, 48000, 2);
    const mic = new WavMic({ path: f, realtime: false });
    const frames: Int16Array[] = [];
    mic.on('frame', (fr) => frames.push(fr.pcm));
    await mic.start();
    await waitFor(() => frames.length >= 12, 'frames');
    await mic.stop();
    expect(frames.every((f) => f.length === 320)).toBe(true);
    expect(frames[5]![100]).toBeCloseTo(1000, -1);
    expect(frames[11]!.every((s) => s === 0)).toBe(true);
  });

  it('says which file is missing', async () => {
    await expect(new WavMic({ path: '/no/such.wav' }).start()).rejects.toThrow(/microphone file \/no\/such.wav cannot be read \(ENOENT\)/);
  });

  it('waits for cue() when told to, and paces frames by sample count', async () => {
    const f = path.join(dir, 'cue.wav');
    writeWav(f, new Int16Array(1600).fill(500), 16000);
    const mic = new WavMic({ path: f, cueAtStart: false });
    const frames: { pcm: Int16Array; sampleIndex: number }[] = [];
    mic.on('frame', (fr) => frames.push(fr));
    await mic.start();
    await waitFor(() => frames.length >= 3, 'frames');
    expect(frames[0]!.pcm.every((s) => s === 0)).toBe(true);
    mic.cue();
    await waitFor(() => frames.some((fr) => fr.pcm[0] === 500), 'cued speech');
    await mic.stop();
    frames.forEach((fr, i) => expect(fr.sampleIndex).toBe(i * 320));
  });
});

describe('wav: speaker', () => {
  it('writes a valid WAV at its own rate, readable while running; drained after end()', async () => {
    const out = path.join(dir, 'out.wav');
    const sp = new WavSpeaker({ path: out, sampleRate: 16000, realtime: false });
    await sp.start();
    sp.write(int16ToBytes(new Int16Array(1600).fill(300)), { sampleRate: 16000, channels: 1 });
    expect(parseWav(readFileSync(out)).dataBytes).toBe(3200);
    // 22.05 kHz stereo is converted to the file's 16 kHz mono.
    sp.write(int16ToBytes(new Int16Array(2205 * 2).fill(300)), { sampleRate: 22050, channels: 2 });
    const drained = sp.next('drained');
    sp.end();
    await drained;
    await sp.close();
    const wav = readFileSync(out);
    const parsed = parseWav(wav);
    expect(parsed.format).toEqual({ sampleRate: 16000, channels: 1 });
    expect(Math.abs(parsed.dataBytes / 2 - 3200)).toBeLessThanOrEqual(2);
  });

  it('in real time, stop() drops what has not played and no drained follows', async () => {
    const out = path.join(dir, 'rt.wav');
    const sp = new WavSpeaker({ path: out, realtime: true });
    await sp.start();
    let drained = 0;
    sp.on('drained', () => drained++);
    sp.write(int16ToBytes(new Int16Array(16000 * 2)), { sampleRate: 16000, channels: 1 }); // 2 s
    sp.write(int16ToBytes(new Int16Array(16000 * 2)), { sampleRate: 16000, channels: 1 });
    sp.end();
    await new Promise((r) => setTimeout(r, 100));
    expect(sp.playing).toBe(true);
    sp.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(drained).toBe(0);
    expect(sp.playing).toBe(false);
    expect(sp.writtenBytes).toBeLessThan(16000 * 2 * 2 * 2);
    await sp.close();
  });
});

describe('reply player', () => {
  it('plays PCM streams in order, even when a later MP3 stream decodes first', async () => {
    const out = new FakeSpeaker();
    await out.start();
    const player = new ReplyPlayer(out, () => new LameMp3Decoder(), silentLogger());
    const mp3 = await encodeMp3(toneFor('a sentence'));
    player.beginStream({ codec: 'mp3' });
    player.write(mp3);
    player.endStream();
    player.beginStream({ codec: 'pcm', sampleRate: 16000, channels: 1 });
    player.write(int16ToBytes(new Int16Array(320).fill(77)));
    player.endStream();
    player.finish();
    await waitFor(() => out.ends === 1, 'output ended after both streams', 5000);
    const last = out.writes.at(-1)!;
    expect(bytesToInt16(last.pcm)[0]).toBe(77); // the PCM stream played after the MP3 one
    expect(out.writes.length).toBeGreaterThan(1);
  });

  it('sniffs MP3 and PCM when the format is not given; joins odd byte splits', async () => {
    const out = new FakeSpeaker();
    await out.start();
    const player = new ReplyPlayer(out, () => new LameMp3Decoder(), silentLogger());
    const pcm = int16ToBytes(new Int16Array([1, 2, 3]));
    player.write(pcm.subarray(0, 3));
    player.write(pcm.subarray(3));
    player.finish();
    expect(Array.from(bytesToInt16(Buffer.concat(out.writes.map((w) => w.pcm))))).toEqual([1, 2, 3]);
    expect(out.ends).toBe(1);
  });

  it('stop() cuts at once and forgets the reply', async () => {
    const out = new FakeSpeaker();
    await out.start();
    const player = new ReplyPlayer(out, () => new LameMp3Decoder(), silentLogger());
    player.beginStream({ codec: 'pcm', sampleRate: 16000, channels: 1 });
    player.write(int16ToBytes(new Int16Array(320)));
    player.stop();
    expect(out.stops).toBe(1);
    expect(player.active).toBe(false);
  });

  it('recognises MP3 by ID3 tag or frame sync', async () => {
    const mp3 = await encodeMp3(toneFor('x'));
    expect(looksLikeMp3(mp3)).toBe(true);
    expect(looksLikeMp3(Buffer.from('ID3\x04'))).toBe(true);
    expect(looksLikeMp3(int16ToBytes(speech(20)))).toBe(false);
    expect(looksLikeMp3(Buffer.from([0xff, 0xe0]))).toBe(false); // reserved version + layer
  });
});

describe('pre-roll ring', () => {
  it('keeps the newest samples in order', () => {
    const r = new SampleRing(5);
    r.push(new Int16Array([1, 2, 3]));
    r.push(new Int16Array([4, 5, 6, 7]));
    expect(Array.from(r.drain())).toEqual([3, 4, 5, 6, 7]);
    expect(r.length).toBe(0);
    r.push(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Array.from(r.drain())).toEqual([4, 5, 6, 7, 8]);
  });

  it('a snapshot copies the samples and keeps them; clear forgets them', () => {
    const r = new SampleRing(4);
    r.push(new Int16Array([1, 2, 3, 4, 5, 6]));
    const snap = r.snapshot();
    expect(Array.from(snap)).toEqual([3, 4, 5, 6]);
    r.push(new Int16Array([7]));
    expect(Array.from(snap)).toEqual([3, 4, 5, 6]);
    expect(Array.from(r.snapshot())).toEqual([4, 5, 6, 7]);
    r.clear();
    expect(r.length).toBe(0);
    expect(Array.from(r.snapshot())).toEqual([]);
  });
});

describe('energy VAD', () => {
  function run(vad: EnergyVad, pcm: Int16Array): { event: string; at: number }[] {
    const events: { event: string; at: number }[] = [];
    for (let i = 0; i < pcm.length; i += 320) {
      const e = vad.process(pcm.subarray(i, i + 320));
      if (e) events.push({ event: e, at: i / 16 });
    }
    return events;
  }

  it('finds speech start and the end after the hang-over; a 500 ms inner pause does not end it', () => {
    const sig = new Int16Array(16000 * 4);
    sig.set(speech(800), 0.5 * 16000);
    sig.set(speech(800), 1.8 * 16000); // 500 ms pause between
    const events = run(new EnergyVad({ hangoverMs: 800 }), sig);
    expect(events.map((e) => e.event)).toEqual(['speech-start', 'speech-end']);
    expect(events[1]!.at).toBeGreaterThanOrEqual(2600 + 780);
    expect(events[1]!.at).toBeLessThanOrEqual(2600 + 900);
  });

  it('steady fan noise raises the floor instead of counting as speech', () => {
    const noise = speech(3000).map((s) => s / 20); // about -46 dBFS
    expect(run(new EnergyVad({ minLevelDb: -60 }), noise).filter((e) => e.event === 'speech-start').length).toBeLessThanOrEqual(1);
    const vad = new EnergyVad({ minLevelDb: -60 });
    run(vad, noise);
    expect(run(vad, silence(100)).length).toBeLessThanOrEqual(1);
  });
});
