/** The capture tool's PCM pipe: a real FIFO, a real child process writing into it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPcmPipe } from '../../../src/drivers/alsa/pcm-pipe.js';

const openFds = () => readdirSync('/proc/self/fd').length;

describe('openPcmPipe', () => {
  it('hands every byte the child writes to the callback, in order, then ends when the child exits', async () => {
    const chunks: Buffer[] = [];
    const views = new Set<ArrayBuffer>();
    const pipe = openPcmPipe((b) => {
      views.add(b.buffer as ArrayBuffer);
      chunks.push(Buffer.from(b));
    });
    const ended = new Promise<void>((r) => pipe.socket.once('end', () => r()));
    // 3 x 640 bytes with pauses (one read each), then 70,000 bytes at once (more than the buffer).
    const child = spawn('sh', ['-c', 'for i in 1 2 3; do printf "%0640d" $i; sleep 0.05; done; head -c 70000 /dev/zero | tr "\\0" "z"'], {
      stdio: ['ignore', pipe.writeFd, 'inherit'],
    });
    pipe.handedOver();
    await ended;
    await new Promise((r) => child.once('exit', r));
    const all = Buffer.concat(chunks).toString('latin1');
    expect(all.length).toBe(3 * 640 + 70000);
    expect(all.slice(0, 640)).toBe('1'.padStart(640, '0'));
    expect(all.slice(1280, 1920)).toBe('3'.padStart(640, '0'));
    expect(all.slice(1920)).toBe('z'.repeat(70000));
    // One buffer for every read.
    expect(views.size).toBe(1);
    pipe.close();
  });

  it('leaves no FIFO on disk and no open file behind', async () => {
    // A temporary directory of this test's own (others may make FIFOs in the shared one).
    const own = mkdtempSync(join(tmpdir(), 'pcm-pipe-test-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = own;
    try {
      const before = openFds();
      for (let i = 0; i < 5; i++) {
        const pipe = openPcmPipe(() => undefined);
        expect(readdirSync(own)).toEqual([]);
        pipe.close();
        await new Promise<void>((r) => pipe.socket.once('close', () => r()));
      }
      expect(openFds()).toBe(before);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(own, { recursive: true, force: true });
    }
  });
});
