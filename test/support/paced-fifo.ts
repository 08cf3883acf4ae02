/**
 * Test helper: a capture "device" that runs in real time. ALSA's file plugin over the null PCM
 * has no clock (a capture returns as fast as the CPU allows), so its `infile` is a FIFO fed by
 * a separate writer process, one block every `chunkMs`, like a sound card delivering periods.
 * The writer opens the FIFO read-write, so opening it from ALSA never blocks and readers never
 * see end-of-file. Queued audio is written first, then silence (or nothing while paused: a
 * device that stalls).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const WRITER = String.raw`
'use strict';
const fs = require('node:fs');
const [fifo, chunkBytes, chunkMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let silence = process.argv[4] === 'silence';
const fd = fs.openSync(fifo, 'r+');
const queue = [];
let paused = false;
const zero = Buffer.alloc(chunkBytes);
process.on('message', (m) => {
  if (m.type === 'play') queue.push(Buffer.from(m.data, 'base64'));
  else if (m.type === 'pause') paused = true;
  else if (m.type === 'resume') paused = false;
  else if (m.type === 'silence') silence = m.on;
});
process.on('disconnect', () => process.exit(0));
let pending = Buffer.alloc(0);
const t0 = performance.now();
let sent = 0;
function tick() {
  const due = Math.floor((performance.now() - t0) / chunkMs);
  for (; sent < due; sent++) {
    if (paused) continue;
    if (pending.length === 0 && queue.length) pending = queue.shift();
    let chunk;
    if (pending.length) {
      chunk = pending.subarray(0, chunkBytes);
      pending = pending.subarray(chunk.length);
      if (chunk.length < chunkBytes) chunk = Buffer.concat([chunk, zero.subarray(chunk.length)]);
    } else if (silence) chunk = zero;
    else continue;
    fs.writeSync(fd, chunk);
  }
  setTimeout(tick, Math.max(1, chunkMs / 2));
}
process.send({ type: 'ready' });
tick();
`;

export interface PacedFifo {
  readonly path: string;
  /** Queues PCM to be written in real time, after what is queued already. */
  play(pcm: Buffer): void;
  /** Stops writing (the device stalls) / starts again. */
  pause(): void;
  resume(): void;
  /** Whether silence fills the time when nothing is queued. */
  silence(on: boolean): void;
  close(): Promise<void>;
}

/**
 * Makes a FIFO at `path` and starts its writer: `chunkBytes` every `chunkMs`, silence when
 * nothing is queued if `silence` (default false: a device that delivers nothing blocks its
 * reader). Give the reader's read size (one period) as `chunkBytes` when the test compares
 * samples: the file plugin reads the infile once per period and a short read would leave
 * silence in it.
 */
export async function pacedFifo(path: string, chunkBytes: number, options: { chunkMs?: number; silence?: boolean } = {}): Promise<PacedFifo> {
  rmSync(path, { force: true });
  execFileSync('mkfifo', [path]);
  const args = [path, String(chunkBytes), String(options.chunkMs ?? 20), options.silence ? 'silence' : 'none'];
  const child: ChildProcess = spawn(process.execPath, ['-e', WRITER, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the paced FIFO writer did not start within 10 s')), 10_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`the paced FIFO writer exited (code ${code})`)));
  });
  const send = (m: object) => {
    if (child.connected) child.send(m);
  };
  return {
    path,
    play: (pcm) => send({ type: 'play', data: pcm.toString('base64') }),
    pause: () => send({ type: 'pause' }),
    resume: () => send({ type: 'resume' }),
    silence: (on) => send({ type: 'silence', on }),
    close: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      rmSync(path, { force: true });
    },
  };
}
