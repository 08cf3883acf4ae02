import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMp3DecoderFactory } from '../../src/audio/mp3-decoders.js';
import { Mpg123Mp3Decoder, mpegChannels } from '../../src/audio/mp3-mpg123.js';
import { LameMp3Decoder, looksLikeMp3, type Mp3Decoder } from '../../src/audio/mp3.js';
import { wavHeader } from '../../src/audio/wav.js';

let dir: string;
let mp3: Buffer;
let mp3NoTag: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sa-mp3-'));
  const wav = join(dir, 'a.wav');
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', wav, 'synth', '0.5', 'sine', '440']);
  execFileSync('lame', ['--quiet', '--id3v2-only', '--tt', 'reply', '-b', '48', wav, join(dir, 'tag.mp3')]);
  execFileSync('lame', ['--quiet', '-t', '-b', '48', wav, join(dir, 'raw.mp3')]);
  mp3 = readFileSync(join(dir, 'tag.mp3'));
  mp3NoTag = readFileSync(join(dir, 'raw.mp3'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('looksLikeMp3', () => {
  it('recognises an ID3v2 tag and a bare MPEG frame sync', () => {
    expect(mp3.subarray(0, 3).toString()).toBe('ID3');
    expect(looksLikeMp3(mp3)).toBe(true);
    expect(mp3NoTag[0]).toBe(0xff);
    expect(looksLikeMp3(mp3NoTag)).toBe(true);
  });

  it('rejects WAV, PCM silence, JSON, short input and reserved MPEG header values', () => {
    expect(looksLikeMp3(wavHeader({ sampleRate: 16000, channels: 1 }, 100))).toBe(false);
    expect(looksLikeMp3(Buffer.alloc(640))).toBe(false);
    expect(looksLikeMp3(Buffer.from('{"action":"audio_data"}'))).toBe(false);
    expect(looksLikeMp3(Buffer.from([0xff]))).toBe(false);
    expect(looksLikeMp3(Buffer.alloc(0))).toBe(false);
    expect(looksLikeMp3(Buffer.from([0xff, 0xe8]))).toBe(false); // version bits 01 (reserved)
    expect(looksLikeMp3(Buffer.from([0xff, 0xf0]))).toBe(false); // layer bits 00 (reserved)
  });
});

const decoders: [string, () => Mp3Decoder][] = [
  ['mpg123 (WASM)', () => new Mpg123Mp3Decoder()],
  ['node-lame', () => new LameMp3Decoder()],
];

describe.each(decoders)('%s decoder', (_name, make) => {
  it('decodes a stream fed in small chunks to PCM at the file rate, starting before the end of input', async () => {
    const dec = make();
    const out: Buffer[] = [];
    let formats = new Set<string>();
    let beforeEnd = false;
    let ended = false;
    dec.on('pcm', (b, f) => {
      out.push(Buffer.from(b));
      formats.add(`${f.sampleRate}x${f.channels}`);
      if (!ended) beforeEnd = true;
    });
    const done = dec.next('end');
    const half = Math.floor(mp3.length / 2);
    for (let i = 0; i < half; i += 500) dec.write(mp3.subarray(i, Math.min(i + 500, half)));
    // Wait for PCM from the first half before sending the rest.
    while (out.length === 0) await new Promise((r) => setTimeout(r, 5));
    ended = true;
    dec.write(mp3.subarray(half));
    dec.end();
    await done;
    expect(beforeEnd).toBe(true);
    expect([...formats]).toEqual(['24000x1']);
    const total = Buffer.concat(out).length / 2;
    expect(total).toBeGreaterThan(24000 * 0.45);
    expect(total).toBeLessThan(24000 * 0.6);
    formats = new Set();
  });

  it('reports garbage as an error event instead of throwing', async () => {
    const dec = make();
    const failed = new Promise<unknown>((resolve) => {
      dec.on('error', resolve);
      dec.on('end', () => resolve('end'));
    });
    dec.write(Buffer.alloc(4096, 7));
    dec.end();
    const r = await failed;
    // lame either rejects the input or decodes nothing; it never crashes the process.
    expect(r === 'end' || r instanceof Error).toBe(true);
  });
});

describe('decoder choice', () => {
  it('both decoders give the same audio (within MP3 decoder rounding)', async () => {
    const decode = async (dec: Mp3Decoder) => {
      const parts: Buffer[] = [];
      dec.on('pcm', (b) => parts.push(Buffer.from(b)));
      const done = dec.next('end');
      dec.write(mp3NoTag);
      dec.end();
      await done;
      const all = Buffer.concat(parts);
      return new Int16Array(all.buffer, all.byteOffset, all.length / 2);
    };
    const a = await decode(new Mpg123Mp3Decoder());
    const b = await decode(new LameMp3Decoder());
    // Encoder/decoder delay handling differs slightly; compare the aligned middle.
    let best = Infinity;
    for (let shift = -1200; shift <= 1200; shift++) {
      let err = 0;
      for (let i = 3000; i < 9000; i += 7) err += Math.abs(a[i]! - (b[i + shift] ?? 0));
      best = Math.min(best, err / (6000 / 7));
    }
    expect(best).toBeLessThan(50);
  });

  it('mpg123: plays stereo MP3 as stereo and mono as mono (the WASM decoder always outputs two channels)', async () => {
    const wav = join(dir, 's.wav');
    execFileSync('sox', ['-n', '-r', '22050', '-c', '2', '-b', '16', wav, 'synth', '0.3', 'sine', '440', 'sine', '660']);
    execFileSync('lame', ['--quiet', '-m', 's', '-b', '64', wav, join(dir, 's.mp3')]);
    const stereo = readFileSync(join(dir, 's.mp3'));
    expect(mpegChannels(stereo)).toBe(2);
    expect(mpegChannels(mp3)).toBe(1); // skips the ID3 tag
    expect(mpegChannels(Buffer.alloc(100))).toBeUndefined();
    const dec = new Mpg123Mp3Decoder();
    const formats = new Set<string>();
    dec.on('pcm', (_b, f) => formats.add(`${f.sampleRate}x${f.channels}`));
    const done = dec.next('end');
    dec.write(stereo);
    dec.end();
    await done;
    expect([...formats]).toEqual(['22050x2']);
  });

  it('the factory makes the configured kind', () => {
    expect(createMp3DecoderFactory('lame')()).toBeInstanceOf(LameMp3Decoder);
    const d = createMp3DecoderFactory('mpg123')();
    expect(d).toBeInstanceOf(Mpg123Mp3Decoder);
    d.destroy();
  });

  it('mpg123: a decoder that cannot load reports it as an error event', async () => {
    const dec = new Mpg123Mp3Decoder(() => Promise.reject(new Error('MP3 decoder unavailable (mpg123-decoder): missing')));
    const [err] = await dec.next('error');
    expect(err.message).toMatch(/mpg123-decoder/);
  });

  it('mpg123: destroy() stops all events (barge-in)', async () => {
    const dec = new Mpg123Mp3Decoder();
    let events = 0;
    dec.on('pcm', () => events++);
    dec.on('end', () => events++);
    dec.write(mp3.subarray(0, 4000));
    dec.destroy();
    dec.write(mp3.subarray(4000));
    dec.end();
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toBe(0);
  });
});
