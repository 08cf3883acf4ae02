import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LameMp3Decoder, looksLikeMp3 } from '../src/audio/mp3.js';
import { wavHeader } from '../src/audio/wav.js';

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

describe('LameMp3Decoder', () => {
  it('decodes a stream fed in small chunks to PCM at the file rate, starting before the end of input', async () => {
    const dec = new LameMp3Decoder();
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
    const dec = new LameMp3Decoder();
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
