/**
 * The `wav:` microphone streams its input: a real FIFO (mkfifo) fed by a paced writer in a
 * separate process is read as it arrives, writer after writer; a file that grows is followed;
 * what lies past a file's declared data size is never spoken.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { int16ToBytes, wavHeader } from '../../../src/audio/wav.js';
import { WavMic } from '../../../src/drivers/wav/mic.js';
import type { AudioFrame } from '../../../src/ports/audio-input.js';
import { waitFor } from '../../support/harness.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-wavstream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let mic: WavMic | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await mic?.stop();
  mic = undefined;
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

// A paced writer: a streaming WAV header (open size) for `rate`/`channels`, then `frames` writes
// of 20 ms each whose samples all hold `value`, one every 20 ms; it logs when each write was made.
const WRITER = `
const fs = require('fs');
const [fifo, rate, channels, frames, value, header] = process.argv.slice(1).map((v, i) => i === 0 ? v : Number(v));
const fd = fs.openSync(fifo, 'w');
const h = Buffer.alloc(44);
h.write('RIFF', 0); h.writeUInt32LE(0xffffffff, 4); h.write('WAVEfmt ', 8); h.writeUInt32LE(16, 16);
h.writeUInt16LE(1, 20); h.writeUInt16LE(channels, 22); h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * channels * 2, 28);
h.writeUInt16LE(channels * 2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(0xffffffff, 40);
if (header) fs.writeSync(fd, h); else fs.writeSync(fd, Buffer.from('not a wav header at all, just text'));
const frame = Buffer.alloc(rate / 50 * channels * 2);
for (let i = 0; i < frame.length; i += 2) frame.writeInt16LE(value, i);
const t0 = performance.now();
let i = 0;
const tick = () => {
  if (i === frames) { fs.closeSync(fd); return; }
  fs.writeSync(fd, frame);
  process.stdout.write(String(performance.timeOrigin + performance.now()) + '\\n');
  i++;
  setTimeout(tick, Math.max(0, t0 + i * 20 - performance.now()));
};
tick();
`;

function writer(fifo: string, o: { rate: number; channels: number; frames: number; value: number; header?: boolean }): { child: ChildProcess; writes: number[]; done: Promise<void> } {
  const child = spawn(process.execPath, ['-e', WRITER, fifo, String(o.rate), String(o.channels), String(o.frames), String(o.value), o.header === false ? '0' : '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const writes: number[] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) writes.push(Number(l));
  });
  return { child, writes, done: new Promise((r) => child.once('exit', () => r())) };
}

function record(m: WavMic): { at: number; frame: AudioFrame }[] {
  const frames: { at: number; frame: AudioFrame }[] = [];
  m.on('frame', (frame) => frames.push({ at: performance.timeOrigin + performance.now(), frame }));
  return frames;
}

const spoken = <T extends { frame: AudioFrame }>(frames: T[], value: number): T[] => frames.filter((f) => f.frame.pcm.some((s) => Math.abs(s - value) <= 2));

describe('wav: microphone on a FIFO', () => {
  it('reads a paced writer as it arrives (48 kHz stereo converted), with silence before and after, writer after writer', async () => {
    const fifo = path.join(dir, 'mic.fifo');
    execFileSync('mkfifo', [fifo]);
    mic = new WavMic({ path: fifo });
    const frames = record(mic);
    await mic.start();
    // No writer yet: silence in real time.
    await waitFor(() => frames.length >= 5, 'silence before the writer');
    expect(frames.every((f) => f.frame.pcm.every((s) => s === 0))).toBe(true);

    const first = writer(fifo, { rate: 48000, channels: 2, frames: 50, value: 1000 });
    await waitFor(() => spoken(frames, 1000).length >= 5, 'the first writer\'s audio', 10_000);
    // Read as it arrives: while the writer is still writing (1 s of audio), not after it closed.
    expect(first.child.exitCode).toBeNull();
    const atFirst = spoken(frames, 1000)[0]!.at;
    expect(atFirst - first.writes[0]!).toBeLessThan(200);
    await first.done;
    // After the writer closed: silence again, and a second writer is heard.
    const after = frames.length;
    await waitFor(() => frames.length >= after + 5, 'silence after the writer');
    const second = writer(fifo, { rate: 16000, channels: 1, frames: 10, value: -2000 });
    await waitFor(() => spoken(frames, -2000).length >= 9, 'the second writer\'s audio', 10_000);
    await second.done;

    const heard = spoken(frames, 1000);
    // 1 s of audio in 20 ms frames: 50 frames (the resampler's edges may add one).
    expect(heard.length).toBeGreaterThanOrEqual(49);
    expect(heard.length).toBeLessThanOrEqual(51);
    // Paced by the writer: the frames came over about a second, not in one burst.
    expect(heard[heard.length - 1]!.at - heard[0]!.at).toBeGreaterThan(700);
    expect(frames.every((f) => f.frame.pcm.length === 320)).toBe(true);
    frames.forEach((f, i) => expect(f.frame.sampleIndex).toBe(i * 320));
  });

  it('ends after the writer when padSilence is false', async () => {
    const fifo = path.join(dir, 'end.fifo');
    execFileSync('mkfifo', [fifo]);
    mic = new WavMic({ path: fifo, padSilence: false });
    const frames = record(mic);
    let ended = false;
    mic.on('end', () => (ended = true));
    await mic.start();
    const w = writer(fifo, { rate: 16000, channels: 1, frames: 10, value: 700 });
    await w.done;
    await waitFor(() => ended, 'end');
    expect(spoken(frames, 700)).toHaveLength(10);
  });

  it('a writer that sends no WAV is one recoverable error; the next writer recovers', async () => {
    const fifo = path.join(dir, 'bad.fifo');
    execFileSync('mkfifo', [fifo]);
    mic = new WavMic({ path: fifo });
    const frames = record(mic);
    const errors: { message: string; recoverable: boolean }[] = [];
    let recovered = 0;
    mic.on('error', (e) => errors.push(e));
    mic.on('recovered', () => recovered++);
    await mic.start();
    const bad = writer(fifo, { rate: 16000, channels: 1, frames: 5, value: 0, header: false });
    await waitFor(() => errors.length > 0, 'the error');
    await bad.done;
    expect(errors).toEqual([{ message: expect.stringMatching(/^microphone file .*bad\.fifo: not a WAV file/), recoverable: true }]);
    const good = writer(fifo, { rate: 16000, channels: 1, frames: 5, value: 321 });
    await waitFor(() => spoken(frames, 321).length === 5, 'the good writer', 10_000);
    await good.done;
    expect(recovered).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('a header with an impossible format (0 channels) is a recoverable error, not a crash', async () => {
    const fifo = path.join(dir, 'zero.fifo');
    execFileSync('mkfifo', [fifo]);
    mic = new WavMic({ path: fifo });
    const frames = record(mic);
    const errors: { message: string; recoverable: boolean }[] = [];
    mic.on('error', (e) => errors.push(e));
    await mic.start();
    const bad = writer(fifo, { rate: 16000, channels: 0, frames: 3, value: 0 });
    await waitFor(() => errors.length > 0, 'the error');
    await bad.done;
    expect(errors).toEqual([{ message: expect.stringMatching(/zero\.fifo: unsupported WAV format: 0 channels at 16000 Hz$/), recoverable: true }]);
    const good = writer(fifo, { rate: 16000, channels: 1, frames: 3, value: 555 });
    await waitFor(() => spoken(frames, 555).length === 3, 'the good writer', 10_000);
    await good.done;
  });

  it('stop() while waiting for a writer returns at once and ties up no thread', async () => {
    const fifo = path.join(dir, 'idle.fifo');
    execFileSync('mkfifo', [fifo]);
    const mics = Array.from({ length: 6 }, () => new WavMic({ path: fifo }));
    for (const m of mics) await m.start();
    // Six readers waiting, more than the thread pool's four threads: file I/O still runs.
    const { readFile } = await import('node:fs/promises');
    await expect(readFile(dir, 'utf8').catch((e: NodeJS.ErrnoException) => e.code)).resolves.toBe('EISDIR');
    const t = performance.now();
    for (const m of mics) await m.stop();
    expect(performance.now() - t).toBeLessThan(100);
  });
});

describe('wav: microphone on a regular file', () => {
  it('follows a file that is still growing (streaming header with an open size)', async () => {
    const f = path.join(dir, 'growing.wav');
    const header = wavHeader({ sampleRate: 16000, channels: 1 }, 0);
    header.writeUInt32LE(0xffffffff, 40);
    writeFileSync(f, Buffer.concat([header, int16ToBytes(new Int16Array(3200).fill(400))]));
    mic = new WavMic({ path: f, realtime: false });
    const frames = record(mic);
    await mic.start();
    await waitFor(() => spoken(frames, 400).length === 10, 'the first part');
    const before = frames.length;
    await waitFor(() => frames.length >= before + 3, 'silence while nothing more is written');
    appendFileSync(f, int16ToBytes(new Int16Array(1600).fill(-900)));
    await waitFor(() => spoken(frames, -900).length === 5, 'the appended part');
    frames.forEach((fr, i) => expect(fr.frame.sampleIndex).toBe(i * 320));
  });

  it('speaks only the declared data, not a chunk that follows it', async () => {
    const f = path.join(dir, 'trailer.wav');
    const pcm = int16ToBytes(new Int16Array(640).fill(123));
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.alloc(4), Buffer.alloc(2000, 0x55)]);
    list.writeUInt32LE(2000, 4);
    writeFileSync(f, Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, pcm.length), pcm, list]));
    mic = new WavMic({ path: f, realtime: false, padSilence: false });
    const frames = record(mic);
    let ended = false;
    mic.on('end', () => (ended = true));
    await mic.start();
    await waitFor(() => ended, 'end');
    expect(frames.map((fr) => fr.frame.pcm.every((s) => s === 123))).toEqual([true, true]);
  });

  it('a file whose header says 0 Hz is refused at start, naming the file', async () => {
    const f = path.join(dir, 'zero-rate.wav');
    writeFileSync(f, Buffer.concat([wavHeader({ sampleRate: 0, channels: 1 }, 640), Buffer.alloc(640)]));
    await expect(new WavMic({ path: f }).start()).rejects.toThrow(/^microphone file .*zero-rate\.wav: unsupported WAV format: 1 channels at 0 Hz$/);
  });

  it('a FIFO cannot be one of several files', async () => {
    const fifo = path.join(dir, 'list.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(new WavMic({ path: fifo, paths: [fifo, path.join(dir, 'growing.wav')] }).start()).rejects.toThrow(/is a FIFO: a FIFO cannot be part of a list/);
  });
});
